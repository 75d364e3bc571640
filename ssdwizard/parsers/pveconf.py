"""Proxmox VE's VM configs (``/etc/pve/qemu-server/VMID.conf``) and ``/etc/pve/storage.cfg``.

The ceph step counts the virtual disks whose I/O goes through librbd and reads each disk's QEMU
``cache=`` mode, because that mode, not ceph.conf, decides whether the rbd cache is on for the
disk (QEMU sets ``rbd_cache`` from it; Proxmox's default, no ``cache=``, is ``none``: cache off).
Which storages are Ceph RBD, and which of those use the kernel client (``krbd 1``, no librbd, no
rbd cache), comes from storage.cfg. Nothing here is edited, so these parsers keep line numbers for
evidence but do not round-trip.

The rules follow Proxmox's own readers:

* VM config: ``PVE::QemuServer::parse_vm_config`` (qemu-server). Lines are split on ``\\n``;
  blank lines are skipped; ``[PENDING]``, ``[special:NAME]`` and ``[snapname]`` start sections,
  and only the lines before the first of them are the current config; ``#`` lines are the
  description; other lines are ``key: value`` with ``^([a-z][a-z_-]*\\d*):\\s*(.+?)\\s*$``.
  ``cdrom`` is an old alias of ``ide2``.
* A drive is a property string (``PVE::JSONSchema::parse_property_string`` with default key
  ``file``): comma-separated ``key=value`` parts and one bare part, the volume. A volume is
  ``STORAGE:VOLNAME`` (``PVE::Storage::parse_volume_id``), an absolute path, ``none`` (an empty
  CD-ROM drive) or ``cdrom`` (the host's drive).
* storage.cfg: ``PVE::SectionConfig::parse_config`` with the storage plugin's header. A header
  ``TYPE: ID`` starts at column 0 (type lower-cased); indented ``key [value]`` lines follow until
  an empty line; ``#`` lines are skipped anywhere. A header not preceded by an empty line is not
  a header to Proxmox: it is ignored and the lines under it stay with the previous storage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from ssdwizard.parsers import ParseError

__all__ = [
    "Drive",
    "Snapshot",
    "Storage",
    "StorageConfig",
    "VmConfig",
    "is_drive_key",
    "parse_drive",
    "parse_storage_cfg",
    "parse_vm_config",
]

_VM_SOURCE = "qemu-server config"
_STORAGE_SOURCE = "storage.cfg"

_KEY_LINE = re.compile(r"^([a-z][a-z_\-]*\d*):\s*(.+?)\s*$")
_PENDING = re.compile(r"^\[PENDING\]\s*$", re.IGNORECASE)
_SPECIAL = re.compile(r"^\[special:([^\]]+)\]\s*$", re.IGNORECASE)
_SNAPSHOT = re.compile(r"^\[([a-z][a-z0-9_\-]+)\]\s*$", re.IGNORECASE)
# Disk slots qemu-server knows (ide0-3, sata0-5, scsi0-30, virtio0-15) plus the EFI vars and
# TPM state volumes, which live on a storage like any disk. unusedN are detached volumes.
_DRIVE_KEY = re.compile(r"^(?:ide[0-3]|sata[0-5]|scsi(?:[12]?[0-9]|30)|virtio(?:1[0-5]|[0-9])|efidisk0|tpmstate0)$")
_STORAGE_ID = re.compile(r"^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$", re.IGNORECASE)


def is_drive_key(key: str) -> bool:
    """Whether a VM config key holds a disk (``scsi0``, ``virtio3``, ``efidisk0``...)."""
    return bool(_DRIVE_KEY.match(key))



def _option(options: tuple[tuple[str, str], ...], name: str) -> str | None:
    """The value of ``name`` among ``key=value`` pairs kept in file order (the first wins)."""
    return next((value for key, value in options if key == name), None)

@dataclass(frozen=True)
class Drive:
    """One disk entry of a VM: ``scsi0: ceph-vm:vm-100-disk-0,cache=writeback,size=32G``.

    ``storage`` is the storage id (``None`` for a path, ``none`` or ``cdrom``); ``volume`` the rest
    of the volume id; ``options`` the ``key=value`` parts in their order.
    """

    key: str
    line: int
    storage: str | None
    volume: str
    options: tuple[tuple[str, str], ...]

    def option(self, name: str) -> str | None:
        return _option(self.options, name)

    @property
    def volume_id(self) -> str:
        """``STORAGE:VOLNAME`` as written, or the path / ``none`` / ``cdrom``."""
        return f"{self.storage}:{self.volume}" if self.storage else self.volume

    @property
    def is_cdrom(self) -> bool:
        return self.option("media") == "cdrom"

    @property
    def has_medium(self) -> bool:
        """False for ``none`` (an empty drive)."""
        return self.volume_id != "none"

    @property
    def cache(self) -> str | None:
        """The QEMU cache mode as written; ``None`` means Proxmox's default, ``none``."""
        return self.option("cache")


@dataclass(frozen=True)
class Snapshot:
    """A ``[snapname]`` section: a frozen copy of the config, not disks the VM uses now."""

    name: str
    line: int
    options: tuple[tuple[str, str], ...]

    @property
    def snaptime(self) -> int | None:
        value = dict(self.options).get("snaptime")
        return int(value) if value is not None and value.isdigit() else None


@dataclass(frozen=True)
class VmConfig:
    """The current config of one VM (the part before the first section header).

    ``options`` holds every current ``key: value`` (drives included) in file order, with the
    line number; ``drives`` the disk slots parsed; ``unused`` the ``unusedN`` volumes (detached,
    not attached to the VM). ``pending`` is true when a ``[PENDING]`` section waits for a restart.
    ``problems`` are (line, message) pairs for lines Proxmox would warn about.
    """

    vmid: int | None
    options: tuple[tuple[str, str, int], ...]
    drives: tuple[Drive, ...]
    unused: tuple[tuple[str, str], ...]
    description: str | None
    snapshots: tuple[Snapshot, ...]
    pending: bool
    problems: tuple[tuple[int, str], ...]

    @property
    def values(self) -> Mapping[str, str]:
        return {key: value for key, value, _ in self.options}

    @property
    def name(self) -> str | None:
        return self.values.get("name")

    @property
    def disks(self) -> tuple[Drive, ...]:
        """Drives that hold a disk image now: CD-ROM drives and empty drives left out."""
        return tuple(d for d in self.drives if not d.is_cdrom and d.has_medium)


def parse_drive(key: str, value: str, line: int = 0) -> Drive:
    """Parse a drive property string; :class:`ParseError` when Proxmox could not read it either."""
    volume: str | None = None
    options: list[tuple[str, str]] = []
    for part in value.split(","):
        match = re.match(r"^([^=]+)=(.+)$", part, re.DOTALL)
        if match:
            if match.group(1) == "file":
                if volume is not None:
                    raise ParseError(_VM_SOURCE, f"line {line}: {key} names its volume twice")
                volume = match.group(2)
            else:
                options.append((match.group(1), match.group(2)))
        elif "=" not in part:
            if volume is not None:
                raise ParseError(_VM_SOURCE, f"line {line}: {key} has two bare values: {value!r}")
            volume = part
        else:
            raise ParseError(_VM_SOURCE, f"line {line}: {key}: missing value in {part!r}")
    if not volume:
        raise ParseError(_VM_SOURCE, f"line {line}: {key} has no volume: {value!r}")
    storage = None
    match = _STORAGE_ID.match(volume)
    if match and not volume.startswith("/"):
        storage, volume = match.group(1), match.group(2)
    return Drive(key, line, storage, volume, tuple(options))


def _vmid_from(filename: str | None) -> int | None:
    if not filename:
        return None
    match = re.search(r"(\d+)\.conf$", filename)
    return int(match.group(1)) if match else None


def parse_vm_config(text: str, filename: str | None = None) -> VmConfig:
    """Parse a qemu-server config. Never fails on content: bad lines become ``problems``.

    ``filename`` (``/etc/pve/qemu-server/101.conf``) gives the VMID, as it does for Proxmox.
    """
    options: list[tuple[str, str, int]] = []
    drives: list[Drive] = []
    unused: list[tuple[str, str]] = []
    problems: list[tuple[int, str]] = []
    description: list[str] = []
    snapshots: list[Snapshot] = []
    snapshot: tuple[str, int, list[tuple[str, str]]] | None = None
    in_current = True
    pending = False

    def close_snapshot() -> None:
        if snapshot is not None:
            snapshots.append(Snapshot(snapshot[0], snapshot[1], tuple(snapshot[2])))

    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        header = _PENDING.match(line) or _SPECIAL.match(line) or _SNAPSHOT.match(line)
        if header:
            close_snapshot()
            snapshot = None
            in_current = False
            if _PENDING.match(line):
                pending = True
            elif not _SPECIAL.match(line):
                snapshot = (header.group(1), number, [])
            continue
        if line.startswith("#"):
            if in_current:
                description.append(line[1:].rstrip("\r"))
            continue
        match = _KEY_LINE.match(line)
        if not match:
            problems.append((number, f"unable to parse config line: {line.strip()!r}"))
            continue
        key, value = match.group(1), match.group(2)
        if snapshot is not None:
            snapshot[2].append((key, value))
        if not in_current:
            continue
        key = "ide2" if key == "cdrom" else key
        options.append((key, value, number))
        if is_drive_key(key):
            try:
                drives.append(parse_drive(key, value, number))
            except ParseError as error:
                problems.append((number, error.message))
        elif re.fullmatch(r"unused\d+", key):
            unused.append((key, value))
    close_snapshot()
    return VmConfig(
        vmid=_vmid_from(filename),
        options=tuple(options),
        drives=tuple(drives),
        unused=tuple(unused),
        description="\n".join(description) if description else None,
        snapshots=tuple(snapshots),
        pending=pending,
        problems=tuple(problems),
    )


# --------------------------------------------------------------------------- storage.cfg

_TRUE = re.compile(r"^(?:1|on|yes|true)$", re.IGNORECASE)
_FALSE = re.compile(r"^(?:0|off|no|false)$", re.IGNORECASE)


@dataclass(frozen=True)
class Storage:
    """One storage definition. ``options`` keep file order; a bare flag (``disable``) reads ``1``,
    as Proxmox decodes a boolean written without a value."""

    type: str
    storage_id: str
    line: int
    options: tuple[tuple[str, str], ...]

    def option(self, name: str) -> str | None:
        return _option(self.options, name)

    def _flag(self, name: str) -> bool | None:
        value = self.option(name)
        if value is None:
            return None
        if _TRUE.match(value):
            return True
        if _FALSE.match(value):
            return False
        return None

    @property
    def pool(self) -> str | None:
        """The Ceph pool; Proxmox's rbd plugin uses ``rbd`` when none is given."""
        value = self.option("pool")
        return value if value is not None or self.type != "rbd" else "rbd"

    @property
    def krbd(self) -> bool:
        """True when VMs use the kernel RBD client (no librbd, so no rbd cache)."""
        return bool(self._flag("krbd"))

    @property
    def disabled(self) -> bool:
        return bool(self._flag("disable"))

    @property
    def content(self) -> tuple[str, ...]:
        value = self.option("content")
        return tuple(part for part in value.split(",") if part) if value else ()

    @property
    def monhost(self) -> str | None:
        """Monitors of an external cluster; ``None`` means the node's own (hyper-converged) Ceph."""
        return self.option("monhost")

    @property
    def username(self) -> str | None:
        """Ceph user without ``client.``; Proxmox uses ``admin`` when none is given."""
        return self.option("username")

    @property
    def uses_librbd(self) -> bool:
        """VM disks on this storage go through librbd (and so through the rbd cache)."""
        return self.type == "rbd" and not self.krbd


@dataclass(frozen=True)
class StorageConfig:
    storages: tuple[Storage, ...]
    problems: tuple[tuple[int, str], ...]

    def get(self, storage_id: str) -> Storage | None:
        for storage in self.storages:
            if storage.storage_id == storage_id:
                return storage
        return None


_HEADER = re.compile(r"^(\S+):\s*(\S+)\s*$")
_PROPERTY = re.compile(r"^\s+(\S+)(?:\s+(.*\S))?\s*$")


def parse_storage_cfg(text: str) -> StorageConfig:
    """Parse /etc/pve/storage.cfg. Never fails on content: Proxmox skips what it cannot read,
    and so does this, noting each such line in ``problems``."""
    storages: list[Storage] = []
    problems: list[tuple[int, str]] = []
    current: tuple[str, str, int, list[tuple[str, str]], bool] | None = None

    def close() -> None:
        if current is not None and not current[4]:
            storages.append(Storage(current[0], current[1], current[2], tuple(current[3])))

    for number, line in enumerate(text.split("\n"), start=1):
        if re.match(r"^\s*#", line):
            continue  # comments never end a section
        # Perl's false strings end a section: the empty line, and (faithfully) a line "0".
        if line in ("", "0"):
            close()
            current = None
            continue
        if current is None:
            match = _HEADER.match(line)
            if not match:
                problems.append((number, f"ignored line outside a storage section: {line.strip()!r}"))
                continue
            storage_type, storage_id = match.group(1).lower(), match.group(2)
            valid = bool(_STORAGE_ID.match(storage_id + ":x"))
            if not valid:
                problems.append((number, f"storage id {storage_id!r} is not valid; Proxmox skips the section"))
            current = (storage_type, storage_id, number, [], not valid)
            continue
        match = _PROPERTY.match(line)
        if not match:
            problems.append((number, f"ignored line in section {current[1]!r}: {line.strip()!r}"))
            continue
        key, value = match.group(1), match.group(2)
        if any(existing == key for existing, _ in current[3]):
            problems.append((number, f"duplicate attribute {key!r} in section {current[1]!r}; the first one counts"))
            continue
        current[3].append((key, "1" if value is None else value))
    close()
    return StorageConfig(tuple(storages), tuple(problems))
