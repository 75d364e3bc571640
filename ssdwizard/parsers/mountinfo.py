"""/proc/self/mountinfo: what is mounted where, with which options, as the kernel sees it.

fstab says what the admin asked for; mountinfo says what the kernel did. The mount and
filesystem steps need both: ``noatime`` in fstab does nothing until a remount, and a btrfs
on kernel 6.2+ shows ``discard=async`` in its super options though fstab never asked for it.

Each line is written by ``show_mountinfo()`` in the kernel's ``fs/proc_namespace.c``
(proc(5), "/proc/pid/mountinfo")::

    36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
    (1)(2)(3)   (4)   (5)         (6)        (7)     (8) (9)   (10)      (11)

mount id, parent id, major:minor, root, mount point, per-mount options, zero or more optional
fields (``shared:N``, ``master:N``, ``propagate_from:N``, ``unbindable``), a lone ``-``, fstype,
source, super-block options. Fields are separated by exactly one space; the kernel escapes
space, tab, newline and backslash in paths as ``\\040``, ``\\011``, ``\\012`` and ``\\134``.
The source may be empty (two spaces in a row; util-linux keeps a test for that).

Unlike fstab, this file is machine-written, so anything that does not follow the format is a
:class:`ParseError`: it means the profile or the capture is broken, not that an admin typed it.
Each mount keeps its raw line, so ``render(parse(text)) == text``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ssdwizard.parsers import ParseError
from ssdwizard.parsers.fstab import decode

__all__ = ["Mount", "Mountinfo", "find_by_mount_point", "parse", "render"]

SOURCE = "/proc/self/mountinfo"

_ID = re.compile(r"[0-9]+", re.ASCII)
_DEVICE = re.compile(r"([0-9]+):([0-9]+)", re.ASCII)
_TAGGED = re.compile(r"(shared|master|propagate_from):([0-9]+)", re.ASCII)


@dataclass(frozen=True)
class Mount:
    """One line of mountinfo, decoded; ``text`` and ``ending`` keep the line as it was.

    ``options`` are the per-mount options (``rw,noatime``: atime behaviour lives here),
    ``super_options`` the filesystem's own (``discard``, ``commit=600``, ``errors=...``).
    ``optional_fields`` keeps every tag in order, including ones newer kernels may add.
    """

    number: int
    text: str
    ending: str
    mount_id: int
    parent_id: int
    major: int
    minor: int
    root: str
    mount_point: str
    options: tuple[str, ...]
    optional_fields: tuple[str, ...]
    fstype: str
    source: str
    super_options: tuple[str, ...]

    @property
    def raw(self) -> str:
        """The line exactly as read, ending included."""
        return self.text + self.ending

    @property
    def device(self) -> str:
        """``major:minor`` as the kernel prints it, the key to /sys/dev/block/."""
        return f"{self.major}:{self.minor}"

    @property
    def all_options(self) -> tuple[str, ...]:
        """Per-mount options then super options: where to look for ``discard`` or ``commit``."""
        return self.options + self.super_options

    def has_option(self, name: str) -> bool:
        """Whether either option list has ``name`` or ``name=...``."""
        return any(
            option == name or option.startswith(name + "=") for option in self.all_options
        )

    def _tag(self, name: str) -> int | None:
        for field in self.optional_fields:
            match = _TAGGED.fullmatch(field)
            if match and match.group(1) == name:
                return int(match.group(2))
        return None

    @property
    def shared(self) -> int | None:
        """Peer group id of a shared mount (``shared:N``), else ``None``."""
        return self._tag("shared")

    @property
    def master(self) -> int | None:
        """Peer group this slave mount receives from (``master:N``), else ``None``."""
        return self._tag("master")

    @property
    def propagate_from(self) -> int | None:
        """Closest dominant peer group (``propagate_from:N``), else ``None``."""
        return self._tag("propagate_from")

    @property
    def unbindable(self) -> bool:
        """Whether the mount is unbindable."""
        return "unbindable" in self.optional_fields


@dataclass(frozen=True)
class Mountinfo:
    """All mounts in the order the kernel listed them (parents before children)."""

    mounts: tuple[Mount, ...]

    def render(self) -> str:
        """The text as parsed, byte for byte."""
        return "".join(mount.raw for mount in self.mounts)

    def find(self, mount_point: str) -> tuple[Mount, ...]:
        """Mounts at ``mount_point`` (see :func:`find_by_mount_point`)."""
        return find_by_mount_point(self, mount_point)

    def visible(self, mount_point: str) -> Mount | None:
        """The mount a process sees at ``mount_point``: the top of the stack there.

        A mount stacked over another at the same path has the lower one as its parent, so
        the visible one is the mount no other mount at that path sits on.
        """
        found = self.find(mount_point)
        below = {mount.parent_id for mount in found}
        on_top = [mount for mount in found if mount.mount_id not in below]
        candidates = on_top or found
        return candidates[-1] if candidates else None


def _split_options(field: str) -> tuple[str, ...]:
    return tuple(decode(option) for option in field.split(","))


def _number(field: str, what: str, number: int) -> int:
    if not _ID.fullmatch(field):
        raise ParseError(SOURCE, f"line {number}: {what} {field!r} is not a number")
    return int(field)


def _parse_line(number: int, text: str, ending: str) -> Mount:
    if not text:
        raise ParseError(SOURCE, f"line {number} is empty; the kernel never writes one")
    fields = text.split(" ")
    try:
        separator = fields.index("-", 6)
    except ValueError:
        raise ParseError(
            SOURCE,
            f"line {number}: no lone '-' after the sixth field, so this is not a mountinfo line: "
            f"{text[:80]!r}",
        ) from None
    if len(fields) < separator + 4:
        raise ParseError(
            SOURCE,
            f"line {number}: expected fstype, source and super options after '-': {text[:80]!r}",
        )
    device = _DEVICE.fullmatch(fields[2])
    if not device:
        raise ParseError(SOURCE, f"line {number}: {fields[2]!r} is not major:minor")
    for index, what in ((3, "root"), (4, "mount point")):
        if not fields[index]:
            raise ParseError(SOURCE, f"line {number}: the {what} is empty")
    if not fields[5]:
        raise ParseError(SOURCE, f"line {number}: the mount options are empty")
    optional = tuple(fields[6:separator])
    if any(not field for field in optional):
        raise ParseError(SOURCE, f"line {number}: an empty optional field (two spaces)")
    # Old kernels printed some super options (cifs unc=\\srv\share name) without escaping
    # the spaces; it is the last field, so the rest of the line is its value.
    super_options = " ".join(fields[separator + 3 :])
    return Mount(
        number=number,
        text=text,
        ending=ending,
        mount_id=_number(fields[0], "mount id", number),
        parent_id=_number(fields[1], "parent id", number),
        major=int(device.group(1)),
        minor=int(device.group(2)),
        root=decode(fields[3]),
        mount_point=decode(fields[4]),
        options=_split_options(fields[5]),
        optional_fields=optional,
        fstype=decode(fields[separator + 1]),
        source=decode(fields[separator + 2]),
        super_options=_split_options(super_options),
    )


def parse(text: str) -> Mountinfo:
    """Parse the text of /proc/self/mountinfo; raise :class:`ParseError` if it is not that.

    A missing final newline is accepted (recorded profiles and test data often lack it).
    Empty text is an error: every mount namespace has at least its root mount.
    """
    if not text:
        raise ParseError(SOURCE, "empty; a mount namespace always has a root mount")
    pieces = text.split("\n")
    mounts: list[Mount] = []
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        if last and not piece:
            break
        mounts.append(_parse_line(index + 1, piece, "" if last else "\n"))
    return Mountinfo(tuple(mounts))


def render(table: Mountinfo) -> str:
    """The text of a parsed mountinfo; ``render(parse(text)) == text``."""
    return table.render()


def _normalise_path(path: str) -> str:
    stripped = path.rstrip("/")
    return stripped if stripped else path[:1]


def find_by_mount_point(table: Mountinfo, mount_point: str) -> tuple[Mount, ...]:
    """Every mount at ``mount_point``, oldest first; the last is the one in effect.

    Several mounts can stack on one path (a bind mount over a mount); a step that wants the
    options in force takes the last, one that explains the history shows them all.
    """
    wanted = _normalise_path(mount_point)
    return tuple(mount for mount in table.mounts if _normalise_path(mount.mount_point) == wanted)
