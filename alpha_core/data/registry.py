"""The field registry: ``brain_fields.csv`` plus what the local panel provides (FASTEXPR.md §5, SIMULATION.md §2).

Lint resolves identifiers against it (kind MATRIX / GROUP / VECTOR / SYMBOL, local availability); the
``field_registry`` asset stores it.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Iterable

KINDS = ("MATRIX", "GROUP", "VECTOR", "SYMBOL")


@dataclass(frozen=True)
class FieldInfo:
    """One data field.

    ``kind`` is MATRIX, GROUP, VECTOR or SYMBOL; ``coverage`` a fraction (None when unknown);
    ``local_source`` the recipe from ``brain_fields.csv`` ('' = not available locally); ``local`` is
    True when the local panel can provide the field.
    """

    id: str
    dataset: str
    category: str
    kind: str
    description: str
    region: str
    delay: int
    coverage: float | None
    user_count: int | None
    alpha_count: int | None
    local_source: str
    local: bool


@dataclass(frozen=True)
class FieldRegistry:
    """Fields by lower-case id."""

    fields: dict[str, FieldInfo]

    def get(self, field_id: str) -> FieldInfo | None:
        """The field ``field_id`` (case-insensitive), or None."""
        return self.fields.get(field_id.lower())

    def __contains__(self, field_id: str) -> bool:
        return field_id.lower() in self.fields

    def __iter__(self):
        return iter(self.fields.values())

    def __len__(self) -> int:
        return len(self.fields)

    def local_ids(self) -> list[str]:
        """Ids of the fields the local panel provides, sorted."""
        return sorted(f.id for f in self.fields.values() if f.local)

    def with_local(self, local_fields: Iterable[str]) -> "FieldRegistry":
        """A copy whose ``local`` flags say exactly which ids ``local_fields`` provides.

        Fields the panel has but the CSV lacks are added as MATRIX fields of dataset ``local``.
        """
        have = {f.lower() for f in local_fields}
        out = {k: _replace_local(v, k in have) for k, v in self.fields.items()}
        for extra in sorted(have - set(out)):
            out[extra] = FieldInfo(extra, "local", "local", "MATRIX", "local panel field", "USA", 1,
                                   None, None, None, "local", True)
        return FieldRegistry(out)


def _replace_local(info: FieldInfo, local: bool) -> FieldInfo:
    return FieldInfo(**{**info.__dict__, "local": local})


def _num(text: str, cast):
    text = text.strip()
    return cast(float(text)) if text else None


def parse_registry(text: str) -> FieldRegistry:
    """Parse ``brain_fields.csv`` text. Raises ValueError naming the row when a column is malformed."""
    fields: dict[str, FieldInfo] = {}
    for lineno, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        try:
            kind = row["type"].strip().upper()
            if kind not in KINDS:
                raise ValueError(f"type {row['type']!r} is not one of {KINDS}")
            source = (row.get("local_source") or "").strip()
            info = FieldInfo(
                id=row["id"].strip().lower(), dataset=row["dataset"], category=row["category"], kind=kind,
                description=row["description"], region=row["region"], delay=int(row["delay"] or 1),
                coverage=_num(row["coverage"], float), user_count=_num(row["user_count"], int),
                alpha_count=_num(row["alpha_count"], int), local_source=source,
                local=bool(source) and kind != "SYMBOL",
            )
        except (KeyError, ValueError) as exc:
            raise ValueError(f"brain_fields.csv line {lineno}: {exc}") from None
        fields[info.id] = info
    return FieldRegistry(fields)


@lru_cache(maxsize=1)
def default_registry() -> FieldRegistry:
    """The embedded registry (``alpha_core/data/brain_fields.csv``); ``local`` = has a local recipe."""
    text = resources.files("alpha_core.data").joinpath("brain_fields.csv").read_text(encoding="utf-8")
    return parse_registry(text)
