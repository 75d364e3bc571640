"""What each disk says about itself: smartctl, hdparm and nvme-cli, merged once per report.

Several steps ask the same questions of a disk (its SATA revision, TRIM support, firmware), so
the answers are gathered here once, with the commands for all disks run concurrently, and the
sources tried in DESIGN §3.1's order: smartctl, then hdparm (SATA) or nvme-cli (NVMe), then
what sysfs and lsblk said.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from ssdwizard.parsers import ParseError
from ssdwizard.parsers.hdparm import HdparmInfo, HdparmUnavailable, parse_hdparm
from ssdwizard.parsers.nvme import NvmeIdCtrl, parse_nvme_id_ctrl
from ssdwizard.parsers.smartctl import SmartctlReport, parse_smartctl_json
from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Evidence
from ssdwizard.machine.inventory import Disk
from ssdwizard.system.base import CommandResult

_ATA_PORT = re.compile(r"^ata(\d+)$")
_PCI_ADDRESS = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")


def smartctl_argv(disk: Disk) -> tuple[str, ...]:
    # -n standby: a disk that is spun down is left asleep (smartctl exits 2 and reads nothing);
    # a report must never be the reason a disk spins up (issue 13).
    return ("smartctl", "--json", "-x", "-n", "standby", disk.path)


def legacy_smartctl_argv(disk: Disk) -> tuple[str, ...]:
    """The argv versions before 0.x recorded into machine profiles; profiles outlive versions
    (DESIGN §3), so an old profile's answer is still read when it has no answer to the new one."""
    return ("smartctl", "--json", "-x", disk.path)


def hdparm_argv(disk: Disk) -> tuple[str, ...]:
    return ("hdparm", "-I", disk.path)


def nvme_argv(disk: Disk) -> tuple[str, ...]:
    return ("nvme", "id-ctrl", "--output-format=json", disk.path)


def is_ata(disk: Disk) -> bool:
    """SATA, PATA, or unknown transport on an sdX name (hdparm can tell)."""
    return disk.transport in ("sata", "ata") or (disk.transport is None and disk.name.startswith("sd"))


@dataclass(frozen=True)
class DiskIdentity:
    """One disk's own answers. Each source is None where its tool is missing or failed;
    ``problems`` says why, in words an admin can act on."""

    disk: Disk
    smartctl: SmartctlReport | None
    hdparm: HdparmInfo | None
    hdparm_unavailable: HdparmUnavailable | None
    nvme: NvmeIdCtrl | None
    evidence: tuple[Evidence, ...]
    problems: tuple[str, ...]
    #: The power mode smartctl found the disk in when that stopped it ("STANDBY", "SLEEP"):
    #: nothing else was asked of the disk, so as not to wake it.
    asleep: str | None = None

    def _first(self, *values):
        return next((v for v in values if v is not None), None)

    @property
    def sata_max_gbps(self) -> float | None:
        """The fastest SATA revision the disk supports."""
        return self._first(
            self.smartctl.sata_version_gbps if self.smartctl else None,
            self.hdparm.sata_max_gbps if self.hdparm else None,
            self.hdparm.gen_signaling_max_gbps if self.hdparm else None,
            self.smartctl.interface_max_gbps if self.smartctl else None,
        )

    @property
    def link_gbps_from_smartctl(self) -> float | None:
        return self.smartctl.interface_current_gbps if self.smartctl else None

    @property
    def trim_supported(self) -> bool | None:
        """The disk's own word on TRIM / NVMe Deallocate (the block layer's is in lsblk)."""
        return self._first(
            self.smartctl.trim_supported if self.smartctl else None,
            self.smartctl.nvme_dataset_management if self.smartctl else None,
            self.hdparm.trim_supported if self.hdparm else None,
            self.nvme.dataset_management if self.nvme else None,
        )

    @property
    def drat(self) -> bool | None:
        """Deterministic read after TRIM."""
        return self._first(
            self.smartctl.trim_deterministic if self.smartctl else None,
            self.hdparm.deterministic_read_after_trim if self.hdparm else None,
        )

    @property
    def rzat(self) -> bool | None:
        """Deterministic read zeros after TRIM."""
        return self._first(
            self.smartctl.trim_zeroed if self.smartctl else None,
            self.hdparm.deterministic_zero_after_trim if self.hdparm else None,
        )

    @property
    def model(self) -> str | None:
        # The disk's own word first: sysfs shows the SCSI INQUIRY product, the first 16
        # characters of an ATA model ("Samsung SSD 860" for "Samsung SSD 860 EVO 500GB").
        return self._first(
            self.smartctl.model_name if self.smartctl else None,
            self.hdparm.model if self.hdparm else None,
            self.nvme.model if self.nvme else None,
            self.disk.model,
        )

    @property
    def firmware(self) -> str | None:
        # The disk's own word first: lsblk and sysfs show the SCSI INQUIRY revision, which holds
        # only the last four characters of an ATA firmware ("2B6Q" for "RVT02B6Q").
        return self._first(
            self.smartctl.firmware_version if self.smartctl else None,
            self.hdparm.firmware if self.hdparm else None,
            self.nvme.firmware if self.nvme else None,
            self.disk.firmware,
        )


def _excerpt(text: str, patterns: tuple[str, ...], limit: int = 8) -> str:
    """The lines of a tool's output that matter to a reader, not the whole dump."""
    lines = [line.strip() for line in text.splitlines() if any(p in line for p in patterns)]
    return "\n".join(lines[:limit])


def _smartctl_excerpt(report: SmartctlReport) -> str:
    """The JSON fields that decided, one per line (the raw JSON is thousands of lines)."""
    fields = {
        "model_name": report.model_name,
        "firmware_version": report.firmware_version,
        "rotation_rate": report.rotation_rate,
        "sata_version.string": report.sata_version,
        "interface_speed.max": f"{report.interface_max_gbps:g} Gb/s" if report.interface_max_gbps else None,
        "interface_speed.current": f"{report.interface_current_gbps:g} Gb/s" if report.interface_current_gbps else None,
        "trim.supported": report.trim_supported,
        "trim.deterministic": report.trim_deterministic,
        "trim.zeroed": report.trim_zeroed,
        "nvme_optional_nvm_commands.dataset_management": report.nvme_dataset_management,
        "smartctl.exit_status": report.exit_status.value if report.exit_status else None,
    }
    return "\n".join(f"{key}: {str(value).lower() if isinstance(value, bool) else value}"
                     for key, value in fields.items() if value is not None)


_HDPARM_LINES = ("Model Number", "Firmware Revision", "Transport", "Rotation Rate", "TRIM supported",
                 "after TRIM", "Native Command Queueing")


def _read_smartctl(ctx: ProbeContext, disk: Disk, evidence: list[Evidence],
                   problems: list[str]) -> SmartctlReport | None:
    """The disk's smartctl report; also one that says the disk is asleep (nothing else in it)."""
    argv = smartctl_argv(disk)
    result = ctx.run(argv)
    if result.missing:
        legacy = ctx.run(legacy_smartctl_argv(disk))
        if not legacy.missing:
            argv, result = legacy_smartctl_argv(disk), legacy
    if result.missing:
        problems.append("smartctl is not installed (apt install smartmontools)")
        return None
    if result.timed_out:
        problems.append(f"smartctl {disk.path} timed out")
        return None
    try:
        report = parse_smartctl_json(result.stdout)
    except ParseError as exc:
        problems.append(f"smartctl {disk.path} printed no usable JSON ({exc.message}); exit {result.exit_code}")
        return None
    if report.asleep:
        problems.append(f"{disk.path} is asleep ({report.power_mode}): it was not woken, so what only the disk "
                        "can say stays unknown until it is next awake")
        evidence.append(Evidence(" ".join(argv), "; ".join(m.text for m in report.messages)))
        return report
    if report.exit_status is not None and not report.exit_status.data_usable:
        why = "; ".join(m.text for m in report.messages) or ", ".join(report.exit_status.meanings)
        problems.append(f"smartctl could not read {disk.path}: {why}")
        return None
    evidence.append(Evidence(" ".join(argv), _smartctl_excerpt(report)))
    return report


def _read_hdparm(ctx: ProbeContext, disk: Disk, evidence: list[Evidence],
                 problems: list[str]) -> tuple[HdparmInfo | None, HdparmUnavailable | None]:
    result = ctx.run(hdparm_argv(disk))
    if result.missing:
        problems.append("hdparm is not installed (apt install hdparm)")
        return None, None
    if result.timed_out:
        problems.append(f"hdparm -I {disk.path} timed out")
        return None, None
    try:
        parsed = parse_hdparm(result.stdout + "\n" + result.stderr)
    except ParseError as exc:
        problems.append(f"hdparm -I {disk.path} printed something unexpected ({exc.message})")
        return None, None
    if isinstance(parsed, HdparmUnavailable):
        if not parsed.not_ata:
            problems.append(f"hdparm -I {disk.path}: {parsed.message}")
        return None, parsed
    evidence.append(Evidence(" ".join(hdparm_argv(disk)), _excerpt(result.stdout, _HDPARM_LINES)))
    return parsed, None


def _read_nvme(ctx: ProbeContext, disk: Disk, evidence: list[Evidence], problems: list[str]) -> NvmeIdCtrl | None:
    result = ctx.run(nvme_argv(disk))
    if result.missing:
        problems.append("nvme-cli is not installed (apt install nvme-cli)")
        return None
    if not result.ok:
        problems.append(f"nvme id-ctrl {disk.path} failed: {result.stderr.strip()[:200]}")
        return None
    try:
        parsed = parse_nvme_id_ctrl(result.stdout)
    except ParseError as exc:
        problems.append(f"nvme id-ctrl {disk.path} printed something unexpected ({exc.message})")
        return None
    evidence.append(Evidence(" ".join(nvme_argv(disk)), _excerpt(result.stdout, ('"mn"', '"fr"', '"oncs"'))))
    return parsed


def _commands_for(disk: Disk) -> list[tuple[str, ...]]:
    """What is asked of every disk first: smartctl (which checks the power mode before anything
    else) and, for NVMe, nvme-cli (NVMe has no spun-down state to disturb)."""
    if disk.virtual:
        return []  # a virtio/xen disk has no SMART or IDENTIFY data to give
    commands = [smartctl_argv(disk)]
    if disk.transport == "nvme":
        commands.append(nvme_argv(disk))
    return commands


def _smartctl_stopped(result: CommandResult) -> bool:
    """smartctl ran and set exit bit 1 (asleep, or the device did not open); a missing smartctl
    (127) or a timeout stopped nothing."""
    return not result.missing and not result.timed_out and result.exit_code > 0 and bool(result.exit_code & 2)


def disk_identities(ctx: ProbeContext, disks: tuple[Disk, ...]) -> dict[str, DiskIdentity]:
    """Every disk's identity, the commands for all of them run at once: smartctl first, then
    hdparm only where smartctl did not stop (exit bit 1: asleep, or could not open), so that
    hdparm's IDENTIFY never reaches a disk that smartctl left asleep."""
    ctx.prefetch(argv for disk in disks for argv in _commands_for(disk))
    ctx.prefetch(hdparm_argv(disk) for disk in disks if not disk.virtual and is_ata(disk)
                 and not _smartctl_stopped(ctx.run(smartctl_argv(disk))))
    return {disk.name: disk_identity(ctx, disk) for disk in disks}


def disk_identity(ctx: ProbeContext, disk: Disk) -> DiskIdentity:
    return ctx.once(("identity", disk.name), lambda: _identify(ctx, disk))


def _identify(ctx: ProbeContext, disk: Disk) -> DiskIdentity:
    evidence: list[Evidence] = []
    problems: list[str] = []
    if disk.virtual:
        return DiskIdentity(disk, None, None, None, None, (), ())
    smartctl = _read_smartctl(ctx, disk, evidence, problems)
    if smartctl is not None and smartctl.asleep:
        # hdparm -I would send IDENTIFY, which some disks answer only after spinning up.
        return DiskIdentity(disk, None, None, None, None, tuple(evidence), tuple(problems), smartctl.power_mode)
    hdparm, unavailable = _read_hdparm(ctx, disk, evidence, problems) if is_ata(disk) else (None, None)
    nvme = _read_nvme(ctx, disk, evidence, problems) if disk.transport == "nvme" else None
    return DiskIdentity(disk, smartctl, hdparm, unavailable, nvme, tuple(evidence), tuple(problems))


@dataclass(frozen=True)
class AtaPlace:
    """Where a SATA disk hangs: its libata port (ata3), link (link3) and controller (PCI)."""

    port: str
    link: str
    controller_pci: str | None
    #: The controller's sysfs directory (its ``driver`` link names the driver bound to it).
    controller_dir: str | None


def ata_place(ctx: ProbeContext, disk: Disk) -> AtaPlace | None:
    """From the disk's real sysfs path, e.g. /sys/devices/pci0000:00/0000:00:17.0/ata3/host2/...:
    the ataN piece names the port, the PCI address before it the controller."""
    real = PurePosixPath(ctx.realpath(f"/sys/block/{disk.name}"))
    parts = real.parts
    for index, part in enumerate(parts):
        match = _ATA_PORT.match(part)
        if match:
            at = next((i for i in range(index - 1, -1, -1) if _PCI_ADDRESS.match(parts[i])), None)
            pci = parts[at] if at is not None else None
            folder = str(PurePosixPath(*parts[: at + 1])) if at is not None else None
            return AtaPlace(port=part, link=f"link{match.group(1)}", controller_pci=pci, controller_dir=folder)
    return None


def controller_driver(ctx: ProbeContext, place: AtaPlace) -> str | None:
    """The kernel driver bound to the disk's controller (ahci, ata_piix, pata_jmicron, ...)."""
    if place.controller_dir is None:
        return None
    target = ctx.readlink(f"{place.controller_dir}/driver")
    return PurePosixPath(target).name if target else None
