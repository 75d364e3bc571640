"""A profile's paths, resolved inside its ``root/`` and nowhere else: links are followed by hand,
anchored at the root, loops refused; the OS is never handed a link to follow; only regular
files are opened."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from ssdwizard.system.base import MAX_LINK_HOPS, ProfileError, ProfileEscape, SymlinkLoop, follow_links


_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a folder", stat.S_IFLNK: "a symbolic link"}


def file_kind(mode: int) -> str:
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def open_profile_file(host: str | Path) -> int:
    """Open a file of a profile for reading: never through a link at the end (``O_NOFOLLOW``:
    a profile's links are followed by :func:`follow_links`, anchored at its root, never by the
    OS), never waiting (``O_NONBLOCK``: a FIFO would wait for a writer forever), and only a
    regular file (a device such as /dev/zero never ends). A folder raises IsADirectoryError and
    a missing file OSError, as open() would; a link or a special file is refused."""
    try:
        fd = os.open(host, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ProfileEscape(f"{host} is a symbolic link that the profile's links do not explain: refused "
                                "(a profile's files are read inside its own directory only)") from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(host))
        if not stat.S_ISREG(mode):
            raise ProfileError(f"{host} is {file_kind(mode)}: a profile holds only files, folders and links")
    except BaseException:
        os.close(fd)
        raise
    return fd



def resolve_in_root(root: Path, path: str, links: Mapping[str, str] | None = None) -> Path:
    """Map a machine path to the file under a profile's ``root/``, following the profile's links
    (its ``[[link]]`` table, or symlinks stored in ``root/``) as the machine would, but anchored
    at ``root`` so that no link (absolute or full of ``..``) can lead outside the profile.

    Links that loop raise :class:`ProfileEscape`, and so does a host path on which the OS would
    still meet a link (``root`` itself a link, a link put there meanwhile): the result never
    hands a link to whoever opens it. ``root``'s parent is the directory the admin named and
    may itself be reached through links."""
    table = links or {}
    prefix = str(root)

    def readlink(machine_path: str) -> str | None:
        if machine_path in table:
            return table[machine_path]
        try:  # one syscall, no pathlib: this runs for every component of every path
            return os.readlink(prefix + machine_path)
        except (OSError, ValueError):  # not a link (EINVAL), missing; a NUL in the name
            return None

    try:
        resolved = follow_links(path, readlink)
    except SymlinkLoop as exc:
        raise ProfileEscape(f"{root}: the links on the way to {path} loop (more than {MAX_LINK_HOPS} links, "
                            f"at {exc.link}): refused") from None
    host = root / resolved.lstrip("/")
    refuse_links_on_the_way(root, host)
    return host


def refuse_links_on_the_way(root: Path, host: Path) -> None:
    """Raise :class:`ProfileEscape` when the OS, opening ``host`` (a path ``root/…``), would
    follow a symbolic link anywhere from ``root`` down (``root`` included): that is where a
    profile's own links would hand it a file of this host. Above ``root`` is the directory the
    admin named, which may well be reached through links.

    One lstat per component below ``root``, up to the first that does not exist (nothing
    further can be followed): this runs at every read of a profile's file."""
    path = str(root)
    for name in ("", *str(host)[len(path):].split("/")[1:]):
        path = f"{path}/{name}" if name else path
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            return
        if stat.S_ISLNK(mode):
            raise ProfileEscape(f"{path} is a symbolic link (to {os.readlink(path)!r}) that the OS would follow "
                                f"out of the profile's {root.name}/: refused")
