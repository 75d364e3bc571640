"""Which block devices and mounts sit on the focus disks: shared by the filesystem and mount steps.

A filesystem on an SSD is rarely on the disk itself: it is on a partition, on an LVM volume in
a partition, on dm-crypt on md RAID. lsblk shows that stack as a tree under each disk; without
lsblk, sysfs shows it (:mod:`ssdwizard.machine.block_stack` reads it).

A mount is tied to a device by ``major:minor`` in mountinfo, except where the kernel gives the
filesystem an anonymous device number (btrfs always does: ``0:39``); there the mount's source
path (``/dev/sdc``) is what ties it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ssdwizard.machine.block_stack import vg_lv, walk_down
from ssdwizard.machine.context import ProbeContext
from ssdwizard.machine.inventory import Disk, focus_disks, probe_inventory
from ssdwizard.model import Evidence, Finding, Status
from ssdwizard.parsers import ParseError
from ssdwizard.parsers import mountinfo as mountinfo_parser
from ssdwizard.parsers.lsblk import BlockDevice
from ssdwizard.parsers.mountinfo import Mount, Mountinfo

MOUNTINFO = "/proc/self/mountinfo"
PROC_SWAPS = "/proc/swaps"
SWAP_MARK = "[SWAP]"  # what lsblk prints as the mount point of an active swap device
_DM_TYPES = frozenset({"lvm", "crypt", "dm", "mpath", "raid0", "raid1", "raid4", "raid5", "raid6", "raid10"})


@dataclass
class StackedDevice:
    """A block device on one or more focus disks (the disk itself, a partition, LVM, dm-crypt, md)."""

    name: str
    path: str
    devnum: str | None
    fstype: str | None
    disks: list[str]
    #: every spelling that names this device in fstab: paths, UUID=, LABEL=, PARTUUID=, PARTLABEL=
    specs: set[str] = field(default_factory=set)
    mountpoints: tuple[str, ...] = ()
    block: BlockDevice | None = None


@dataclass(frozen=True)
class PlacedMount:
    """A mount of a filesystem on a focus disk; ``mount`` is its mountinfo line (None when
    only lsblk knew the mount point)."""

    target: str
    source: str
    fstype: str | None
    device: StackedDevice
    mount: Mount | None

    @property
    def disk(self) -> str:
        # A filesystem on md RAID or a spanning LVM volume sits on several disks.
        return ",".join(self.device.disks)

    @property
    def filesystem_key(self) -> str:
        """Mounts with the same key are the same filesystem (bind mounts, btrfs subvolumes)."""
        return self.device.name

    @property
    def evidence(self) -> Evidence:
        if self.mount is not None:
            return Evidence(f"{MOUNTINFO}:{self.mount.number}", self.mount.text)
        return Evidence("lsblk --json --bytes --output-all",
                        f"{self.device.name}: fstype {self.fstype}, mountpoint {self.target}")


@dataclass(frozen=True)
class Placement:
    disks: tuple[Disk, ...]
    devices: tuple[StackedDevice, ...]
    mounts: tuple[PlacedMount, ...]
    swaps: tuple[StackedDevice, ...]
    mountinfo: Mountinfo | None
    notes: tuple[Finding, ...]

    def device_for_spec(self, spec: str) -> StackedDevice | None:
        return next((d for d in self.devices if spec in d.specs), None)


def probe_placement(ctx: ProbeContext) -> Placement:
    """The focus disks' stacked devices and mounts; computed once per report."""
    return ctx.once(("placement",), lambda: _probe_placement(ctx))


def read_mountinfo(ctx: ProbeContext) -> tuple[Mountinfo | None, Finding | None]:
    text = ctx.read_text(MOUNTINFO)
    if text is None:
        return None, Finding(Status.WARN, MOUNTINFO, f"{MOUNTINFO} is missing or unreadable: the live mounts are unknown.",
                             "Run the wizard on the machine itself (not in a restricted container), as root.",
                             (Evidence(MOUNTINFO, "(not readable)"),))
    try:
        return mountinfo_parser.parse(text), None
    except ParseError as exc:
        return None, Finding(Status.WARN, MOUNTINFO, f"{MOUNTINFO} is not in the kernel's format ({exc.message}).",
                             "A recorded profile may be damaged; re-record it.", (Evidence(MOUNTINFO, text[:200]),))


def lsblk_specs(device: BlockDevice) -> set[str]:
    raw = device.raw
    specs = {f"/dev/{device.name}"}
    for column in ("path", "kname"):
        value = raw.get(column)
        if isinstance(value, str) and value:
            specs.add(value if value.startswith("/") else f"/dev/{value}")
    if device.type in _DM_TYPES or str(raw.get("kname") or "").startswith("dm-"):
        specs.add(f"/dev/mapper/{device.name}")
        names = vg_lv(device.name)
        if names:
            specs.add(f"/dev/{names[0]}/{names[1]}")
    for column, tag, link in (("uuid", "UUID", "by-uuid"), ("label", "LABEL", "by-label"),
                              ("partuuid", "PARTUUID", "by-partuuid"), ("partlabel", "PARTLABEL", "by-partlabel")):
        value = raw.get(column)
        if isinstance(value, str) and value:
            specs.add(f"{tag}={value}")
            specs.add(f"/dev/disk/{link}/{value}")
    return specs


def _devices_from_lsblk(disk: Disk, found: dict[str, StackedDevice]) -> None:
    assert disk.block is not None
    for device in disk.block.walk():
        if device.name in found:
            if disk.name not in found[device.name].disks:
                found[device.name].disks.append(disk.name)
            continue
        devnum = device.raw.get("maj:min")
        found[device.name] = StackedDevice(
            name=device.name, path=device.path or f"/dev/{device.name}",
            devnum=devnum if isinstance(devnum, str) else None, fstype=device.fstype, disks=[disk.name],
            specs=lsblk_specs(device), mountpoints=device.mountpoints, block=device)


def _devices_from_sysfs(ctx: ProbeContext, disk: Disk, found: dict[str, StackedDevice]) -> None:
    for layer in walk_down(ctx, disk.name).walk():
        if layer.kname in found:
            if disk.name not in found[layer.kname].disks:
                found[layer.kname].disks.append(disk.name)
            continue
        found[layer.kname] = StackedDevice(name=layer.label, path=layer.path, devnum=layer.devnum, fstype=None,
                                           disks=[disk.name], specs=set(layer.paths))


def _sysfs_swaps(ctx: ProbeContext, devices: list[StackedDevice]) -> list[StackedDevice]:
    text = ctx.read_text(PROC_SWAPS) or ""
    active = {line.split()[0] for line in text.splitlines()[1:] if line.split()}
    return [d for d in devices if d.specs & active]


def _stacked_devices(ctx: ProbeContext, disks: tuple[Disk, ...]) -> list[StackedDevice]:
    found: dict[str, StackedDevice] = {}
    for disk in disks:
        if disk.block is not None:
            _devices_from_lsblk(disk, found)
        else:
            _devices_from_sysfs(ctx, disk, found)
    return list(found.values())


def probe_all_devices(ctx: ProbeContext) -> tuple[StackedDevice, ...]:
    """The stacked devices of every disk of the inventory, focus or not, each with all the disks
    it sits on (an md array over a focus SSD and an HDD names both); computed once per report.
    What a line of fstab on another disk is on, where :func:`probe_placement` sees the focus only."""
    return ctx.once(("placement", "all"), lambda: tuple(_stacked_devices(ctx, probe_inventory(ctx).disks)))


def mount_device_finder(devices: Sequence[StackedDevice]) -> Callable[[Mount], StackedDevice | None]:
    """What finds the device under a live mount: by ``major:minor`` (one lookup table for all
    mounts: a cluster node has hundreds), else (btrfs's anonymous numbers) by its source."""
    by_devnum = {d.devnum: d for d in devices if d.devnum}

    def find(mount: Mount) -> StackedDevice | None:
        return by_devnum.get(mount.device) or next((d for d in devices if mount.source in d.specs), None)

    return find


def _probe_placement(ctx: ProbeContext) -> Placement:
    disks = focus_disks(ctx)
    devices = _stacked_devices(ctx, disks)
    notes: list[Finding] = []
    table: Mountinfo | None = None
    if disks:
        table, problem = read_mountinfo(ctx)
        if problem:
            notes.append(problem)
    mounts: list[PlacedMount] = []
    if table is not None:
        device_of = mount_device_finder(devices)
        for mount in table.mounts:
            device = device_of(mount)
            if device is not None:
                mounts.append(PlacedMount(mount.mount_point, mount.source, mount.fstype, device, mount))
    else:
        # No mountinfo: lsblk's MOUNTPOINTS column still says where (not with which options).
        for device in devices:
            for point in device.mountpoints:
                if point != SWAP_MARK:
                    mounts.append(PlacedMount(point, device.path, device.fstype, device, None))
    if any(d.block is not None for d in devices):
        swaps = [d for d in devices if d.fstype == "swap" and SWAP_MARK in d.mountpoints]
    else:
        swaps = _sysfs_swaps(ctx, devices)
    return Placement(disks, tuple(devices), tuple(mounts), tuple(swaps), table, tuple(notes))
