"""The writing side of the door: only the apply layer uses it, and only after a confirmed plan.

Every write here is built so that a SIGKILL at any instruction leaves either the old file or the
new one, never a mix and never an empty file: a temporary file with a name the journal knows,
written with ``os.write``, fsynced with its metadata (mode, owner, xattrs, ACLs), renamed over
the target, the directory fsynced. The journal's own files are private (0600 in 0700
directories) and are never written through a symbolic link (``O_NOFOLLOW``, ``O_EXCL``).

On a replayed profile the same code writes below the profile's ``root/``; commands are not run
but simulated (:mod:`ssdwizard.system.sandbox`), with the same atomic writes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ssdwizard.system.base import CommandResult, System

STATE_DIR = "/var/lib/ssdwizard"
FS_IOC_GETFLAGS = 0x80086601  # linux/fs.h, _IOR('f', 1, long)
FS_IMMUTABLE_FL = 0x00000010
FS_APPEND_FL = 0x00000020
PMXCFS_MAX_FILE_BYTES = 1024 * 1024  # pmxcfs refuses files above 1 MiB
SANDBOX_UNITS = f"{STATE_DIR}/sandbox-units.json"
# The temporary name of a profile stand-in's rewrite: fixed, so that undo finds what a kill left.
SANDBOX_TAG = "sandbox"
# Backups and journal entries: a config file can hold secrets (a ceph key, a password in fstab).
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class FileStat:
    """What a replaced file must keep: mode, owner, extended attributes (SELinux label, POSIX
    ACLs, user attributes) and how many names it has (a hard link would be split)."""

    mode: int
    uid: int
    gid: int
    size: int
    mtime_ns: int
    nlink: int = 1
    xattrs: tuple[tuple[str, bytes], ...] = ()


class LockedError(Exception):
    """Another run holds the apply lock, or the lock cannot be taken safely."""


class ConcurrentEdit(Exception):
    """Someone else changed a file while ssdwizard was replacing it: their text is kept."""


def read_xattrs(target: int | Path) -> tuple[tuple[str, bytes], ...]:
    """Every extended attribute of a file, by descriptor or by path (a link is not followed)."""
    follow = isinstance(target, int)
    try:
        names = os.listxattr(target, follow_symlinks=follow)
    except OSError:
        return ()  # the filesystem has none (ENOTSUP), or the file is gone
    found = []
    for name in sorted(names):
        with contextlib.suppress(OSError):
            found.append((name, os.getxattr(target, name, follow_symlinks=follow)))
    return tuple(found)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_stale(path: Path) -> None:
    """A temporary file a killed run left behind (its name is ours: the journal id is in it)."""
    with contextlib.suppress(FileNotFoundError):
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            os.unlink(path)


def _write_whole(host: Path, temporary: Path, data: bytes, mode: int) -> None:
    """``host`` holds ``data`` whole or not at all: a temporary file (a name only ssdwizard uses,
    a leftover of a killed run removed first) written, given ``mode``, fsynced and renamed over
    it, the directory fsynced."""
    _remove_stale(temporary)
    fd = os.open(temporary, _CREATE_FLAGS, 0o600)
    try:
        write_all(fd, data)
        if mode != 0o600:
            os.fchmod(fd, mode)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, host)
    fsync_dir(host.parent)


def _inode_flags(host: Path) -> int | None:
    """The inode flags (chattr), or None where the filesystem does not have them."""
    import fcntl
    import struct

    try:
        fd = os.open(host, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        raw = fcntl.ioctl(fd, FS_IOC_GETFLAGS, struct.pack("l", 0))
        return struct.unpack("l", raw)[0]
    except OSError:
        return None
    finally:
        os.close(fd)


def temp_name(target: Path, tag: str) -> Path:
    """The temporary file beside ``target``: hidden, and named after the run, so that undo
    finds and removes what a killed run left."""
    return target.parent / f".{target.name}.ssdwizard-{tag}"


class Writer:
    """File, sysfs and command changes on a machine whose files live below ``root`` ("/" on
    this machine, a profile's ``root/`` when replaying one). Machine paths in, host I/O here."""

    def __init__(self, system: System, root: Path, to_host: Callable[[str], Path], simulate_commands: bool,
                 euid: int, state_dir: str = STATE_DIR) -> None:
        self.system = system
        #: Where the undo journal and the lock live (a machine path).
        self.state_dir = state_dir
        self.euid = euid
        self.root = root
        self._to_host = to_host
        self.simulate_commands = simulate_commands

    def host(self, path: str) -> Path:
        """Where a machine path lives on this host (itself, or below the profile's root)."""
        return self._to_host(path)

    def is_root(self) -> bool:
        return self.euid == 0

    def stat(self, path: str) -> FileStat | None:
        host = self.host(path)
        try:
            st = os.stat(host)
        except (OSError, ValueError):
            return None
        return FileStat(st.st_mode & 0o7777, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns, st.st_nlink,
                        read_xattrs(host) if stat.S_ISREG(st.st_mode) else ())

    def read_bytes(self, path: str, limit: int = 64 * 1024 * 1024) -> bytes | None:
        """A file's bytes; None when it is missing, not a regular file, or a link at the end."""
        try:
            fd = os.open(self.host(path), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except (OSError, ValueError):
            return None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            chunks = []
            total = 0
            while total < limit:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
            return b"".join(chunks)
        except OSError:
            return None
        finally:
            os.close(fd)

    def why_not_writable(self, path: str) -> str | None:
        """Why a file cannot be replaced, found before anything is written: a read-only
        filesystem (also pmxcfs without quorum), an immutable or append-only flag, no
        permission on the file's directory, or more names than one (hard links)."""
        host = self.host(path)
        folder = host.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent  # a new file in a new folder: the nearest existing one decides
        try:
            if os.statvfs(folder).f_flag & os.ST_RDONLY:
                return f"{path}: the filesystem is mounted read-only"
        except OSError as exc:
            return f"{path}: {exc.strerror}"
        flags = _inode_flags(host)
        if flags is not None and flags & FS_IMMUTABLE_FL:
            return f"{path}: the file is immutable (chattr +i); remove the flag with chattr -i first"
        if flags is not None and flags & FS_APPEND_FL:
            return f"{path}: the file is append-only (chattr +a)"
        if not os.access(folder, os.W_OK | os.X_OK) or (host.exists() and not os.access(host, os.W_OK)):
            return f"{path}: no permission to write (run as root)"
        like = self.stat(path)
        if like is not None and like.nlink > 1:
            # rename() gives the path a new inode; the other names would keep the old text.
            return (f"{path}: the file has {like.nlink} hard links; replacing it would split them (the other names "
                    "would keep the old text). Make it a single file (or a symlink) first")
        return None

    def why_no_journal(self) -> str | None:
        """Why the undo journal cannot be kept (a read-only /var/lib, no permission, a link
        planted in its place), found before anything is changed and without creating anything."""
        state = self.host(self.state_dir)
        folder = self.host(f"{self.state_dir}/journal")
        while True:
            try:
                st = os.lstat(folder)
            except FileNotFoundError:
                if folder == folder.parent:
                    return f"{self.state_dir}: no existing folder to keep the undo journal in"
                folder = folder.parent
                continue
            except OSError as exc:
                return f"{self.state_dir}: {exc.strerror}"
            break
        if folder == state or state in folder.parents:
            if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
                return f"{folder}: not a plain directory (a symbolic link?): the undo journal is not kept through it"
        try:
            if os.statvfs(folder).f_flag & os.ST_RDONLY:
                return f"{self.state_dir}: the filesystem is mounted read-only: the undo journal cannot be kept"
        except OSError as exc:
            return f"{self.state_dir}: {exc.strerror}"
        if not os.access(folder, os.W_OK | os.X_OK):
            return f"{self.state_dir}: no permission to keep the undo journal there (run as root)"
        return None

    # -- replacing files -------------------------------------------------------------------------

    def replace_file(self, path: str, data: bytes, like: FileStat | None,
                     check: Callable[[Path], None] | None = None,
                     fault: Callable[[str], None] | None = None,
                     expect: bytes | None = None, expect_missing: bool = False, tag: str | None = None) -> None:
        """Replace a file atomically: write a temporary file in the same directory with the
        original's mode, owner and extended attributes, let ``check`` refuse it, fsync, make sure
        the file still holds ``expect`` (or, with ``expect_missing``, still does not exist: an
        admin's edit since the plan is never overwritten),
        rename over the target, fsync the directory. ``tag`` names the temporary file (the
        journal knows it); ``fault(stage)`` lets tests break in at each stage."""
        host = self.host(path)
        folder = host.parent
        if like is None:
            folder.mkdir(parents=True, exist_ok=True)  # a new file, e.g. the first udev rule
        temporary = temp_name(host, tag or f"{os.getpid()}.tmp")
        _remove_stale(temporary)
        fd = os.open(temporary, _CREATE_FLAGS, 0o600)
        try:
            try:
                write_all(fd, data)
                if like is not None and os.geteuid() == 0:
                    os.fchown(fd, like.uid, like.gid)
                # The original's mode; a new file gets what a config file has (0644). The xattrs
                # come after: a POSIX ACL rewrites the group bits to its mask, as on the original.
                os.fchmod(fd, like.mode if like is not None else 0o644)
                for name, value in like.xattrs if like is not None else ():
                    os.setxattr(fd, name, value)
                os.fsync(fd)
            finally:
                os.close(fd)
            if fault:
                fault("written")
            if check:
                check(temporary)
            if fault:
                fault("before-rename")
            if (expect is not None or expect_missing) and self.read_bytes(path) != expect:
                raise ConcurrentEdit(f"{path} was changed by someone else while ssdwizard was writing it: "
                                     "their text is kept, ssdwizard's change was not written")
            os.replace(temporary, host)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        fsync_dir(folder)
        if fault:
            fault("renamed")

    def remove_temp(self, path: str, tag: str) -> None:
        """Remove a temporary file a killed run left beside ``path``."""
        with contextlib.suppress(OSError, ValueError):
            _remove_stale(temp_name(self.host(path), tag))

    def write_value(self, path: str, value: str) -> None:
        """A sysfs write. The kernel may reject the value at write() or only when the file is
        closed (buffered I/O flushes then): both raise OSError here."""
        host = self.host(path)
        if self.simulate_commands:
            # A profile's sysfs is plain files: answer as the kernel does for a choice list
            # ("none [mq-deadline] kyber"): move the brackets, or refuse a name it lacks.
            current = (self.read_bytes(path) or b"").decode("ascii", errors="replace")
            from ssdwizard.system.sandbox import choose_in_list

            chosen = choose_in_list(current, value)
            self.replace_plain(host, (chosen if chosen is not None else value).encode("ascii", errors="replace"))
            return
        fd = os.open(host, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            write_all(fd, value.encode("ascii"))
        finally:
            os.close(fd)

    def replace_plain(self, host: Path, data: bytes) -> None:
        """An atomic rewrite of a sandbox file (a profile's sysfs value, a VM config, the unit
        states): a kill mid-write must not leave it empty."""
        mode = 0o644
        with contextlib.suppress(OSError):
            mode = stat.S_IMODE(os.stat(host).st_mode)
        _write_whole(host, temp_name(host, SANDBOX_TAG), data, mode)

    # -- the journal's private files -------------------------------------------------------------

    def private_dirs(self, path: str) -> None:
        """Create ``path`` and the missing folders above it inside the state dir as 0700, and
        refuse a symbolic link anywhere from the state dir down (one planted by another user
        would send the backups elsewhere)."""
        host = self.host(path)
        state = self.host(self.state_dir)
        host.relative_to(state)  # only for the state dir
        chain = [state, *[state.joinpath(*host.relative_to(state).parts[:i + 1])
                          for i in range(len(host.relative_to(state).parts))]]
        for folder in chain:
            try:
                st = os.lstat(folder)
            except FileNotFoundError:
                folder.parent.mkdir(parents=True, exist_ok=True)
                with contextlib.suppress(FileExistsError):
                    os.mkdir(folder, PRIVATE_DIR_MODE)
                st = os.lstat(folder)
            if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
                raise OSError(errno.ELOOP, f"{folder} is not a plain directory (a symbolic link?): refused")
            if stat.S_IMODE(st.st_mode) != PRIVATE_DIR_MODE:
                os.chmod(folder, PRIVATE_DIR_MODE)

    def write_private(self, path: str, data: bytes) -> None:
        """A journal file (an entry, a backup): private, written whole to a temporary name,
        fsynced and renamed into place, so a reader sees the old file or the new one. Never
        through a link: ``O_NOFOLLOW | O_EXCL`` on a name only this run uses."""
        host = self.host(path)
        self.private_dirs(str(Path(path).parent))
        _write_whole(host, host.parent / f".{host.name}.tmp", data, PRIVATE_FILE_MODE)

    def remove(self, path: str) -> None:
        self.host(path).unlink()

    def remove_empty_dir(self, path: str) -> None:
        """Remove a folder apply created, if nothing else has been put in it since."""
        with contextlib.suppress(OSError):
            self.host(path).rmdir()

    @contextlib.contextmanager
    def lock(self, path: str) -> Iterator[None]:
        """An exclusive lock, so that two runs cannot interleave their changes. The lock file is
        never opened through a link."""
        import fcntl

        host = self.host(path)
        try:
            self.private_dirs(str(Path(path).parent))
            fd = os.open(host, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, PRIVATE_FILE_MODE)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise LockedError(f"{path} is a symbolic link: refused (someone planted it?)") from None
            raise LockedError(f"cannot take the lock {path}: {exc.strerror or exc}") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LockedError("another ssdwizard is applying changes on this machine") from None
            yield
        finally:
            os.close(fd)  # closing releases the lock

    # -- commands --------------------------------------------------------------------------------

    def run_tool(self, argv: tuple[str, ...], timeout: float | None = None) -> CommandResult:
        """A local tool that checks a file on this host (``findmnt --verify``): always run for
        real, also when replaying a profile, because the file it checks is real."""
        from ssdwizard.system.live import LiveSystem

        return LiveSystem().run(argv, timeout)

    def run_change(self, argv: tuple[str, ...], timeout: float | None = None) -> CommandResult:
        """A command that changes the machine. On a profile it is not run but written to the
        sandbox's command log: a replayed machine has no services to enable or disks to remount."""
        if not self.simulate_commands:
            return self.system.run(argv, timeout)
        log = self.host(f"{STATE_DIR}/simulated-commands.log")
        log.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            write_all(fd, (" ".join(argv) + "\n").encode())
        finally:
            os.close(fd)
        from ssdwizard.system.sandbox import simulate

        return simulate(self, tuple(argv))

    def run_query(self, argv: tuple[str, ...]) -> CommandResult:
        """A read-only command that tells a change's state (``systemctl is-enabled``): asked of
        the machine, or of the profile (whose sandbox answers what apply did)."""
        return self.system.run(argv)
