"""The Linux block stack over sysfs: what sits on a disk, and what a device sits on.

A filesystem is rarely on the disk itself: it is on a partition, on an LVM volume in a
partition, on dm-crypt on md RAID. lsblk shows that stack as a tree; without lsblk, and for the
TRIM test (which has no lsblk at hand), sysfs shows it, and this module is the one place that
reads it:

- a partition is a directory inside its disk's (``/sys/block/sda/sda1``) with a ``dev`` file
  (and a ``partition`` file); it has no ``queue/`` of its own: its limits are the disk's;
- what is stacked on a device is in its ``holders/`` (``dm-0``, ``md0``), found again under
  ``/sys/block/NAME``; what a device is stacked on is in its ``slaves/``, found under
  ``/sys/class/block/NAME`` (a link to the real directory, so that a partition's parent
  directory is its disk);
- a device-mapper device has ``dm/name`` (its ``/dev/mapper`` name) and ``dm/uuid``, whose
  prefix says who made it (``CRYPT-``, ``LVM-``, ``mpath-``; lsblk's TYPE column is that prefix
  in lower case); md RAID has ``md/level``; a loop device ``loop/backing_file``.

Kinds are lsblk's TYPE words (``disk``, ``part``, ``crypt``, ``lvm``, ``mpath``, ``dm``,
``raid1``, ``md``, ``loop``), so a layer read here and one read from lsblk's JSON mean the same;
:func:`kind_word` turns them into what an admin calls them.

Everything reads through a :class:`SysfsReader`: a probe's cached ``ProbeContext`` and a bare
``System`` (the TRIM test) both are one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Protocol

from ssdwizard.parsers import ParseError
from ssdwizard.parsers.sysfs import parse_int

SYS_BLOCK = "/sys/block"
SYS_CLASS_BLOCK = "/sys/class/block"
# Real stacks are a few layers deep (partition, dm-crypt, LVM, maybe md); a profile from a bug
# report may hold a loop of holders/slaves links, which a walk must not follow forever.
MAX_DEPTH = 16

# dm/uuid's prefix names the subsystem that made the mapping (CRYPT-, LVM-, mpath-, and partN-
# for kpartx's partitions of a multipath device); lsblk's TYPE is that prefix in lower case.
_DM_PARTITION = re.compile(r"part\d+")
_KIND_WORDS = {"part": "partition", "crypt": "dm-crypt", "lvm": "LVM", "dm": "device-mapper",
               "mpath": "multipath", "md": "md RAID"}
# device-mapper names an LV VG-LV, doubling a dash inside either name.
_DM_SPLIT = re.compile(r"(?<!-)-(?!-)")
_MD_NAME = re.compile(r"md\d+")


class SysfsReader(Protocol):
    """What the walk asks of the machine: ``ProbeContext`` and ``System`` both answer it."""

    def read_text(self, path: str) -> str | None: ...

    def listdir(self, path: str) -> list[str]: ...

    def realpath(self, path: str) -> str: ...


@dataclass(frozen=True)
class Layer:
    """One block device in a stack, as sysfs describes it.

    ``label`` is the name an admin sees (the ``/dev/mapper`` name of a dm device, else the
    kernel name); ``kind`` is lsblk's TYPE word; ``discard_max_bytes`` is the device's
    ``queue/discard_max_bytes`` (a partition's is its disk's), None where unreadable.
    ``detail`` is free text a caller adds to :attr:`text` (the TRIM test names a loop device's
    backing filesystem there).
    """

    kname: str
    label: str
    kind: str
    discard_max_bytes: int | None
    detail: str = ""
    sysdir: str = ""
    #: ``major:minor`` from the ``dev`` file, as mountinfo names devices.
    devnum: str | None = None
    #: A loop device's ``loop/backing_file``.
    backing_file: str | None = None

    @property
    def word(self) -> str:
        return kind_word(self.kind)

    @property
    def is_device_mapper(self) -> bool:
        return self.kname.startswith("dm-")

    @property
    def path(self) -> str:
        """The node to name it by: ``/dev/mapper/NAME`` for device-mapper (when sysfs told its
        name), else ``/dev/KNAME``."""
        if self.is_device_mapper and self.label != self.kname:
            return f"/dev/mapper/{self.label}"
        return f"/dev/{self.kname}"

    @property
    def paths(self) -> tuple[str, ...]:
        """Every ``/dev`` path udev gives it: the kernel name, the mapper name, and for an LVM
        volume ``/dev/VG/LV``. A mapping whose uuid says it is not LVM's gets no VG/LV path."""
        found = [f"/dev/{self.kname}", self.path]
        if self.kind in ("lvm", "dm") and self.label != self.kname:
            names = vg_lv(self.label)
            if names:
                found.append(f"/dev/{names[0]}/{names[1]}")
        return tuple(dict.fromkeys(found))

    @property
    def text(self) -> str:
        name = self.kname if self.label == self.kname else f"{self.label} ({self.kname})"
        return f"{self.word} {name}" + (f", {self.detail}" if self.detail else "")


@dataclass(frozen=True)
class Node:
    """A layer and what is stacked on it (partitions, holders): a tree grown up from a disk."""

    layer: Layer
    above: tuple[Node, ...] = ()

    def walk(self) -> Iterator[Layer]:
        """This layer, then everything above it, depth first."""
        yield self.layer
        for node in self.above:
            yield from node.walk()


def kind_word(kind: str) -> str:
    """lsblk's TYPE as an admin says it: ``crypt`` → dm-crypt, ``raid1`` → md RAID1."""
    if kind.startswith("raid"):
        return f"md {kind.upper()}"
    return _KIND_WORDS.get(kind, kind)


def vg_lv(dm_name: str) -> tuple[str, str] | None:
    """``pve-root`` -> (pve, root); device-mapper doubles a dash inside a VG or LV name
    (``ceph--0f6d-osd--block`` is VG ``ceph-0f6d``, LV ``osd-block``)."""
    parts = _DM_SPLIT.split(dm_name, maxsplit=1)
    if len(parts) != 2 or not all(parts):
        return None
    return parts[0].replace("--", "-"), parts[1].replace("--", "-")


def _value(sysfs: SysfsReader, path: str) -> str | None:
    text = sysfs.read_text(path)
    return None if text is None else text.strip()


def _number(sysfs: SysfsReader, path: str) -> int | None:
    text = sysfs.read_text(path)
    if text is None:
        return None
    try:
        return parse_int(text, path)
    except ParseError:
        return None


def _is_partition(sysfs: SysfsReader, sysdir: str) -> bool:
    return sysfs.read_text(f"{sysdir}/partition") is not None


def queue_dir(sysfs: SysfsReader, sysdir: str) -> str:
    """Where the device's block-layer limits are: a partition has no queue of its own, its
    limits are its disk's (the real directory it sits in, not ``/sys/class/block``)."""
    return _queue(sysfs, sysdir, _is_partition(sysfs, sysdir))


def _queue(sysfs: SysfsReader, sysdir: str, partition: bool) -> str:
    return f"{PurePosixPath(sysfs.realpath(sysdir)).parent!s}/queue" if partition else f"{sysdir}/queue"


def read_layer(sysfs: SysfsReader, sysdir: str, partition: bool | None = None) -> Layer:
    """The device at ``sysdir``. ``partition`` says it is one without asking sysfs (a walk down
    from a disk knows: its disk's directory holds it)."""
    kname = PurePosixPath(sysdir).name
    if partition is None:
        partition = _is_partition(sysfs, sysdir)
    discard = _number(sysfs, f"{_queue(sysfs, sysdir, partition)}/discard_max_bytes")
    devnum = _value(sysfs, f"{sysdir}/dev")
    label, kind, backing = (kname, "part", None) if partition else _identity(sysfs, sysdir, kname)
    return Layer(kname, label, kind, discard, sysdir=sysdir, devnum=devnum, backing_file=backing)


def _identity(sysfs: SysfsReader, sysdir: str, kname: str) -> tuple[str, str, str | None]:
    """A whole device's label, kind and loop backing file, asking sysfs only what decides."""
    dm_name = _value(sysfs, f"{sysdir}/dm/name")
    if dm_name or kname.startswith("dm-"):
        uuid = _value(sysfs, f"{sysdir}/dm/uuid") or ""
        return dm_name or kname, _dm_kind(uuid), None
    level = _value(sysfs, f"{sysdir}/md/level")
    if level or _MD_NAME.fullmatch(kname):
        # lsblk's TYPE for md is its level when that is a RAID level (raid1), else "md".
        return kname, level if level and level.startswith("raid") else "md", None
    backing = _value(sysfs, f"{sysdir}/loop/backing_file")
    return (kname, "loop", backing) if backing else (kname, "disk", None)


def _dm_kind(uuid: str) -> str:
    """lsblk's TYPE of a device-mapper device: ``CRYPT-LUKS2-…`` → crypt, ``LVM-…`` → lvm,
    ``part1-mpath-…`` → part; no uuid → dm."""
    prefix = uuid.split("-", 1)[0].lower()
    if not prefix:
        return "dm"
    return "part" if _DM_PARTITION.fullmatch(prefix) else prefix


def walk_down(sysfs: SysfsReader, disk: str) -> Node:
    """``/sys/block/DISK`` and everything stacked on it: its partitions, then (for each layer)
    its ``holders/``, recursively. A device reached twice (an LV spanning two partitions of
    the disk) is in the tree once, under the first; a loop of holder links stops there too."""
    base = f"{SYS_BLOCK}/{disk}"
    seen = {disk}
    partitions = []
    for entry in sysfs.listdir(base):
        if entry.startswith(disk) and entry != disk and entry not in seen and _is_partition_dir(sysfs, f"{base}/{entry}"):
            seen.add(entry)
            partitions.append(_grow(sysfs, read_layer(sysfs, f"{base}/{entry}", partition=True), seen, 1))
    root = _grow(sysfs, read_layer(sysfs, base), seen, 0)
    return Node(root.layer, (*partitions, *root.above))


def _is_partition_dir(sysfs: SysfsReader, sysdir: str) -> bool:
    # An entry of a disk's directory named like the disk is a partition when it has a device
    # number or a partition number (a profile may have recorded only one of them).
    return sysfs.read_text(f"{sysdir}/dev") is not None or _is_partition(sysfs, sysdir)


def _grow(sysfs: SysfsReader, layer: Layer, seen: set[str], depth: int) -> Node:
    if depth >= MAX_DEPTH:
        return Node(layer)
    above = []
    for holder in sysfs.listdir(f"{layer.sysdir}/holders"):
        if holder not in seen:
            seen.add(holder)
            above.append(_grow(sysfs, read_layer(sysfs, f"{SYS_BLOCK}/{holder}"), seen, depth + 1))
    return Node(layer, tuple(above))


def walk_up(sysfs: SysfsReader, sysdir: str) -> tuple[tuple[Layer, ...], ...]:
    """Every path from the device at ``sysdir`` down to a disk, top first: a partition leads to
    its disk, a dm or md device to each of its ``slaves/`` (md RAID1 on two disks: two paths)."""
    return _paths_down(sysfs, sysfs.realpath(sysdir), frozenset())


def _paths_down(sysfs: SysfsReader, sysdir: str, above: frozenset[str]) -> tuple[tuple[Layer, ...], ...]:
    top = read_layer(sysfs, sysdir)
    if len(above) >= MAX_DEPTH:
        return ((top,),)
    below = [sysfs.realpath(f"{SYS_CLASS_BLOCK}/{name}") for name in sysfs.listdir(f"{sysdir}/slaves")]
    if not below and top.kind == "part":
        # A kernel partition (no slaves: kpartx's dm partitions have theirs) sits in its disk's directory.
        below = [str(PurePosixPath(sysdir).parent)]
    # A device already on this path is a loop of slaves links (a damaged profile): stop there.
    below = [lower for lower in below if lower != sysdir and lower not in above]
    if not below:
        return ((top,),)
    return tuple((top, *path) for lower in below for path in _paths_down(sysfs, lower, above | {sysdir}))
