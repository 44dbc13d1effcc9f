#!/usr/bin/env python3
"""Convert the public fingerprint corpora into access_probe/data/blockpages_imported.yaml.

Sources (see /work/shared/data/fingerprints/README.md and access_probe/data/LICENSES/NOTICE):
  Citizen Lab filtering-annotations, data/v1 http.csv and dns.csv   (BSD-3-Clause)
  Censored Planet censoredplanet-analysis blockpage_signatures.json
      and false_positive_signatures.json                          (Apache-2.0)

What is imported, and why only that:
  - Citizen Lab http.csv: filtering products (scope prod), UK ISPs and institutions
    (expected country GB) and the vague block words (scope vbw, low confidence). Other
    countries' ISP pages cannot appear on a UK council network.
  - Censored Planet: product signatures (a_prod_*, and rows built on one) as block pages;
    false-positive signatures as benign, except the few listed in CP_FP_SKIP.
  - Citizen Lab dns.csv: product sinkhole answers and the generic bogus answers, into
    blockpages_dns.yaml.
Each entry keeps its upstream row name in `ref` and its corpus in `source`.

Usage: python scripts/import_fingerprints.py [--src DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SRC = Path("/work/shared/data/fingerprints")
DEFAULT_OUT = ROOT / "access_probe" / "data"

CL_VENDOR = {
    "asus": "asus", "bluecoat": "bluecoat", "checkpoint": "checkpoint",
    "cisco_opendns": "cisco-umbrella", "opendns": "cisco-umbrella",
    "ciscomeraki": "cisco-meraki", "comodo": "comodo", "contentkeeper": "contentkeeper",
    "forcepoint": "forcepoint", "fortiguard": "fortinet", "gfi": "kerio", "iboss": "iboss",
    "iserv": "iserv", "juniper": "juniper", "lightspeed": "lightspeed", "nawala": "nawala",
    "netspark": "netspark", "netsweeper": "netsweeper", "olfeo": "olfeo",
    "paloaltonetworks": "palo-alto", "rmedufilter": "rm-education", "sonicwall": "sonicwall",
    "squidguard": "squidguard", "squid": "squid", "untangle": "untangle",
    "vasexperts": "vasexperts", "wirefilter": "wirefilter", "zscaler": "zscaler",
    "cleanbrowsing": "cleanbrowsing", "cloudveil": "cloudveil", "dnswatch": "dnswatch",
    "flashstart": "flashstart", "fortidns": "fortinet", "id_nawala": "nawala",
    "ru_netpolice": "netpolice", "safedns": "safedns", "securely": "securely",
    "skydns": "skydns", "smartdns": "smartdns", "yandex": "yandex",
}
GB_ISP_VENDOR = {
    "bt": "bt", "ee": "ee", "giffgaff": "giffgaff", "o2": "o2", "pobroadband": "post-office",
    "skybroadband": "sky", "talktalk": "talktalk", "three": "three", "vodafone": "vodafone",
}
CP_VENDOR = {
    "paloalto": "palo-alto", "mcafee": "mcafee", "opendns": "cisco-umbrella",
    "kerio": "kerio", "drweb": "drweb", "spirdergate": "drweb", "akamai": "akamai-etp",
    "trend": "trend-micro", "ibm": "ibm-qradar", "ddos": "ddos-guard", "pihole": "pi-hole",
    "cisco": "cisco", "huawei": "huawei", "webknight": "webknight", "blue": "blue-shield",
    "sucurifw": "sucuri", "cacheflow": "bluecoat",
}
# Censored Planet "products" that are the site's own protection, not a network filter.
CP_BENIGN = {
    "a_prod_sucurifw_1": "Sucuri is the site's own WAF",
    "a_prod_sucurifw_2": "Sucuri is the site's own WAF",
    "a_prod_ddos_guard": "DDoS-Guard is the site's own CDN",
    "a_prod_pantheon": "Pantheon locks a site at the host",
    "a_prod_webknight_firewall": "WebKnight is the site's own IIS WAF",
}
CP_SKIP = {
    "a_prod_squid_1": "an ERR_READ_ERROR page; squid-network-error-* decides",
}
# Censored Planet false positives that are, on a council network, a filter's own page.
CP_FP_SKIP = {
    "x_user_check": "Check Point UserCheck is a filter page here (cl-prod-checkpoint-*)",
}
# Citizen Lab rows whose meaning for us differs from theirs.
CL_OVERRIDE: dict[str, dict[str, Any]] = {
    "prod_squid_error_page": {
        "confidence": "low",
        "note": "Stylesheet of every Squid error page, blocks and network errors alike; "
                "squid-* fingerprints decide which.",
    },
    "prod_lightspeed_filter_forward": {"confidence": "low"},
}
CL_SKIP = {
    "prod_vasexperts_blockpage_1": "repeats prod_rmedufilter_blockpage's pattern, other vendor",
}
CP_MIN_PATTERN = 8
HEADER_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*): (.+)$")


def confidence_from(score: str) -> str:
    value = int(score) if score.strip().isdigit() else 5
    return "high" if value >= 9 else "medium" if value >= 7 else "low"


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def cl_vendor(name: str) -> str | None:
    parts = name.split("_")
    if parts[0] == "isp" and parts[1] == "gb":
        return GB_ISP_VENDOR.get(parts[2])
    if parts[0] in ("prod", "dns") and parts[1] in ("prod",):
        parts = parts[1:]
    rest = "_".join(parts[1:])
    for key in sorted(CL_VENDOR, key=len, reverse=True):
        if rest.startswith(key):
            return CL_VENDOR[key]
    return None


def wanted_cl_row(row: dict[str, str]) -> bool:
    if row["name"] in CL_SKIP:
        return False
    countries = row.get("expected_countries") or ""
    return row["scope"] in ("prod", "vbw") or "GB" in countries


def cl_http_entry(row: dict[str, str]) -> dict[str, Any]:
    name = row["name"]
    kind = "benign" if row["scope"] == "injb" else "block"
    entry: dict[str, Any] = {
        "id": "cl-" + slug(name),
        "vendor": None if row["scope"] == "vbw" else cl_vendor(name),
        "kind": kind,
        "where": "body" if row["location_found"] == "body" else "headers",
        "pattern": row["pattern"],
        "ignore_case": row["location_found"] != "body",
        "confidence": "low" if row["scope"] == "vbw" else confidence_from(row["confidence_no_fp"]),
        "source": "citizenlab",
        "ref": f"filtering-annotations data/v1 http.csv {name}",
        "note": (row.get("common_name") or "").strip(),
    }
    entry.update(CL_OVERRIDE.get(name, {}))
    return entry


def read_cl_http(path: Path) -> list[dict[str, Any]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [cl_http_entry(row) for row in rows if wanted_cl_row(row)]


def cp_vendor(name: str) -> str | None:
    match = re.search(r"a_prod_([a-z]+)", name)
    if match is None:
        return None
    word = match.group(1)
    return CP_VENDOR.get(word, word)


def cp_where(pattern: str) -> tuple[str, str]:
    """Censored Planet matched header lines inside the page text; we match the header."""
    found = HEADER_LINE.match(pattern)
    if found is None:
        return "body", pattern
    return f"header:{found.group(1).lower()}", found.group(2)


def cp_entry(name: str, pattern: str, *, benign: bool, note: str) -> dict[str, Any]:
    where, value = cp_where(pattern)
    return {
        "id": "cp-" + slug(name), "vendor": None if benign and not note else cp_vendor(name),
        "kind": "benign" if benign else "block", "where": where, "pattern": value,
        "regex": True, "confidence": "low" if benign else "medium",
        "source": "censoredplanet",
        "ref": f"censoredplanet-analysis {'false_positive' if benign else 'blockpage'}"
               f"_signatures.json {name}",
        "note": note or ("false-positive signature" if benign else "product signature"),
    }


def read_jsonl(path: Path) -> list[dict[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def read_cp(src: Path) -> list[dict[str, Any]]:
    entries = []
    for row in read_jsonl(src / "blockpage_signatures.json"):
        name = row["fingerprint"]
        if "a_prod_" not in name or name in CP_SKIP:
            continue
        reason = CP_BENIGN.get(name)
        entry = cp_entry(name, row["pattern"], benign=reason is not None, note=reason or "")
        if reason is not None:
            entry["confidence"] = "medium"
        entries.append(entry)
    for row in read_jsonl(src / "false_positive_signatures.json"):
        name, pattern = row["fingerprint"], row["pattern"]
        if name in CP_FP_SKIP or len(pattern) < CP_MIN_PATTERN:
            continue
        entries.append(cp_entry(name, pattern, benign=True, note=""))
    return entries


def read_cl_dns(path: Path) -> list[dict[str, Any]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    entries = []
    for row in rows:
        name = row["name"]
        generic = name.startswith("dns_br_")
        if not (generic or row["scope"] == "prod" or "GB" in (row["expected_countries"] or "")):
            continue
        entries.append({
            "id": "cl-" + slug(name), "vendor": None if generic else cl_vendor(name),
            "kind": "block", "answer": row["response"].strip(),
            "confidence": confidence_from(row["confidence_no_fp"]),
            "source": "citizenlab", "ref": f"filtering-annotations data/v1 dns.csv {name}",
            "note": (row.get("notes") or "").strip()[:200],
        })
    return entries


def dedupe(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, int] = {}
    for entry in entries:
        base = entry["id"]
        seen[base] = seen.get(base, 0) + 1
        if seen[base] > 1:
            entry["id"] = f"{base}-{seen[base]}"
    return entries


def dump(path: Path, header: str, key: str, entries: list[dict[str, Any]]) -> None:
    body = yaml.safe_dump({"version": 1, key: entries}, sort_keys=False, allow_unicode=True,
                          width=4096)
    path.write_text(header + body, encoding="utf-8")


HEADER = """\
# GENERATED by scripts/import_fingerprints.py: do not edit; change the script and re-run.
# Citizen Lab filtering-annotations (BSD-3-Clause) and Censored Planet censoredplanet-analysis
# (Apache-2.0); licences and attribution in access_probe/data/LICENSES/.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=DEFAULT_SRC)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    cl, cp = args.src / "citizenlab-filtering-annotations", args.src / "censoredplanet"
    http = dedupe(read_cl_http(cl / "http.csv") + read_cp(cp))
    dns = dedupe(read_cl_dns(cl / "dns.csv"))
    dump(args.out / "blockpages_imported.yaml", HEADER, "fingerprints", http)
    dump(args.out / "blockpages_dns.yaml", HEADER, "answers", dns)
    sys.stderr.write(f"{len(http)} page fingerprints, {len(dns)} DNS answers\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

