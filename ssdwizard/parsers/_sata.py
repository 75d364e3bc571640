"""SATA revision names to line rates, shared by the hdparm and smartctl parsers.

Both tools name the revision a disk supports ("SATA Rev 3.0", "SATA II Extensions",
"SATA 3.1") rather than its speed; the wizard compares speeds, so the table lives once here.
"""

from __future__ import annotations

import re

# Generation -> Gbit/s. SATA 3.2 also defines SATA Express (PCIe), but a disk that reports a
# SATA revision talks SATA, so every 3.x revision means 6.0 Gbit/s on the wire.
GEN_GBPS: dict[int, float] = {1: 1.5, 2: 3.0, 3: 6.0}

_ROMAN = {"I": 1, "II": 2, "III": 3}
_REV_RE = re.compile(r"\bSATA\s+(?:Rev(?:ision)?\s+)?>?(\d+)\.\d+a?\b", re.IGNORECASE)
_ROMAN_RE = re.compile(r"\bSATA\s+(III|II|I)\b")


def sata_generation(text: str) -> int | None:
    """Highest SATA generation named in ``text`` ("SATA Rev 2.6" -> 2), or None if none is."""
    gens: list[int] = []
    for match in _REV_RE.finditer(text):
        major = int(match.group(1))
        if major in GEN_GBPS:
            gens.append(major)
    for match in _ROMAN_RE.finditer(text):
        gens.append(_ROMAN[match.group(1)])
    return max(gens) if gens else None


def sata_gbps(text: str) -> float | None:
    """Line rate in Gbit/s of the highest SATA revision named in ``text``, or None."""
    gen = sata_generation(text)
    return GEN_GBPS[gen] if gen is not None else None
