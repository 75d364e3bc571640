"""Lookups in the knowledge tables (ssdwizard/data/*.toml), matched the way their sources match.

The kernel's libata quirk list is matched with shell globs, first entry wins (its
ata_dev_quirks()); smartmontools' drive database with whole-string regular expressions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache

from ssdwizard.data import load_table


@dataclass(frozen=True)
class QuirkEntry:
    model: str
    firmware: str
    quirks: tuple[str, ...]
    meaning: str
    source: str


@dataclass(frozen=True)
class FirmwareWarning:
    warning: str
    advice: str
    source: str


@cache
def _quirk_entries() -> tuple[QuirkEntry, ...]:
    return tuple(QuirkEntry(row["model"], row["firmware"], tuple(row["quirks"]), row["meaning"], row["source"])
                 for row in load_table("libata_quirks")["entry"])


@cache
def quirk_effects() -> dict[str, str]:
    """What each quirk name dmesg prints does, in a few words (noncqtrim → 'TRIM is sent unqueued…')."""
    return {row["name"]: row["short"] for row in load_table("libata_quirks")["quirk"]}


def libata_quirks_for(model: str | None, firmware: str | None) -> QuirkEntry | None:
    """The kernel's entry for this model and firmware: the first whose globs match (the kernel
    compares the IDENTIFY model with trailing blanks removed, case-sensitively)."""
    if not model:
        return None
    model = model.rstrip()
    for entry in _quirk_entries():
        # The glob's literal head is a cheap first test: fnmatch compiles a regex per pattern.
        if not model.startswith(_literal_head(entry.model)):
            continue
        if fnmatchcase(model, entry.model) and (not entry.firmware or fnmatchcase(firmware or "", entry.firmware)):
            return entry
    return None


@cache
def _literal_head(glob: str) -> str:
    """The part of a glob before its first wildcard: every match starts with it."""
    cut = min((i for i, ch in enumerate(glob) if ch in "*?["), default=len(glob))
    return glob[:cut]


@cache
def _warnings() -> tuple[tuple[re.Pattern[str], re.Pattern[str] | None, FirmwareWarning], ...]:
    return tuple(
        (re.compile(row["model"]), re.compile(row["firmware"]) if row["firmware"] else None,
         FirmwareWarning(row["warning"], row["advice"], row["source"]))
        for row in load_table("firmware_warnings")["warning"]
    )


def firmware_warnings_for(model: str | None, firmware: str | None) -> list[FirmwareWarning]:
    """Every known firmware problem for this model and firmware (drivedb's full-match rule)."""
    if not model:
        return []
    return [warning for model_re, firmware_re, warning in _warnings()
            if model_re.fullmatch(model.strip())
            and (firmware_re is None or firmware_re.fullmatch((firmware or "").strip()))]


@cache
def wear_attribute_names() -> tuple[str, ...]:
    """ATA attribute names whose normalised value is the SSD's life left (wear_attributes.toml)."""
    return tuple(row["name"] for row in load_table("wear_attributes")["attribute"])


@dataclass(frozen=True)
class Endurance:
    tbw: int
    source: str

    @property
    def bytes(self) -> int:
        return self.tbw * 10**12


@cache
def _endurance() -> tuple[tuple[re.Pattern[str], Endurance], ...]:
    return tuple((re.compile(row["model"]), Endurance(int(row["tbw"]), row["source"]))
                 for row in load_table("endurance")["model"])


def rated_endurance(model: str | None) -> Endurance | None:
    """The vendor's rated TBW for this model, where endurance.toml lists it."""
    if not model:
        return None
    return next((rating for pattern, rating in _endurance() if pattern.fullmatch(model.strip())), None)
