"""Parse ``nvme id-ctrl --output-format=json /dev/NAME`` (nvme-cli).

For NVMe disks hdparm has nothing to say; the Identify Controller data tells the disks step
the model and firmware, and the trim step whether the controller supports Dataset Management
(ONCS bit 2), which is how NVMe spells TRIM/deallocate. nvme-cli 1.x prints ``"oncs" : 95``,
2.x prints ``"oncs":95``; both are plain JSON. Model and serial are space-padded fixed-width
ASCII fields in the spec, so they are stripped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ssdwizard.parsers import ParseError

SOURCE = "nvme id-ctrl"

# ONCS (Optional NVM Command Support), NVMe base spec; names as smartctl's JSON uses them.
ONCS_BITS: dict[int, str] = {
    0: "compare",
    1: "write_uncorrectable",
    2: "dataset_management",
    3: "write_zeroes",
    4: "save_select_feature_nonzero",
    5: "reservations",
    6: "timestamp",
    7: "verify",
    8: "copy",
}


@dataclass(frozen=True)
class NvmeIdCtrl:
    """The Identify Controller fields ssdwizard uses."""

    model: str | None
    serial: str | None
    firmware: str | None
    vendor_id: int | None
    subsystem_vendor_id: int | None
    version: str | None
    oncs: int | None
    total_capacity_bytes: int | None
    namespaces: int | None

    @property
    def oncs_commands(self) -> tuple[str, ...]:
        """Names of the optional NVM commands ONCS advertises (unknown bits are left out)."""
        if self.oncs is None:
            return ()
        return tuple(name for bit, name in ONCS_BITS.items() if self.oncs >> bit & 1)

    @property
    def dataset_management(self) -> bool | None:
        """ONCS bit 2: the controller accepts Dataset Management (deallocate = TRIM)."""
        return None if self.oncs is None else bool(self.oncs >> 2 & 1)


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    cleaned = value.replace("\x00", " ").strip()
    return cleaned or None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    # nvme-cli prints 128-bit fields (tnvmcap) as strings in some versions.
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,40}", value.strip()):
        return int(value.strip())
    return None


def _version(ver: int | None) -> str | None:
    """VER register (major in bits 31:16, minor in 15:8, tertiary in 7:0) as "1.3" / "1.4.1"."""
    if ver is None or ver <= 0 or ver >= 1 << 32:
        return None
    major, minor, tertiary = ver >> 16, ver >> 8 & 0xFF, ver & 0xFF
    return f"{major}.{minor}.{tertiary}" if tertiary else f"{major}.{minor}"


def parse_nvme_id_ctrl(text: str) -> NvmeIdCtrl:
    """Parse nvme-cli's JSON; raise ParseError for anything else (errors, usage text)."""
    if not isinstance(text, str):
        raise ParseError(SOURCE, "expected text")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        first = text.strip().splitlines()[0][:120] if text.strip() else "empty output"
        raise ParseError(SOURCE, f"not JSON: {first}") from None
    if not isinstance(data, dict) or not any(key in data for key in ("mn", "sn", "fr", "oncs")):
        raise ParseError(SOURCE, "JSON without 'mn'/'sn'/'fr'/'oncs': not Identify Controller data")
    oncs = _int(data.get("oncs"))
    return NvmeIdCtrl(
        model=_text(data.get("mn")),
        serial=_text(data.get("sn")),
        firmware=_text(data.get("fr")),
        vendor_id=_int(data.get("vid")),
        subsystem_vendor_id=_int(data.get("ssvid")),
        version=_version(_int(data.get("ver"))),
        oncs=oncs if oncs is not None and oncs >= 0 else None,
        total_capacity_bytes=_int(data.get("tnvmcap")),
        namespaces=_int(data.get("nn")),
    )
