"""UK councils by code, from mySociety's table of local authority names and codes (CC BY 4.0,
shipped with its attribution in data/README.md).

An organisation code may be a current GSS code (E07000223), a former GSS code of the same
authority, or the three-letter local-authority code (ADU); all map to one `Council` whose
`code` is the canonical one (the current GSS code, else the three-letter code).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources
from io import StringIO


@dataclass(frozen=True, slots=True, kw_only=True)
class Council:
    code: str
    name: str
    type: str  # e.g. "Non-metropolitan district", "Unitary authority", "London borough"
    nation: str
    region: str | None
    current: bool  # False for an authority that has been abolished


@dataclass(frozen=True, slots=True)
class Councils:
    by_code: dict[str, Council]

    def lookup(self, code: str | None) -> Council | None:
        return self.by_code.get(code.strip().upper()) if code else None

    def canonical(self, code: str) -> str:
        """The canonical code of a known council; an unlisted code unchanged."""
        council = self.lookup(code)
        return council.code if council else code.strip().upper()

    def __len__(self) -> int:
        return len({c.code for c in self.by_code.values()})


def parse(text: str) -> Councils:
    """Own codes win over former codes, should a former code ever name another row."""
    by_code: dict[str, Council] = {}
    former: dict[str, Council] = {}
    for row in csv.DictReader(StringIO(text)):
        council = Council(
            code=row["gss-code"] or row["local-authority-code"],
            name=row["official-name"],
            type=row["local-authority-type-name"],
            nation=row["nation"],
            region=row["region"] or None,
            current=not row["end-date"],
        )
        for code in (row["local-authority-code"], row["gss-code"]):
            if code:
                by_code[code.upper()] = council
        for code in row["former-gss-codes"].split(","):
            if code.strip():
                former[code.strip().upper()] = council
    return Councils(former | by_code)


@cache
def load() -> Councils:
    data = resources.files(__package__).joinpath("data/uk_local_authorities.csv")
    return parse(data.read_text(encoding="utf-8"))
