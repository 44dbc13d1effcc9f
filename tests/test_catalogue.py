"""The catalogue: the packaged targets.yaml, the file forms, located errors, ad-hoc URLs."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import access_probe
from access_probe.catalogue import (
    Catalogue,
    Category,
    Role,
    http_url_problem,
    load_catalogue,
    packaged_catalogue,
    parse_catalogue,
)
from access_probe.errors import CatalogueError

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "targets"

REQUIRED_SERVICES = {
    "facebook", "twitter", "youtube", "instagram", "linkedin", "tiktok", "whatsapp-web",
    "threads", "bluesky", "mastodon", "nextdoor", "flickr", "foursquare", "vimeo", "reddit",
    "pinterest", "medium", "wordpress-com", "blogger", "eventbrite", "knowledge-hub",
    "govuk-blogs", "lga", "govuk", "msftconnecttest", "firefox-detectportal",
}
BASELINES = {
    "https://www.gov.uk/",
    "http://www.msftconnecttest.com/connecttest.txt",
    "http://detectportal.firefox.com/success.txt",
}

# fixture -> (line, key, a fragment of the problem). Every invalid-*.yaml must appear here.
INVALID = {
    "invalid-unknown-top-key.yaml": (2, "service", "unknown key (expected one of: version"),
    "invalid-unknown-service-key.yaml": (5, "services[0].categroy", "unknown key"),
    "invalid-unknown-endpoint-key.yaml": (8, "services[0].endpoints[0].rol", "unknown key"),
    "invalid-duplicate-endpoint-id.yaml":
        (13, "services[1].endpoints[1].id", "duplicate endpoint id 'shared' (first at line 7)"),
    "invalid-endpoint-id-collides-with-service.yaml":
        (11, "services[1].endpoints[1].id", "duplicate endpoint id 'hub' (first at line 6)"),
    "invalid-duplicate-service-id.yaml":
        (6, "services[1].id", "duplicate service id 'hub' (first at line 3)"),
    "invalid-duplicate-url.yaml":
        (10, "services[1].endpoints[1]", "duplicate url (first at line 5)"),
    "invalid-url-scheme.yaml":
        (7, "services[0].endpoints[1].url", "'ftp://files.hub.example/': must be an http:// or"),
    "invalid-url-no-host.yaml": (6, "services[0].endpoints[0]", "has no host"),
    "invalid-category.yaml": (5, "services[0].category", "'gaming' is not a category"),
    "invalid-role.yaml": (7, "services[0].endpoints[0].role", "'mirror' is not a role"),
    "invalid-login-redirect-ok.yaml":
        (7, "services[0].endpoints[0].login_redirect_ok", "expected true or false"),
    "invalid-service-id.yaml": (3, "services[0].id", "'Hub Site' is not a valid id"),
    "invalid-missing-id.yaml": (3, "services[0]", "missing required key 'id'"),
    "invalid-missing-url.yaml": (6, "services[0].endpoints[0]", "missing required key 'url'"),
    "invalid-empty-endpoints.yaml": (5, "services[0].endpoints", "must not be empty"),
    "invalid-domain.yaml": (5, "services[0].domains[1]", "'not a host' is not a host name"),
    "invalid-version.yaml": (2, "version", "unsupported version 2"),
    "invalid-both-forms.yaml": (6, "targets", "either 'services:' or 'targets:'"),
    "invalid-list-item-not-url.yaml": (2, "[1]", "'hub.example': must be an http:// or https://"),
    "invalid-targets-item-not-string.yaml": (3, "targets[1]", "expected a URL string"),
    "invalid-duplicate-key.yaml": (5, "services[0].id", "duplicate key (first at line 3)"),
    "invalid-syntax.yaml": (5, None, "invalid YAML"),
}


# --- the packaged catalogue -----------------------------------------------------------------

def test_packaged_is_the_root_file() -> None:
    packaged = Path(access_probe.__file__).parent / "targets.yaml"
    root = ROOT / "targets.yaml"
    assert packaged.is_symlink() and os.readlink(packaged) == "../targets.yaml"
    assert packaged.read_bytes() == root.read_bytes()
    assert load_catalogue(root).services == load_catalogue(None).services


def test_packaged_has_every_required_service() -> None:
    catalogue = load_catalogue(None)
    assert catalogue.source == "<packaged>"
    assert REQUIRED_SERVICES <= {s.id for s in catalogue.services}
    assert all(s.category != Category.OTHER for s in catalogue.services)
    assert load_catalogue(None) is packaged_catalogue()  # loaded once


def test_packaged_baselines() -> None:
    catalogue = load_catalogue(None)
    baselines = {e.url for _, e in catalogue.endpoints() if e.role is Role.BASELINE}
    assert baselines == BASELINES
    for service, endpoint in catalogue.endpoints():
        if endpoint.role is Role.BASELINE:
            assert service.category == Category.BASELINE


def test_packaged_knowledge_hub() -> None:
    khub = load_catalogue(None).service("knowledge-hub")
    assert khub is not None and khub.category == Category.COLLABORATION
    urls = [e.url for e in khub.endpoints]
    assert urls[0] == "https://khub.net/"
    assert any(u.startswith("https://khub.net/group/") for u in urls)
    assert any(u.startswith("https://khub.net/web/") and "/blog/-/blogs/" in u for u in urls)
    assert any(u.startswith("https://khub.net/documents/") for u in urls)
    assert all(e.login_redirect_ok for e in khub.endpoints)


def test_packaged_endpoints_are_consistent() -> None:
    catalogue = load_catalogue(None)
    ids = [e.id for _, e in catalogue.endpoints()]
    assert len(ids) == len(set(ids))
    for service, endpoint in catalogue.endpoints():
        assert http_url_problem(endpoint.url) is None
        # Every endpoint's host leads back to its own service: no two services claim a host.
        host = urlsplit(endpoint.url).hostname or ""
        assert catalogue.service_for_host(host) is service, endpoint.url
    for service in catalogue.services:
        assert service.endpoints[0].id == service.id
        assert service.endpoints[0].role in (Role.SITE, Role.BASELINE)
        assert service.name and len(service.notes) <= 120


@pytest.mark.parametrize(("host", "service"), [
    ("www.facebook.com", "facebook"),
    ("m.facebook.com", "facebook"),
    ("scontent.xx.fbcdn.net", "facebook"),
    ("FACEBOOK.COM.", "facebook"),
    ("abs.twimg.com", "twitter"),
    ("gds.blog.gov.uk", "govuk-blogs"),
    ("www.gov.uk", "govuk"),
    ("www.birmingham.gov.uk", None),  # a council's own site is not GOV.UK
    ("notfacebook.com", None),
    ("example.org", None),
])
def test_service_for_host(host: str, service: str | None) -> None:
    found = load_catalogue(None).service_for_host(host)
    assert (found.id if found else None) == service


# --- file forms -----------------------------------------------------------------------------

def test_url_list_form() -> None:
    catalogue = load_catalogue(FIXTURES / "valid-urls-list.yaml")
    assert catalogue.source == str(FIXTURES / "valid-urls-list.yaml")
    pairs = [(s.id, e.id, e.url) for s, e in catalogue.endpoints()]
    assert pairs == [
        ("facebook", "www.facebook.com", "https://www.facebook.com/"),
        ("knowledge-hub", "khub.net", "https://khub.net/"),
        ("intranet.example", "intranet.example", "http://intranet.example/status"),
    ]
    unknown = catalogue.services[2]
    assert (unknown.name, unknown.category) == ("intranet.example", Category.OTHER)


def test_targets_key_form() -> None:
    catalogue = load_catalogue(FIXTURES / "valid-targets-key.yaml")
    youtube = catalogue.service("youtube")
    assert youtube is not None and youtube.category == Category.VIDEO
    assert [e.id for e in youtube.endpoints] == ["www.youtube.com", "www.youtube.com/favicon.ico"]
    assert catalogue.service("service.example") is not None


def test_services_with_plain_url_endpoints() -> None:
    catalogue = load_catalogue(FIXTURES / "valid-services-plain-endpoints.yaml")
    intranet, partner = catalogue.services
    assert [e.id for e in intranet.endpoints] == [
        "intranet", "intranet/static.intranet.example", "intranet/intranet.example/robots.txt"]
    assert all(e.role is Role.SITE for e in intranet.endpoints)
    assert (partner.name, partner.category) == ("partner", Category.OTHER)
    assert partner.endpoints[0].id == "partner"


def test_full_form() -> None:
    catalogue = load_catalogue(FIXTURES / "valid-full.yaml")
    hub, base = catalogue.services
    assert hub.domains == ("hub.example", "hubcdn.example")
    assert hub.endpoints[0].login_redirect_ok is False
    assert (hub.endpoints[1].id, hub.endpoints[1].role) == ("hub/static", Role.CDN)
    assert base.endpoints[0].role is Role.BASELINE  # the default in a baseline service
    assert catalogue.service_for_host("img.hubcdn.example") is hub


def test_derived_ids_disambiguate_a_repeated_host() -> None:
    catalogue = parse_catalogue(
        "services:\n  - id: s\n    endpoints:\n"
        "      - https://a.example/\n      - https://b.example/x\n      - https://b.example/y/\n")
    assert [e.id for e in catalogue.services[0].endpoints] == ["s", "s/b.example",
                                                                 "s/b.example/y"]


@pytest.mark.parametrize("text", ["", "# empty\n", "version: 1\n"])
def test_a_file_without_targets_is_an_error(text: str) -> None:
    with pytest.raises(CatalogueError, match="either 'services:' or 'targets:'"):
        parse_catalogue(text, file="empty.yaml")


# --- errors ---------------------------------------------------------------------------------

def test_every_invalid_fixture_has_a_case() -> None:
    assert {p.name for p in FIXTURES.glob("invalid-*.yaml")} == set(INVALID)


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_fixture_names_file_line_and_key(name: str) -> None:
    line, key, fragment = INVALID[name]
    path = FIXTURES / name
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(path)
    err = caught.value
    assert (err.file, err.line, err.key) == (str(path), line, key)
    assert fragment in err.problem
    assert str(err) == (f"{path}:{line}: {key}: " if key else f"{path}:{line}: ") + err.problem


def test_missing_file() -> None:
    with pytest.raises(CatalogueError, match="absent.yaml: cannot read"):
        load_catalogue(FIXTURES / "absent.yaml")


# --- ad-hoc URLs ----------------------------------------------------------------------------

def test_from_urls_infers_services_and_keeps_catalogue_flags() -> None:
    catalogue = Catalogue.from_urls([
        "https://www.facebook.com/", "https://khub.net/", "https://example.org/a",
        "https://example.org/b", "https://www.facebook.com/", "http://www.gov.uk/",
    ])
    assert catalogue.source == "<command line>"
    assert [(s.id, [e.id for e in s.endpoints]) for s in catalogue.services] == [
        ("facebook", ["www.facebook.com"]),
        ("knowledge-hub", ["khub.net"]),
        ("example.org", ["example.org", "example.org/b"]),
        ("govuk", ["www.gov.uk"]),
    ]
    assert catalogue.services[3].endpoints[0].role is Role.SITE  # not the catalogue's URL
    govuk = Catalogue.from_urls(["https://www.gov.uk/"]).services[0]
    assert govuk.endpoints[0].role is Role.BASELINE  # the catalogue's own endpoint


def test_from_urls_with_another_known_catalogue() -> None:
    known = load_catalogue(FIXTURES / "valid-full.yaml")
    catalogue = Catalogue.from_urls(["https://hub.example/page"], known=known)
    assert catalogue.services[0].id == "hub"
    assert catalogue.services[0].endpoints[0].id == "hub.example"


@pytest.mark.parametrize(("url", "fragment"), [
    ("ftp://example.org/", "must be an http:// or https:// URL"),
    ("https://", "has no host"),
    ("https://example.org:99999/", "not a valid URL"),
    ("https://exa mple.org/", "spaces"),
    ("https://example.org/" + "a" * 2100, "longer than 2048"),
])
def test_from_urls_rejects_bad_urls(url: str, fragment: str) -> None:
    with pytest.raises(CatalogueError) as caught:
        Catalogue.from_urls(["https://example.org/", url])
    assert caught.value.key == "urls[1]" and caught.value.file == "<command line>"
    assert fragment in caught.value.problem
