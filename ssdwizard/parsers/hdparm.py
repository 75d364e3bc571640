"""Parse ``hdparm -I /dev/NAME``: the ATA IDENTIFY data of a SATA/PATA disk.

hdparm is the one tool that shows what the *disk* claims (SATA revisions, TRIM, DRAT/RZAT,
NCQ) independent of the controller it sits on, which is why the sata and trim steps read it.
Two things shape this parser:

* People paste hdparm output into forums and mails, and the wizard accepts such pastes as
  evidence: tabs turn into spaces, long lines wrap (even to column 0), trailing blanks vanish.
  So lines are matched by their words, never by their column.
* On a disk that is not ATA (NVMe, virtio, most USB bridges) hdparm prints an error instead.
  That is an answer ("not an ATA disk"), not a failure: it comes back as
  :class:`HdparmUnavailable`, never as :class:`ParseError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from ssdwizard.parsers import ParseError
from ssdwizard.parsers._sata import sata_gbps

SOURCE = "hdparm -I"

# Column-0 headers that start a new block. A column-0 line that is none of these is paste
# damage: the tail of a wrapped line.
_SECTIONS = (
    "Standards:",
    "Configuration:",
    "Capabilities:",
    "Commands/features:",
    "Security:",
    "Logical Unit WWN Device Identifier:",
    "Checksum:",
    "Device Sleep:",
    "HW reset results:",
    "Integrity word not set",
)
_KEY_RE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9 /()._-]*?)\s*:(?:\s|$)")
_GEN_RE = re.compile(r"Gen(\d)\s+signaling speed\s*\(([\d.]+)\s*Gb/s\)", re.IGNORECASE)
_TRIM_RE = re.compile(
    r"Data Set Management TRIM supported(?:\s*\(limit\s+(\d+|unknown)\s+blocks?\)|\s*\(limit\s+unknown\))?",
    re.IGNORECASE,
)
_OLD_IDENTITY_RE = re.compile(r"Model=(.*?),\s*FwRev=(.*?),\s*SerialNo=(.*)$")

# The error texts hdparm prints when the ATA IDENTIFY ioctl does not apply to the device.
_NOT_ATA_PATTERNS: tuple[tuple[str, str], ...] = (
    ("inappropriate ioctl for device", "not_ata"),  # NVMe, loop, most non-SCSI block devices
    ("operation not permitted", "not_ata"),  # virtio-blk refuses SG_IO even for root
    ("bad/missing sense data", "not_ata"),  # SCSI/virtio-scsi/USB bridges without SAT
    ("hdio_drive_cmd(identify) failed", "not_ata"),
    ("sg_io: questionable sense data", "not_ata"),
    ("permission denied", "permission_denied"),  # not root
    ("no such file or directory", "no_device"),
    ("no such device", "no_device"),
)


@dataclass(frozen=True)
class HdparmFeature:
    """One line of the Commands/features table; ``enabled`` is the leading ``*``."""

    name: str
    enabled: bool


@dataclass(frozen=True)
class HdparmInfo:
    """What ``hdparm -I`` showed about one ATA disk; None means "the output did not say"."""

    device: str | None
    device_class: str | None
    model: str | None
    serial: str | None
    firmware: str | None
    transport: str | None
    sata_max_gbps: float | None
    gen_signaling_max_gbps: float | None
    signaling_speeds_gbps: tuple[float, ...]
    rotational: bool | None
    rotation_rpm: int | None
    form_factor: str | None
    trim_supported: bool | None
    trim_limit_blocks: int | None
    deterministic_read_after_trim: bool | None
    deterministic_zero_after_trim: bool | None
    ncq_supported: bool | None
    queue_depth: int | None
    logical_sector_bytes: int | None
    physical_sector_bytes: int | None
    user_addressable_sectors: int | None
    size_bytes: int | None
    size_gb: int | None
    security_supported: bool | None
    security_enabled: bool | None
    security_locked: bool | None
    security_frozen: bool | None
    features: tuple[HdparmFeature, ...]
    features_shown: bool

    @property
    def transport_kind(self) -> str | None:
        """``"serial"`` or ``"parallel"`` from the Transport line's first word."""
        if not self.transport:
            return None
        first = self.transport.split(",")[0].strip().lower()
        return first if first in ("serial", "parallel") else None


@dataclass(frozen=True)
class HdparmUnavailable:
    """hdparm answered with an error instead of IDENTIFY data.

    ``reason`` is ``"not_ata"`` (NVMe, virtio, a bridge without ATA pass-through: use other
    sources), ``"permission_denied"`` (run as root) or ``"no_device"``.
    """

    reason: str
    message: str

    @property
    def not_ata(self) -> bool:
        return self.reason == "not_ata"


HdparmResult = Union[HdparmInfo, HdparmUnavailable]  # a runtime alias: `X | Y` needs Python 3.10


def parse_hdparm(text: str) -> HdparmResult:
    """Parse the stdout (and, if the caller joined it, stderr) of ``hdparm -I /dev/NAME``."""
    if not isinstance(text, str):
        raise ParseError(SOURCE, "expected text")
    if "\x00" in text:
        raise ParseError(SOURCE, "binary data, not hdparm output")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if _looks_like_identify(text):
        try:
            return _parse_identify(lines)
        except (ValueError, OverflowError) as exc:  # a number too long for int()
            raise ParseError(SOURCE, f"unreadable number ({exc})") from None
    unavailable = _unavailable(lines)
    if unavailable is not None:
        return unavailable
    raise ParseError(SOURCE, "no 'Model Number:' / 'ATA device' lines and no known hdparm error")


def _looks_like_identify(text: str) -> bool:
    return bool(
        re.search(r"^\s*(Model Number|Serial Number|Firmware Revision)\s*:", text, re.MULTILINE)
        or re.search(r"^\s*Model=.*FwRev=", text, re.MULTILINE)
    )


def _unavailable(lines: list[str]) -> HdparmUnavailable | None:
    for line in lines:
        lowered = line.lower()
        for needle, reason in _NOT_ATA_PATTERNS:
            if needle in lowered:
                message = " ".join(line.split())
                return HdparmUnavailable(reason=reason, message=message)
    return None


def _is_section_header(line: str) -> bool:
    if not line or line[0].isspace():
        return False
    return line.rstrip().startswith(_SECTIONS)


def _join_wrapped(lines: list[str]) -> list[tuple[str | None, str]]:
    """Return ``(section, line)`` pairs with mail-wrapped lines glued back on.

    A column-0 line that is not a section header, not the ``/dev/X:`` line and not the device
    class line is the tail of the previous line (a mailer wrapped it). Inside the Transport
    value an indented line without its own ``Key:`` is a tail too.
    """
    out: list[tuple[str | None, str]] = []
    section: str | None = None
    in_transport = False
    for raw in lines:
        line = raw.rstrip()
        if not line.strip():
            in_transport = False
            continue
        if _is_section_header(line):
            section = line.split(":")[0].strip()
            in_transport = False
            out.append((section, line))
            continue
        at_col0 = not line[0].isspace()
        is_key = bool(_KEY_RE.match(line))
        if in_transport and not is_key and out:
            prev_section, prev = out[-1]
            out[-1] = (prev_section, prev + " " + line.strip())
            continue
        if at_col0 and out and section is not None and not is_key:
            prev_section, prev = out[-1]
            out[-1] = (prev_section, prev + " " + line.strip())
            continue
        in_transport = bool(re.match(r"^\s*Transport\s*:", line))
        out.append((section, line))
    return out


def _value(line: str) -> str:
    return line.split(":", 1)[1].strip() if ":" in line else ""


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    digits = re.sub(r"[^\d]", "", text)
    return int(digits) if digits else None


def _parse_identify(lines: list[str]) -> HdparmInfo:
    fields: dict[str, str] = {}
    device: str | None = None
    device_class: str | None = None
    features: list[HdparmFeature] = []
    features_shown = False
    security: dict[str, bool] = {}
    old_identity: tuple[str, str, str] | None = None
    queue_depth: int | None = None
    logical: int | None = None
    physical: int | None = None
    lba: int | None = None
    lba48: int | None = None
    size_gb: int | None = None

    for section, line in _join_wrapped(lines):
        stripped = line.strip()
        if section is None:
            dev = re.match(r"^(/dev/\S+?):\s*$", stripped)
            if dev:
                device = dev.group(1)
                continue
            old = _OLD_IDENTITY_RE.search(stripped)
            if old:
                old_identity = (old.group(1).strip(), old.group(2).strip(), old.group(3).strip())
                continue
            if not line[0].isspace() and "device" in stripped and ":" not in stripped:
                device_class = stripped
                continue
            key = _KEY_RE.match(line)
            if key:
                fields.setdefault(key.group(1).strip(), _value(line))
            continue
        if section == "Commands/features":
            if stripped.startswith("Commands/features") or "".join(stripped.split()).startswith(
                "EnabledSupported"
            ):
                features_shown = True
                continue
            features_shown = True
            enabled = stripped.startswith("*")
            name = " ".join(stripped.lstrip("*").split())
            if name:
                features.append(HdparmFeature(name=name, enabled=enabled))
            continue
        if section == "Security":
            words = stripped.split()
            if len(words) == 1 and words[0] in ("supported", "enabled", "locked", "frozen"):
                security[words[0]] = True
            elif len(words) == 2 and words[0] == "not" and words[1] in (
                "supported",
                "enabled",
                "locked",
                "frozen",
            ):
                security[words[1]] = False
            continue
        if section in ("Configuration", "Capabilities"):
            if m := re.search(r"Logical/Physical Sector size:\s*(\d+)\s*bytes", stripped):
                logical = physical = int(m.group(1))
            elif m := re.search(r"^Logical\s+Sector size:\s*(\d+)\s*bytes", stripped):
                logical = int(m.group(1))
            elif m := re.search(r"^Physical\s+Sector size:\s*(\d+)\s*bytes", stripped):
                physical = int(m.group(1))
            elif m := re.search(r"^LBA48\s+user addressable sectors:\s*([\d.,']+)", stripped):
                lba48 = _int(m.group(1))
            elif m := re.search(r"^LBA\s+user addressable sectors:\s*([\d.,']+)", stripped):
                lba = _int(m.group(1))
            elif m := re.search(r"M = 1000\*1000:.*\((\d+)\s*GB\)", stripped):
                size_gb = int(m.group(1))
            elif m := re.search(r"^Queue depth:\s*(\d+)", stripped):
                queue_depth = int(m.group(1))
            else:
                key = _KEY_RE.match(line)
                if key:
                    fields.setdefault(key.group(1).strip(), _value(line))
            continue
        key = _KEY_RE.match(line)
        if key and section not in ("Logical Unit WWN Device Identifier", "Device Sleep"):
            fields.setdefault(key.group(1).strip(), _value(line))

    model = fields.get("Model Number") or (old_identity[0] if old_identity else None)
    firmware = fields.get("Firmware Revision") or (old_identity[1] if old_identity else None)
    serial = fields.get("Serial Number") or (old_identity[2] if old_identity else None)
    transport = fields.get("Transport") or None
    if transport is not None:
        transport = " ".join(transport.split())
    if not (model or serial or firmware or transport):
        raise ParseError(SOURCE, "IDENTIFY block without model, serial, firmware or transport")

    rotational, rpm = _rotation(fields.get("Nominal Media Rotation Rate"))
    speeds = _signaling(features)
    trim_supported, trim_limit = _trim(features, features_shown)
    drat, rzat = _determinism(features, features_shown)
    ncq: bool | None = None
    if features_shown:
        ncq = any("Native Command Queueing" in f.name for f in features)
    sectors = lba48 if lba48 else lba
    size_bytes = sectors * logical if sectors and logical else None

    return HdparmInfo(
        device=device,
        device_class=device_class,
        model=model or None,
        serial=serial or None,
        firmware=firmware or None,
        transport=transport,
        sata_max_gbps=sata_gbps(transport) if transport else None,
        gen_signaling_max_gbps=max(speeds) if speeds else None,
        signaling_speeds_gbps=tuple(speeds),
        rotational=rotational,
        rotation_rpm=rpm,
        form_factor=fields.get("Form Factor") or None,
        trim_supported=trim_supported,
        trim_limit_blocks=trim_limit,
        deterministic_read_after_trim=drat,
        deterministic_zero_after_trim=rzat,
        ncq_supported=ncq,
        queue_depth=queue_depth,
        logical_sector_bytes=logical,
        physical_sector_bytes=physical,
        user_addressable_sectors=sectors,
        size_bytes=size_bytes,
        size_gb=size_gb,
        security_supported=security.get("supported"),
        security_enabled=security.get("enabled"),
        security_locked=security.get("locked"),
        security_frozen=security.get("frozen"),
        features=tuple(features),
        features_shown=features_shown,
    )


def _rotation(value: str | None) -> tuple[bool | None, int | None]:
    if not value:
        return None, None
    if "solid state" in value.lower():
        return False, None
    digits = re.match(r"^(\d+)", value.strip())
    if digits:
        return True, int(digits.group(1))
    return None, None  # "Unknown", "Reserved", vendor garbage


def _signaling(features: list[HdparmFeature]) -> list[float]:
    speeds: list[float] = []
    for feature in features:
        m = _GEN_RE.search(feature.name)
        if m:
            try:
                speeds.append(float(m.group(2)))
            except ValueError:
                continue
    return sorted(set(speeds))


def _trim(features: list[HdparmFeature], shown: bool) -> tuple[bool | None, int | None]:
    for feature in features:
        m = _TRIM_RE.search(feature.name)
        if m:
            limit = m.group(1)
            return True, int(limit) if limit and limit.isdigit() else None
    return (False, None) if shown else (None, None)


def _determinism(features: list[HdparmFeature], shown: bool) -> tuple[bool | None, bool | None]:
    if not shown:
        return None, None
    names = [f.name.lower() for f in features]
    rzat = any("deterministic read zeros after trim" in n for n in names)
    # RZAT implies DRAT: hdparm prints only the ZEROs line when both bits are set.
    drat = rzat or any("deterministic read data after trim" in n for n in names)
    return drat, rzat
