"""The disk inventory every step starts from: lsblk, else sysfs; computed once per report.

lsblk knows model, transport, size and rotational in one call; where it is missing or
fails, sysfs knows nearly as much.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache

import humanize

from ssdwizard.data import load_table
from ssdwizard.parsers import ParseError
from ssdwizard.parsers.lsblk import BlockDevice, parse_lsblk_json
from ssdwizard.parsers.sysfs import SchedulerChoice, parse_flag, parse_int, parse_scheduler
from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Evidence, Finding, Status

LSBLK_ARGV = ("lsblk", "--json", "--bytes", "--output-all")
SYS_BLOCK = "/sys/block"

# Not disks: loop/ram/zram are memory or files, dm/md are stacks on top of disks, sr is an
# optical drive, nbd/rbd/drbd are network devices (an RBD image is Ceph's disk, tuned by the
# ceph step), mmcblkNbootN/rpmb are hardware partitions of an eMMC.
_NOT_A_DISK = re.compile(r"^(loop|ram|zram|dm-|md|sr|fd|nbd|rbd|drbd)\d*|^mmcblk\d+(boot\d+|rpmb)$")
_SECTOR = 512  # /sys/block/*/size counts 512-byte units whatever the disk's sector size
_TRANSPORT_BY_NAME = (("nvme", "nvme"), ("vd", "virtio"), ("mmcblk", "mmc"), ("xvd", "xen"))
# Path pieces of /sys/block/NAME's real path, in the order that decides: a USB bridge to a
# SATA disk has both usb and ata in it, and it is the USB that matters.
_TRANSPORT_BY_SYSFS_PATH = (("/usb", "usb"), ("/virtio", "virtio"), ("/nvme/", "nvme"), ("/mmc_host/", "mmc"),
                            ("/end_device-", "sas"), ("/ata", "sata"), ("/xen/", "xen"))
VIRTUAL_TRANSPORTS = frozenset({"virtio", "xen"})
TRANSPORT_LABELS = {"sata": "SATA", "sas": "SAS", "nvme": "NVMe", "usb": "USB", "mmc": "MMC", "ata": "PATA",
                    "virtio": "virtio", "xen": "Xen", "fc": "Fibre Channel", "iscsi": "iSCSI"}


@dataclass(frozen=True)
class Disk:
    """A whole disk as the later steps see it; None where the machine did not say."""

    name: str
    path: str
    model: str | None
    serial: str | None
    firmware: str | None
    size_bytes: int | None
    transport: str | None
    rotational: bool | None
    ssd: bool | None
    trim_supported: bool | None
    scheduler: str | None
    schedulers: tuple[str, ...]
    source: str
    evidence: Evidence
    #: lsblk's entry with everything stacked on the disk (partitions, LVM, dm-crypt); None from sysfs.
    block: BlockDevice | None = None

    @property
    def virtual(self) -> bool:
        return self.transport in VIRTUAL_TRANSPORTS

    @property
    def kind(self) -> str:
        """SSD, HDD, or a word for what is not known."""
        if self.ssd is True:
            return "NVMe SSD" if self.transport == "nvme" else "SSD"
        if self.ssd is False:
            return "HDD"
        return "virtual disk" if self.virtual else "unknown medium"

    @property
    def size_text(self) -> str:
        # Decimal units, as disk vendors label their products ("500 GB").
        return "size unknown" if self.size_bytes is None else humanize.naturalsize(self.size_bytes)


@dataclass(frozen=True)
class Inventory:
    """What the disks probe found; the later steps start from it."""

    disks: tuple[Disk, ...]
    source: str
    notes: tuple[Finding, ...] = field(default=())

    def by_name(self, name: str) -> Disk | None:
        return next((d for d in self.disks if d.name == name), None)


@cache
def _flash_patterns() -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(row["pattern"], re.IGNORECASE) for row in load_table("flash_models")["model"])


def looks_like_flash(model: str | None) -> bool:
    if not model:
        return False
    return any(p.search(model) for p in _flash_patterns())


def _judge_ssd(rotational: bool | None, model: str | None, transport: str | None) -> bool | None:
    """Whether the medium is flash. rotational=0 is trusted; rotational=1 is not trusted on a
    virtual disk (the guest cannot see the host's medium) nor when the model names flash."""
    if rotational is False:
        return True
    if looks_like_flash(model):
        return True
    if transport in VIRTUAL_TRANSPORTS:
        return None
    return False if rotational is True else None


def _transport_from_name(name: str) -> str | None:
    return next((t for prefix, t in _TRANSPORT_BY_NAME if name.startswith(prefix)), None)


def _transport(device: BlockDevice) -> str | None:
    if device.transport:
        return device.transport
    # lsblk leaves TRAN empty for virtio and mmc; its SUBSYSTEMS column still names them.
    subsystems = (device.subsystems or "").split(":")
    for candidate in ("virtio", "mmc", "nvme", "usb", "xen"):
        if candidate in subsystems:
            return candidate
    return _transport_from_name(device.name)


def _sysfs_scheduler(ctx: ProbeContext, name: str) -> SchedulerChoice | None:
    text = ctx.read_text(f"{SYS_BLOCK}/{name}/queue/scheduler")
    if text is None:
        return None
    try:
        return parse_scheduler(text)
    except ParseError:
        return None


def _sysfs_value(ctx: ProbeContext, name: str, relative: str) -> str | None:
    return ctx.read_value(f"{SYS_BLOCK}/{name}/{relative}") or None


def _lsblk_excerpt(device: BlockDevice) -> str:
    """The columns that decided, as lsblk printed them."""
    keys = ("name", "model", "serial", "rev", "tran", "subsystems", "rota", "size", "disc-max")
    return json.dumps({k: device.raw[k] for k in keys if k in device.raw})


def _disk_from_lsblk(ctx: ProbeContext, device: BlockDevice) -> Disk:
    transport = _transport(device)
    choice = _sysfs_scheduler(ctx, device.name)
    # NVMe: lsblk may leave firmware and serial empty; the controller's sysfs has them.
    firmware = device.revision or _sysfs_value(ctx, device.name, "device/firmware_rev")
    serial = device.serial or _sysfs_value(ctx, device.name, "device/serial")
    return Disk(
        name=device.name,
        path=device.path or f"/dev/{device.name}",
        model=device.model,
        serial=serial,
        firmware=firmware,
        size_bytes=device.size_bytes,
        transport=transport,
        rotational=device.rotational,
        ssd=_judge_ssd(device.rotational, device.model, transport),
        trim_supported=None if device.discard_max_bytes is None else device.discard_max_bytes > 0,
        scheduler=choice.current if choice else device.scheduler,
        schedulers=choice.available if choice else (),
        source="lsblk",
        evidence=Evidence(" ".join(LSBLK_ARGV), _lsblk_excerpt(device)),
        block=device,
    )


def _disk_from_sysfs(ctx: ProbeContext, name: str) -> Disk:
    def value(relative: str) -> str | None:
        return _sysfs_value(ctx, name, relative)

    def number(relative: str) -> int | None:
        text = value(relative)
        try:
            return None if text is None else parse_int(text, relative)
        except ParseError:
            return None

    rotational_text = value("queue/rotational")
    try:
        rotational = None if rotational_text is None else parse_flag(rotational_text, "queue/rotational")
    except ParseError:
        rotational = None
    real = ctx.realpath(f"{SYS_BLOCK}/{name}")
    transport = next((t for piece, t in _TRANSPORT_BY_SYSFS_PATH if piece in real), None) or _transport_from_name(name)
    sectors = number("size")
    discard_max = number("queue/discard_max_bytes")
    model = value("device/model")
    choice = _sysfs_scheduler(ctx, name)
    return Disk(
        name=name,
        path=f"/dev/{name}",
        model=model,
        serial=value("device/serial"),
        firmware=value("device/rev") or value("device/firmware_rev"),
        size_bytes=None if sectors is None else sectors * _SECTOR,
        transport=transport,
        rotational=rotational,
        ssd=_judge_ssd(rotational, model, transport),
        trim_supported=None if discard_max is None else discard_max > 0,
        scheduler=choice.current if choice else None,
        schedulers=choice.available if choice else (),
        source="sysfs",
        evidence=Evidence(f"{SYS_BLOCK}/{name}/queue/rotational", f"{rotational_text} ({real})"),
    )


def _inventory_from_sysfs(ctx: ProbeContext, notes: list[Finding]) -> Inventory:
    names = [n for n in ctx.listdir(SYS_BLOCK) if not _NOT_A_DISK.match(n)]
    disks = []
    for name in names:
        disk = _disk_from_sysfs(ctx, name)
        if disk.size_bytes == 0:
            continue  # an empty card-reader slot or a disconnected device
        disks.append(disk)
    return Inventory(tuple(disks), "sysfs", tuple(notes))


def probe_inventory(ctx: ProbeContext) -> Inventory:
    """The disks of this machine, from lsblk, else from sysfs. Computed once per report."""
    return ctx.once(("inventory",), lambda: _probe_inventory(ctx))


def _probe_inventory(ctx: ProbeContext) -> Inventory:
    result = ctx.run(LSBLK_ARGV)
    notes: list[Finding] = []
    if result.missing:
        notes.append(Finding(Status.OK, "lsblk", "lsblk is not installed; the disks were read from sysfs.",
                             "apt install util-linux (lsblk also shows serial numbers and discard limits).",
                             (Evidence(result.command_line, result.stderr.strip()),)))
        return _inventory_from_sysfs(ctx, notes)
    if not result.ok:
        why = "timed out" if result.timed_out else f"exited {result.exit_code}"
        notes.append(Finding(Status.WARN, "lsblk", f"lsblk {why}; the disks were read from sysfs instead.",
                             "Run the lsblk command by hand to see why it fails.",
                             (Evidence(result.command_line, result.stderr.strip()[:400]),)))
        return _inventory_from_sysfs(ctx, notes)
    try:
        devices = parse_lsblk_json(result.stdout)
    except ParseError as exc:
        notes.append(Finding(Status.WARN, "lsblk", f"lsblk printed something unexpected ({exc.message}); "
                             "the disks were read from sysfs instead.", "",
                             (Evidence(result.command_line, result.stdout[:200]),)))
        return _inventory_from_sysfs(ctx, notes)
    disks = tuple(
        _disk_from_lsblk(ctx, d)
        for d in devices
        if d.type == "disk" and not _NOT_A_DISK.match(d.name) and d.size_bytes != 0
    )
    return Inventory(disks, "lsblk", tuple(notes))


def focus_disks(ctx: ProbeContext) -> tuple[Disk, ...]:
    """The disks the later steps tune: those chosen with --disk, else every SSD, and virtual
    disks whose medium the guest cannot know (TRIM and scheduler advice still apply to them)."""
    inventory = probe_inventory(ctx)
    if ctx.chosen_disks is not None:
        return tuple(d for d in inventory.disks if d.name in ctx.chosen_disks)
    return tuple(d for d in inventory.disks if d.ssd is True or (d.ssd is None and d.virtual))


def unknown_chosen_disks(ctx: ProbeContext) -> tuple[str, ...]:
    """Names given with --disk that this machine does not have."""
    if ctx.chosen_disks is None:
        return ()
    known = {d.name for d in probe_inventory(ctx).disks}
    return tuple(n for n in ctx.chosen_disks if n not in known)


