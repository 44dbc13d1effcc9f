"""The simulated Internet: names, addresses and the people in it. Documentation addresses
only (198.51.100.0/24 for hosts, 203.0.113.0/24 for links and the dead host); council LANs
are 10.<n>.0.0/24 and exist only inside their own namespaces."""

from __future__ import annotations

# Sites that answer, with the address the Internet's authoritative DNS gives them.
SITES: dict[str, str] = {
    "www.gov.uk": "198.51.100.10",
    "www.facebook.com": "198.51.100.11",
    "www.youtube.com": "198.51.100.12",
    "x.com": "198.51.100.13",
    "khub.net": "198.51.100.14",
    "www.instagram.com": "198.51.100.15",
    "www.tiktok.com": "198.51.100.16",
    "www.linkedin.com": "198.51.100.17",
}
TITLES: dict[str, str] = {
    "www.gov.uk": "Welcome to GOV.UK",
    "www.facebook.com": "Facebook - log in or sign up",
    "www.youtube.com": "YouTube",
    "x.com": "X. It's what's happening",
    "khub.net": "Knowledge Hub",
    "www.instagram.com": "Instagram",
    "www.tiktok.com": "TikTok - Make Your Day",
    "www.linkedin.com": "LinkedIn: Log In or Sign Up",
}
# khub-like: the front page sends you to sign in, which is reachable, not blocked.
REDIRECTS: dict[str, str] = {"khub.net": "https://khub.net/signin"}
SIGNIN_TITLE = "Sign in | Knowledge Hub"

# A host that exists in DNS but whose web server is down: refused from everywhere.
DOWN_NAME = "forum.closed-council-site.org.uk"
DOWN_ADDR = "203.0.113.99"
# A name that exists nowhere: the authoritative server says NXDOMAIN.
NONEXISTENT_NAME = "www.no-such-council-site.org.uk"

AUTH_DNS = "198.51.100.53"
COLLECTOR = "198.51.100.200"
COLLECTOR_PORT = 8080
COLLECTOR_URL = f"http://{COLLECTOR}:{COLLECTOR_PORT}"
ORG = "E07000223"

PUBLIC_CA_CN = "Lab Public Root CA"
COUNCIL_CA_CN = "Westshire Council TLS Inspection CA"

# The person at the client machine: a filter's block page prints these; results must not.
USER_NAME = "jbloggs.westshire"


def url(host: str, scheme: str = "https") -> str:
    return f"{scheme}://{host}/"
