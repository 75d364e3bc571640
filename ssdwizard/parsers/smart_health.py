"""The health and wear part of ``smartctl --json -x``: what Proxmox's disk view, smartd,
Scrutiny and smartctl_exporter show, read from the same JSON the disks step already parsed.

Three transports say it three ways, so each field is read from where its transport puts it and
stays None where the disk did not report it:

* NVMe: ``nvme_smart_health_information_log`` (the NVMe SMART / Health Information log page,
  log id 02h): ``critical_warning`` (a bit field), ``available_spare`` and its threshold,
  ``percentage_used`` (the spec lets it pass 100: the rated life is used up, the disk goes on),
  ``media_errors``, ``data_units_written`` (units of 1000 × 512 bytes), ``unsafe_shutdowns``.
* ATA: ``ata_smart_attributes.table`` (vendor-defined, named by smartmontools' drive database)
  and, with ``-x``, ``ata_device_statistics`` (ACS-3 device statistics, vendor-neutral: page 7
  "Percentage Used Endurance Indicator", page 1 "Logical Sectors Written", page 6 "Number of
  Interface CRC Errors"). The statistics win where both exist.
* SCSI/SAS: ``scsi_percentage_used_endurance_indicator`` and ``scsi_grown_defect_list``.

A disk that ``-n standby`` found asleep answers with exit bit 1 and the message "Device is in
STANDBY mode, exit(2)" (ataprint.cpp; also "STANDBY (OS)", "SLEEP", "IDLE_B" …), and newer
smartctl adds ``power_mode``; :func:`power_mode` tells that apart from a disk that failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

#: NVMe base spec, SMART / Health Information log, byte 0 (Critical Warning), bit -> meaning.
CRITICAL_WARNING_BITS: dict[int, str] = {
    0: "available spare has fallen below the threshold",
    1: "temperature is outside the allowed range",
    2: "NVM subsystem reliability is degraded (media or internal errors)",
    3: "media has been placed in read-only mode",
    4: "volatile memory backup device has failed (power-loss protection)",
    5: "persistent memory region has become read-only",
}

#: One NVMe data unit: 1000 units of 512 bytes (NVMe base spec, Data Units Written).
NVME_DATA_UNIT_BYTES = 512_000

_ASLEEP = re.compile(r"Device is in (?P<mode>[A-Z_]+(?: BY (?:COMMAND|TIMER))?(?: \(OS\))?) mode", re.IGNORECASE)
_ASLEEP_POWER_NAMES = ("STANDBY", "SLEEP")


@dataclass(frozen=True)
class SmartAttribute:
    """One row of the ATA SMART attribute table. ``value``/``worst``/``thresh`` are the
    vendor's normalised 1..253 scale (higher is better), ``raw`` the raw counter."""

    id: int
    name: str
    value: int | None
    worst: int | None
    thresh: int | None
    raw: int | None
    when_failed: str

    @property
    def failing_now(self) -> bool:
        return self.when_failed == "now"


@dataclass(frozen=True)
class SmartHealth:
    """What a disk says about its health and wear; None where it did not say."""

    passed: bool | None
    power_on_hours: int | None
    temperature_c: int | None
    #: The disk's own upper limit where it reports one (ATA SCT op limit, SCSI drive trip).
    temperature_limit_c: int | None
    percentage_used: int | None
    #: Where ``percentage_used`` came from, for the evidence line.
    percentage_used_source: str | None
    available_spare: int | None
    available_spare_threshold: int | None
    media_errors: int | None
    critical_warning: int | None
    unsafe_shutdowns: int | None
    data_written_bytes: int | None
    data_written_source: str | None
    reallocated_sectors: int | None
    pending_sectors: int | None
    offline_uncorrectable: int | None
    crc_errors: int | None
    grown_defects: int | None
    attributes: tuple[SmartAttribute, ...]

    @property
    def critical_warnings(self) -> tuple[str, ...]:
        value = self.critical_warning or 0
        known = tuple(text for bit, text in CRITICAL_WARNING_BITS.items() if value >> bit & 1)
        unknown = value & ~((1 << len(CRITICAL_WARNING_BITS)) - 1)
        return known + ((f"unknown bits 0x{unknown:x}",) if unknown else ())

    @property
    def failing_attributes(self) -> tuple[SmartAttribute, ...]:
        """Attributes at or below their threshold now (smartctl's WHEN_FAILED "now")."""
        return tuple(a for a in self.attributes if a.failing_now)


def _get(data: Any, *path: Any) -> Any:
    for key in path:
        if isinstance(key, int):
            if not isinstance(data, list) or not -len(data) <= key < len(data):
                return None
        elif not isinstance(data, dict):
            return None
        data = data[key] if isinstance(key, int) else data.get(key)
    return data


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _list(value: Any) -> list[Any]:
    """The value where it is a JSON array, else empty: a report of the wrong shape is not a crash."""
    return value if isinstance(value, list) else []


def _nonneg(value: Any) -> int | None:
    number = _int(value)
    return number if number is not None and number >= 0 else None


def power_mode(data: dict[str, Any]) -> str | None:
    """"STANDBY", "SLEEP", "IDLE_B" … as smartctl named the power mode it found, else None.
    From ``power_mode.name`` (smartctl ≥ 7.4) or the "Device is in … mode" message."""
    name = _get(data, "power_mode", "name")
    if isinstance(name, str) and name.strip():
        return name.strip().upper()
    for message in _list(_get(data, "smartctl", "messages")):
        text = _get(message, "string")
        if isinstance(text, str):
            found = _ASLEEP.search(text)
            if found:
                return found.group("mode").upper()
    return None


def is_asleep(mode: str | None) -> bool:
    """A power mode in which reading SMART would spin the disk up."""
    return mode is not None and mode.startswith(_ASLEEP_POWER_NAMES)


def _attributes(data: dict[str, Any]) -> tuple[SmartAttribute, ...]:
    rows = _get(data, "ata_smart_attributes", "table")
    if not isinstance(rows, list):
        return ()
    found = []
    for row in rows:
        number, name = _int(_get(row, "id")), _get(row, "name")
        if number is None or not isinstance(name, str):
            continue
        found.append(SmartAttribute(
            id=number, name=name, value=_int(_get(row, "value")), worst=_int(_get(row, "worst")),
            thresh=_int(_get(row, "thresh")), raw=_nonneg(_get(row, "raw", "value")),
            when_failed=_get(row, "when_failed") if isinstance(_get(row, "when_failed"), str) else ""))
    return tuple(found)


def _statistic(data: dict[str, Any], page: int, name: str) -> int | None:
    """One ATA device statistic by page and name, None where absent or flagged invalid."""
    for entry in _list(_get(data, "ata_device_statistics", "pages")):
        if _get(entry, "number") != page:
            continue
        for row in _list(_get(entry, "table")):
            if _get(row, "name") == name and _get(row, "flags", "valid") is not False:
                return _nonneg(_get(row, "value"))
    return None


def _raw(attributes: tuple[SmartAttribute, ...], *names: str) -> int | None:
    return next((a.raw for a in attributes if a.name in names), None)


def vendor_wear(attributes: tuple[SmartAttribute, ...], wear_names: tuple[str, ...]) -> tuple[int | None, str | None]:
    """Percentage used from a vendor wear attribute whose normalised value counts the life left
    down from 100, with the evidence line; for ATA disks without the device statistic. The
    names are data (ssdwizard/data/wear_attributes.toml), so the caller passes them."""
    for attribute in attributes:
        if attribute.name in wear_names and attribute.value is not None and 0 <= attribute.value <= 100:
            return 100 - attribute.value, f"ata_smart_attributes {attribute.id} {attribute.name} value {attribute.value}"
    return None, None


def _ata_written(data: dict[str, Any], attributes: tuple[SmartAttribute, ...],
                 sector: int) -> tuple[int | None, str | None]:
    sectors = _statistic(data, 1, "Logical Sectors Written")
    if sectors is not None:
        return sectors * sector, f"ata_device_statistics Logical Sectors Written {sectors} × {sector} B"
    # Vendor attributes, by the unit smartmontools' drive database puts in their name.
    units = (("Total_LBAs_Written", sector), ("Host_Writes_32MiB", 32 << 20), ("Host_Writes_GiB", 1 << 30),
             ("Lifetime_Writes_GiB", 1 << 30), ("Total_Writes_GiB", 1 << 30), ("Host_Writes_MiB", 1 << 20))
    for name, unit in units:
        raw = _raw(attributes, name)
        if raw is not None:
            return raw * unit, f"ata_smart_attributes {name} {raw}"
    return None, None


def parse_smart_health(data: dict[str, Any]) -> SmartHealth:
    """The health fields of one parsed smartctl JSON document (never raises)."""
    nvme = _get(data, "nvme_smart_health_information_log")
    nvme = nvme if isinstance(nvme, dict) else {}
    attributes = _attributes(data)
    sector = _int(data.get("logical_block_size")) or 512

    used = _nonneg(nvme.get("percentage_used"))
    used_source = "nvme_smart_health_information_log percentage_used" if used is not None else None
    if used is None:
        used = _statistic(data, 7, "Percentage Used Endurance Indicator")
        used_source = "ata_device_statistics Percentage Used Endurance Indicator" if used is not None else None
    if used is None:
        used = _nonneg(data.get("scsi_percentage_used_endurance_indicator"))
        used_source = "scsi_percentage_used_endurance_indicator" if used is not None else None

    units = _nonneg(nvme.get("data_units_written"))
    if units is not None:
        written: int | None = units * NVME_DATA_UNIT_BYTES
        written_source: str | None = f"nvme_smart_health_information_log data_units_written {units} × 512000 B"
    else:
        written, written_source = _ata_written(data, attributes, sector)

    crc = _statistic(data, 6, "Number of Interface CRC Errors")
    limit = _int(_get(data, "temperature", "op_limit_max"))
    return SmartHealth(
        passed=_get(data, "smart_status", "passed") if isinstance(_get(data, "smart_status", "passed"), bool) else None,
        power_on_hours=_nonneg(_get(data, "power_on_time", "hours")),
        temperature_c=_int(_get(data, "temperature", "current")),
        temperature_limit_c=limit if limit else _int(_get(data, "temperature", "drive_trip")) or None,
        percentage_used=used,
        percentage_used_source=used_source,
        available_spare=_nonneg(nvme.get("available_spare")),
        available_spare_threshold=_nonneg(nvme.get("available_spare_threshold")),
        media_errors=_nonneg(nvme.get("media_errors")),
        critical_warning=_nonneg(nvme.get("critical_warning")),
        unsafe_shutdowns=_nonneg(nvme.get("unsafe_shutdowns")),
        data_written_bytes=written,
        data_written_source=written_source,
        reallocated_sectors=_raw(attributes, "Reallocated_Sector_Ct"),
        pending_sectors=_raw(attributes, "Current_Pending_Sector"),
        offline_uncorrectable=_raw(attributes, "Offline_Uncorrectable"),
        crc_errors=crc if crc is not None else _raw(attributes, "UDMA_CRC_Error_Count", "CRC_Error_Count"),
        grown_defects=_nonneg(data.get("scsi_grown_defect_list")),
        attributes=attributes,
    )
