"""Parse ``smartctl --json -x /dev/NAME``.

smartctl knows every transport (ATA, SAT bridges, SCSI/SAS, NVMe), so it is the disks, sata
and trim steps' first source when it is installed. Its JSON is stable across versions, but
keys appear only when the disk reports them: every field here is None when absent, never a
default, so "not reported" and "no" stay apart.

``smartctl.exit_status`` is a bitmask, not a success flag. Bits 0 and 1 mean the data is not
usable (bad command line / device could not be opened); bits 2-7 are about the disk's health
and logs and come with perfectly good data. See :class:`SmartctlExitStatus`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ssdwizard.parsers import ParseError
from ssdwizard.parsers._sata import sata_gbps
from ssdwizard.parsers.smart_health import SmartHealth, is_asleep, parse_smart_health, power_mode

SOURCE = "smartctl --json -x"

# smartctl(8), "EXIT STATUS": bit -> meaning.
EXIT_BITS: dict[int, str] = {
    0: "command line did not parse",
    1: "device open failed, or device did not return an IDENTIFY response",
    2: "some SMART or other ATA command to the disk failed, or a SMART data structure checksum error",
    3: "SMART status check returned DISK FAILING",
    4: "prefail attributes are at or below threshold",
    5: "SMART status OK, but usage or prefail attributes have been at or below threshold in the past",
    6: "the device error log contains records of errors",
    7: "the device self-test log contains records of errors",
}


@dataclass(frozen=True)
class SmartctlExitStatus:
    """``smartctl.exit_status`` decoded bit by bit."""

    value: int

    def bit(self, n: int) -> bool:
        return bool(self.value >> n & 1)

    @property
    def data_usable(self) -> bool:
        """False when bit 0 or 1 is set: the rest of the JSON describes no disk."""
        return not (self.bit(0) or self.bit(1))

    @property
    def command_line_error(self) -> bool:
        return self.bit(0)

    @property
    def open_failed(self) -> bool:
        return self.bit(1)

    @property
    def command_failed(self) -> bool:
        return self.bit(2)

    @property
    def disk_failing(self) -> bool:
        return self.bit(3)

    @property
    def prefail_at_threshold(self) -> bool:
        return self.bit(4)

    @property
    def past_threshold(self) -> bool:
        return self.bit(5)

    @property
    def error_log_has_errors(self) -> bool:
        return self.bit(6)

    @property
    def self_test_log_has_errors(self) -> bool:
        return self.bit(7)

    @property
    def meanings(self) -> tuple[str, ...]:
        return tuple(text for n, text in EXIT_BITS.items() if self.bit(n))


@dataclass(frozen=True)
class SmartctlMessage:
    """One entry of ``smartctl.messages`` (e.g. "Unable to detect device type")."""

    severity: str
    text: str


@dataclass(frozen=True)
class SmartctlReport:
    """The facts ssdwizard reads from one smartctl JSON document."""

    exit_status: SmartctlExitStatus | None
    messages: tuple[SmartctlMessage, ...]
    smartctl_version: str | None
    device_name: str | None
    device_type: str | None
    protocol: str | None
    model_name: str | None
    model_family: str | None
    serial_number: str | None
    firmware_version: str | None
    sata_version: str | None
    sata_version_gbps: float | None
    interface_max_gbps: float | None
    interface_current_gbps: float | None
    rotation_rate: int | None
    trim_supported: bool | None
    trim_deterministic: bool | None
    trim_zeroed: bool | None
    nvme_dataset_management: bool | None
    logical_block_size: int | None
    physical_block_size: int | None
    capacity_bytes: int | None
    form_factor: str | None
    smart_passed: bool | None
    #: The power mode ``-n standby`` found ("STANDBY", "SLEEP", …), None where not said.
    power_mode: str | None
    health: SmartHealth

    @property
    def asleep(self) -> bool:
        """``-n standby`` found the disk asleep and read nothing, so as not to spin it up."""
        return is_asleep(self.power_mode)

    @property
    def is_nvme(self) -> bool:
        return (self.protocol or "").lower() == "nvme" or (self.device_type or "").lower() == "nvme"

    @property
    def rotational(self) -> bool | None:
        """False for an SSD (``rotation_rate: 0``; NVMe is always solid state), None if unknown."""
        if self.rotation_rate is not None:
            return self.rotation_rate > 0
        return False if self.is_nvme else None

    @property
    def data_usable(self) -> bool:
        return self.exit_status is None or self.exit_status.data_usable

    @property
    def errors(self) -> tuple[str, ...]:
        return tuple(m.text for m in self.messages if m.severity == "error")

    @property
    def max_gbps(self) -> float | None:
        """The disk's own maximum: the interface maximum, else what its SATA revision implies."""
        return self.interface_max_gbps if self.interface_max_gbps is not None else self.sata_version_gbps


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _str(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _speed(node: Any) -> float | None:
    """Gbit/s of an ``interface_speed.max``/``current`` object."""
    if not isinstance(node, dict):
        return None
    bits, units = _int(node.get("bits_per_unit")), _int(node.get("units_per_second"))
    if bits and units and bits > 0 and units > 0:
        try:
            return round(bits * units / 1e9, 1)
        except OverflowError:
            return None
    text = node.get("string")
    if isinstance(text, str):
        m = re.search(r"([\d.]+)\s*Gb/s", text)
        if m:
            try:
                return float(m.group(1))
            except ValueError:
                return None
    return None


def parse_smartctl_json(text: str) -> SmartctlReport:
    """Parse the JSON smartctl printed; raise ParseError if it is not smartctl JSON."""
    if not isinstance(text, str):
        raise ParseError(SOURCE, "expected text")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ParseError(SOURCE, f"not JSON ({exc.__class__.__name__})") from None
    if not isinstance(data, dict) or not isinstance(data.get("smartctl"), dict):
        raise ParseError(SOURCE, "JSON without a 'smartctl' object: not smartctl --json output")
    return _report(data)


def _report(data: dict[str, Any]) -> SmartctlReport:
    status = _int(_get(data, "smartctl", "exit_status"))
    messages = []
    raw_messages = _get(data, "smartctl", "messages")
    if isinstance(raw_messages, list):
        for item in raw_messages:
            text = _str(_get(item, "string"))
            if text:
                messages.append(SmartctlMessage(severity=_str(_get(item, "severity")) or "", text=text))
    version = _get(data, "smartctl", "version")
    version_text = None
    if isinstance(version, list) and version and all(_int(v) is not None for v in version):
        version_text = ".".join(str(v) for v in version)
    sata_version = _str(_get(data, "sata_version", "string"))
    return SmartctlReport(
        exit_status=SmartctlExitStatus(status) if status is not None and status >= 0 else None,
        messages=tuple(messages),
        smartctl_version=version_text,
        device_name=_str(_get(data, "device", "name")),
        device_type=_str(_get(data, "device", "type")),
        protocol=_str(_get(data, "device", "protocol")),
        model_name=_str(data.get("model_name")),
        model_family=_str(data.get("model_family")),
        serial_number=_str(data.get("serial_number")),
        firmware_version=_str(data.get("firmware_version")),
        sata_version=sata_version,
        sata_version_gbps=sata_gbps(sata_version) if sata_version else None,
        interface_max_gbps=_speed(_get(data, "interface_speed", "max")),
        interface_current_gbps=_speed(_get(data, "interface_speed", "current")),
        rotation_rate=_int(data.get("rotation_rate")),
        trim_supported=_bool(_get(data, "trim", "supported")),
        trim_deterministic=_bool(_get(data, "trim", "deterministic")),
        trim_zeroed=_bool(_get(data, "trim", "zeroed")),
        nvme_dataset_management=_bool(_get(data, "nvme_optional_nvm_commands", "dataset_management")),
        logical_block_size=_int(data.get("logical_block_size")),
        physical_block_size=_int(data.get("physical_block_size")),
        capacity_bytes=_int(_get(data, "user_capacity", "bytes")),
        form_factor=_str(_get(data, "form_factor", "name")),
        smart_passed=_bool(_get(data, "smart_status", "passed")),
        power_mode=power_mode(data),
        health=parse_smart_health(data),
    )
