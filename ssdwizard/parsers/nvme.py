"""Parse nvme-cli's JSON: ``id-ctrl``, ``id-ns`` and ``smart-log`` (``--output-format=json``).

For NVMe disks hdparm has nothing to say; the Identify Controller data tells the disks step
the model and firmware, and the trim step whether the controller supports Dataset Management
(ONCS bit 2), which is how NVMe spells TRIM/deallocate. nvme-cli 1.x prints ``"oncs" : 95``,
2.x prints ``"oncs":95``; both are plain JSON. Model and serial are space-padded fixed-width
ASCII fields in the spec, so they are stripped.

Identify Namespace says which LBA format (sector size) the namespace is formatted with and
which other formats the drive offers: many drives ship formatted 512-byte although a 4 KiB
format with better relative performance exists. The SMART / Health log gives wear, spare,
media errors and unsafe shutdowns, the numbers a health finding quotes.
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
    vwc: int | None  # Volatile Write Cache field, raw (bit 0: a volatile write cache is present)

    @property
    def volatile_write_cache(self) -> bool | None:
        """VWC bit 0: the controller has a volatile write cache, so flushes matter (power loss)."""
        return None if self.vwc is None else bool(self.vwc & 1)

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


def _byte(value: Any) -> int | None:
    """An 8-bit register field: anything outside 0..255 is not what the spec allows."""
    number = _int(value)
    return number if number is not None and 0 <= number <= 0xFF else None


def _load(text: str, source: str) -> dict[str, Any]:
    """nvme-cli's JSON object, or ParseError naming the first line of whatever was printed."""
    if not isinstance(text, str):
        raise ParseError(source, "expected text")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        first = text.strip().splitlines()[0][:120] if text.strip() else "empty output"
        raise ParseError(source, f"not JSON: {first}") from None
    if not isinstance(data, dict):
        raise ParseError(source, f"JSON {type(data).__name__}, not an object")
    return data


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
        vwc=_byte(data.get("vwc")),
    )


# --- nvme id-ns ---------------------------------------------------------------------------

SOURCE_ID_NS = "nvme id-ns"

# Relative Performance (RP, 2 bits of each LBA Format descriptor), NVMe NVM Command Set spec;
# the words nvme-cli prints in `id-ns -H` ("0 Best", "0x1 Better", "0x2 Good", "0x3 Degraded").
RELATIVE_PERFORMANCE: tuple[str, ...] = ("best", "better", "good", "degraded")

# LBADS is log2 of the data size; the spec does not allow less than 9 (512 bytes), and a
# 0 marks an unused descriptor. Above 2**31 (far beyond any real sector) is garbage.
_LBADS_MIN, _LBADS_MAX = 9, 31


@dataclass(frozen=True)
class LbaFormat:
    """One LBA Format descriptor: sector size, metadata bytes per sector, relative performance."""

    index: int  # position in the namespace's list, the number `nvme format --lbaf=N` takes
    data_bytes: int  # 2 ** LBADS
    metadata_bytes: int  # MS
    relative_performance: int  # RP: 0 best, 1 better, 2 good, 3 degraded

    @property
    def performance(self) -> str:
        return RELATIVE_PERFORMANCE[self.relative_performance]


@dataclass(frozen=True)
class NvmeIdNs:
    """The Identify Namespace fields ssdwizard uses: its size and its LBA formats."""

    size_blocks: int | None  # NSZE, in logical blocks of the format in use
    capacity_blocks: int | None  # NCAP
    used_blocks: int | None  # NUSE
    flbas: int | None  # Formatted LBA Size, raw
    formats: tuple[LbaFormat, ...]
    in_use: LbaFormat | None
    best: LbaFormat | None  # metadata 0, best RP, ties to the larger sector; None if none has ms 0

    @property
    def size_bytes(self) -> int | None:
        if self.size_blocks is None or self.in_use is None:
            return None
        return self.size_blocks * self.in_use.data_bytes

    @property
    def better_format_available(self) -> bool | None:
        """A format without metadata beats the one in use (better RP, or same RP larger sector).

        Reformatting erases the namespace: the step only advises it, with ``best.index``."""
        if self.in_use is None or self.best is None:
            return None
        return self.best.index != self.in_use.index and _rank(self.best) < _rank(self.in_use)


def _rank(fmt: LbaFormat) -> tuple[int, int, int]:
    """Sort key, best first: no metadata, then lower RP, then the larger sector."""
    return (0 if fmt.metadata_bytes == 0 else 1, fmt.relative_performance, -fmt.data_bytes)


def flbas_format_index(flbas: int) -> int:
    """The LBA format in use from FLBAS: bits 3:0 are its low 4 bits, bits 6:5 its high 2 bits.

    NVMe 2.0 widened the index to 6 bits for namespaces with more than 16 formats (bits 6:5 are
    reserved, so 0, below that). Same arithmetic as libnvme's nvme_id_ns_flbas_to_lbaf_inuse()
    (linux-nvme/libnvme PR #164, fixed in #806; used by nvme-cli since PR #1307). Bit 4 is not
    part of it: it says whether metadata travels at the end of each sector (extended LBA)."""
    return (flbas & 0x60) >> 1 | flbas & 0x0F


def _lba_format(index: int, entry: Any) -> LbaFormat | None:
    if not isinstance(entry, dict):
        return None
    ds, ms, rp = _int(entry.get("ds")), _int(entry.get("ms")), _int(entry.get("rp"))
    if ds is None or not _LBADS_MIN <= ds <= _LBADS_MAX:
        return None
    if ms is None or not 0 <= ms <= 0xFFFF or rp is None or not 0 <= rp <= 3:
        return None
    return LbaFormat(index=index, data_bytes=2**ds, metadata_bytes=ms, relative_performance=rp)


def parse_nvme_id_ns(text: str) -> NvmeIdNs:
    """Parse ``nvme id-ns --output-format=json`` (nvme-cli 1.x and 2.x); ParseError otherwise.

    The format in use comes from ``flbas``; newer nvme-cli also marks the entry with
    ``"in_use": 1`` (nvme-cli PR #2817, issue #2811), which stands in when ``flbas`` is missing. A descriptor
    the spec would not allow (LBADS below 9, RP above 3) is left out of ``formats``.
    """
    data = _load(text, SOURCE_ID_NS)
    if "lbafs" not in data and "flbas" not in data and "nsze" not in data:
        raise ParseError(SOURCE_ID_NS, "JSON without 'lbafs'/'flbas'/'nsze': not Identify Namespace data")
    raw = data.get("lbafs")
    entries = raw if isinstance(raw, list) else []
    formats = tuple(f for f in (_lba_format(i, e) for i, e in enumerate(entries)) if f is not None)
    flbas = _byte(data.get("flbas"))
    in_use: LbaFormat | None = None
    if flbas is not None:
        index = flbas_format_index(flbas)
        in_use = next((f for f in formats if f.index == index), None)
    else:
        marked = [i for i, e in enumerate(entries) if isinstance(e, dict) and _int(e.get("in_use")) == 1]
        if len(marked) == 1:
            in_use = next((f for f in formats if f.index == marked[0]), None)
    plain = [f for f in formats if f.metadata_bytes == 0]
    return NvmeIdNs(
        size_blocks=_int(data.get("nsze")),
        capacity_blocks=_int(data.get("ncap")),
        used_blocks=_int(data.get("nuse")),
        flbas=flbas,
        formats=formats,
        in_use=in_use,
        best=min(plain, key=_rank) if plain else None,
    )


# --- nvme smart-log -----------------------------------------------------------------------

SOURCE_SMART_LOG = "nvme smart-log"

# Critical Warning bits, SMART / Health Information log (NVMe base spec, Log Page 02h).
CRITICAL_WARNING_BITS: dict[int, str] = {
    0: "spare_below_threshold",
    1: "temperature",
    2: "reliability_degraded",
    3: "read_only",
    4: "volatile_backup_failed",
    5: "pmr_read_only",
}

# "Data Units Read/Written": thousands of 512-byte units, rounded up (NVMe base spec).
DATA_UNIT_BYTES = 512_000


@dataclass(frozen=True)
class NvmeSmartLog:
    """The SMART / Health log fields the health finding quotes."""

    critical_warning: int | None
    temperature_kelvin: int | None  # composite temperature; nvme-cli's JSON keeps the spec's Kelvin
    available_spare: int | None  # percent
    available_spare_threshold: int | None  # percent
    percent_used: int | None  # vendor estimate of life used; may exceed 100
    data_units_written: int | None  # units of DATA_UNIT_BYTES
    power_on_hours: int | None
    media_errors: int | None
    unsafe_shutdowns: int | None
    error_log_entries: int | None

    @property
    def temperature_celsius(self) -> int | None:
        """Kelvin minus 273, as nvme-cli's normal output and smartctl print it."""
        return None if self.temperature_kelvin is None else self.temperature_kelvin - 273

    @property
    def data_written_bytes(self) -> int | None:
        return None if self.data_units_written is None else self.data_units_written * DATA_UNIT_BYTES

    @property
    def critical_warnings(self) -> tuple[str, ...]:
        """Names of the Critical Warning bits that are set (unknown bits are left out)."""
        if self.critical_warning is None:
            return ()
        return tuple(name for bit, name in CRITICAL_WARNING_BITS.items() if self.critical_warning >> bit & 1)

    @property
    def spare_below_threshold(self) -> bool | None:
        if self.available_spare is None or self.available_spare_threshold is None:
            return None
        return self.available_spare < self.available_spare_threshold


def _count(value: Any) -> int | None:
    """A 128-bit counter: nvme-cli prints a number, some 2.x builds a float or a digit string."""
    if isinstance(value, float):
        return int(value) if value.is_integer() and value >= 0 else None
    number = _int(value)
    return number if number is not None and number >= 0 else None


def _percent(value: Any) -> int | None:
    return _byte(value)


def _critical_warning(value: Any) -> int | None:
    # nvme-cli 2.x with -H prints an object of the decoded bits with the raw byte as "value".
    if isinstance(value, dict):
        value = value.get("value")
    return _byte(value)


def parse_nvme_smart_log(text: str) -> NvmeSmartLog:
    """Parse ``nvme smart-log --output-format=json``; ParseError for anything else.

    nvme-cli 1.x and 2.x name the keys alike (``percent_used``, ``avail_spare``, ``temperature``
    in Kelvin): "percentage_used" is only the label of the normal text output, accepted here
    too in case a wrapper renamed it. A temperature of 0 K is "not reported", so None.
    """
    data = _load(text, SOURCE_SMART_LOG)
    known = ("critical_warning", "temperature", "avail_spare", "percent_used", "percentage_used",
             "data_units_written", "power_on_hours", "media_errors")
    if not any(key in data for key in known):
        raise ParseError(SOURCE_SMART_LOG, "JSON without SMART / Health log keys")
    kelvin = _int(data.get("temperature"))
    used = data.get("percent_used", data.get("percentage_used"))
    return NvmeSmartLog(
        critical_warning=_critical_warning(data.get("critical_warning")),
        temperature_kelvin=kelvin if kelvin is not None and 0 < kelvin <= 0xFFFF else None,
        available_spare=_percent(data.get("avail_spare")),
        available_spare_threshold=_percent(data.get("spare_thresh")),
        percent_used=_percent(used),
        data_units_written=_count(data.get("data_units_written")),
        power_on_hours=_count(data.get("power_on_hours")),
        media_errors=_count(data.get("media_errors")),
        unsafe_shutdowns=_count(data.get("unsafe_shutdowns")),
        error_log_entries=_count(data.get("num_err_log_entries")),
    )
