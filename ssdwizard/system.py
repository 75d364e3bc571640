"""The one door to the machine.

Nothing else in ssdwizard runs a program or opens a system path: every probe takes a
:class:`System` and asks it. That is what lets the same probes run on this machine
(:class:`LiveSystem`), on a recorded machine profile (:class:`ProfileSystem`, DESIGN §3.1),
and record a profile while they run (:class:`RecordingSystem`).

Paths are always the machine's absolute paths (``/sys/block/sda/queue/scheduler``); a
profile maps them below its ``root/`` folder.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from abc import ABC, abstractmethod
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.9 and 3.10: tomli, the same parser before it joined the standard library
    import tomli as tomllib

from ssdwizard.writer import (  # noqa: E402,F401 - re-exported: the writing side of the door
    PMXCFS_MAX_FILE_BYTES,
    SANDBOX_UNITS,
    STATE_DIR,
    FileStat,
    LockedError,
    Writer,
)

DEFAULT_TIMEOUT_S = 10.0
EXIT_NOT_FOUND = 127
# Files larger than this are not read whole: nothing a probe needs is that big, and a
# recording must not swallow a multi-gigabyte log by accident.
MAX_READ_BYTES = 16 * 1024 * 1024
# The environment programs run in: a fixed locale so that their output is the English,
# dot-decimal text the parsers know, whatever the admin's locale is.
COMMAND_ENV_OVERRIDES = {"LC_ALL": "C", "LANG": "C"}
# The kernel follows at most 40 symbolic links in one lookup (ELOOP); a profile's links get
# the same budget, so a recorded chain that worked on the machine replays, and a loop is refused.
MAX_LINK_HOPS = 40
# A profile's latency_ms models a slow tool (benchmarks); ten minutes is far beyond any
# command timeout, and an infinite or NaN value would crash the replay instead.
MAX_LATENCY_MS = 600_000


@dataclass(frozen=True)
class CommandResult:
    """What a program did: exit code and output, or that it is missing or timed out."""

    argv: tuple[str, ...]
    exit_code: int
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    @property
    def missing(self) -> bool:
        """The program is not installed (exit 127, as a shell reports it)."""
        return self.exit_code == EXIT_NOT_FOUND and not self.timed_out

    @property
    def command_line(self) -> str:
        return " ".join(self.argv)


class ProfileError(Exception):
    """A machine profile is missing, unreadable or garbled; the message says which file."""


class ProfileEscape(ProfileError):
    """A profile's path or link would lead out of its directory (its ``root/`` is a link, a link
    loops, a command's output file is reached through a link): refused, because a profile from a
    bug report must never make ssdwizard read or write this host's own files."""


class SymlinkLoop(OSError):
    """More than :data:`MAX_LINK_HOPS` links in one path: a loop, as the kernel's ELOOP."""

    def __init__(self, path: str, link: str) -> None:
        super().__init__(errno.ELOOP, f"{path}: more than {MAX_LINK_HOPS} symbolic links (a loop at {link})")
        self.path = path
        self.link = link


class System(ABC):
    """Everything a probe may ask of a machine. Subclasses answer from different places."""

    #: The profile's name when replaying one, else None.
    profile_name: str | None = None
    #: True where every command answers at once (a profile without latency): probing in
    #: parallel then gains nothing.
    answers_instantly: bool = False

    @abstractmethod
    def run(self, argv: list[str] | tuple[str, ...], timeout: float | None = None) -> CommandResult:
        """Run a program; a missing one is exit 127, a timeout a result with ``timed_out``."""

    @abstractmethod
    def read_text(self, path: str) -> str | None:
        """The file's text, or None when it does not exist or cannot be read."""

    @abstractmethod
    def listdir(self, path: str) -> list[str]:
        """Sorted names in a directory; empty when it does not exist."""

    @abstractmethod
    def exists(self, path: str) -> bool:
        """True for anything at the path, a dangling link included."""

    @abstractmethod
    def readlink(self, path: str) -> str | None:
        """A symlink's target as stored, or None when the path is not a link."""

    @abstractmethod
    def is_dir(self, path: str) -> bool:
        """True for a directory (or a link to one)."""

    def realpath(self, path: str) -> str:
        """The path with every link followed (as ``os.path.realpath`` would on the machine)."""
        return follow_links(path, self.readlink)

    @abstractmethod
    def writer(self) -> Writer:
        """The writing side of the door, for the apply layer only."""


def follow_links(path: str, readlink: Callable[[str], str | None],
                 noted: Callable[[str, str], None] | None = None) -> str:
    """``realpath`` done by hand over any ``readlink``: a profile's links are resolved inside
    its root, and a recording notes every link on the way (``noted(link, target)``).
    Plain string work: this runs for every sysfs path a probe reads from a profile.

    A path that needs more than :data:`MAX_LINK_HOPS` links raises :class:`SymlinkLoop`: giving
    up quietly would return a path that still holds a link, and whoever opens it would let the
    OS follow that link (out of a profile, say)."""
    parts: list[str] = []
    pending = [p for p in path.split("/") if p]
    pending.reverse()  # a stack: the next component is at the end
    hops = 0
    while pending:
        name = pending.pop()
        if name == ".":
            continue
        if name == "..":
            if parts:
                parts.pop()
            continue
        candidate = "/" + "/".join([*parts, name])
        target = readlink(candidate)
        if target is None:
            parts.append(name)
            continue
        hops += 1
        if hops > MAX_LINK_HOPS:
            raise SymlinkLoop(path, candidate)
        if noted is not None:
            noted(candidate, target)
        if target.startswith("/"):
            parts = []
        pending.extend(reversed([p for p in target.split("/") if p]))
    return "/" + "/".join(parts)


def _decode(data: bytes) -> str:
    # Tool output and sysfs are ASCII in practice; a model string with a stray byte must
    # not stop a probe, so undecodable bytes become U+FFFD.
    return data.decode("utf-8", errors="replace")


def _read_chunks(fd: int, limit: int = MAX_READ_BYTES) -> bytes:
    """At most ``limit`` bytes, in modest chunks until end of file: procfs sysctl files answer a
    single huge read() with ENOMEM, and sysfs and procfs files say size 0, so the size cannot
    tell where to stop; a runaway file stops at the limit."""
    chunks: list[bytes] = []
    total = 0
    while total < limit:
        chunk = os.read(fd, min(65536, limit - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _read_file(path: str | Path) -> str | None:
    """A file's text on this machine, or None when it is missing or cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except (OSError, ValueError):  # ValueError: a NUL in the path (read from a garbled fstab)
        return None
    try:
        return _decode(_read_chunks(fd))
    except OSError:
        return None
    finally:
        os.close(fd)


_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a folder", stat.S_IFLNK: "a symbolic link"}


def _kind(mode: int) -> str:
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def _open_profile_file(host: str | Path) -> int:
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
            raise ProfileError(f"{host} is {_kind(mode)}: a profile holds only files, folders and links")
    except BaseException:
        os.close(fd)
        raise
    return fd


class LiveSystem(System):
    """This machine. Commands run through ``sh`` with a timeout, in the C locale."""

    def __init__(self, default_timeout: float = DEFAULT_TIMEOUT_S, state_dir: str = STATE_DIR) -> None:
        self.default_timeout = default_timeout
        #: Where apply keeps its undo journal and lock (tests point it at a temporary folder).
        self.state_dir = state_dir
        self._env = {**os.environ, **COMMAND_ENV_OVERRIDES}

    def run(self, argv: list[str] | tuple[str, ...], timeout: float | None = None) -> CommandResult:
        # Imported here: sh costs ~50 ms to import, and a report replayed from a profile
        # never runs a program.
        import sh

        argv = tuple(argv)
        limit = self.default_timeout if timeout is None else timeout
        try:
            program = sh.Command(argv[0])
        except sh.CommandNotFound:
            return CommandResult(argv, EXIT_NOT_FOUND, "", f"{argv[0]}: command not found")
        # Not sh's own _timeout: its watchdog thread wakes every 100 ms, and every command
        # would pay up to that much on top of its run time. A timer that kills the process
        # costs nothing until it fires.
        try:
            done = program(
                *argv[1:],
                _bg=True,
                _bg_exc=False,
                _ok_code=list(range(256)),
                _return_cmd=True,
                _env=self._env,
                _in="",
                _tty_out=False,
            )
        except OSError as exc:  # exec failed: not executable, wrong binary format
            return CommandResult(argv, 126, "", f"{argv[0]}: {exc.strerror or exc}")
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            with contextlib.suppress(Exception):  # it may have ended just now
                done.kill()

        timer = threading.Timer(limit, expire)
        timer.daemon = True
        timer.start()
        try:
            done.wait()
        except (sh.SignalException, sh.ErrorReturnCode) as exc:
            if expired.is_set():
                return CommandResult(argv, -1, "", f"{argv[0]} did not finish within {limit:g} s", timed_out=True)
            # Killed by a signal (OOM, a watchdog): report it as a failed run, like a shell would.
            return CommandResult(argv, 128 + abs(getattr(exc, "exit_code", 1)), _decode(exc.stdout), _decode(exc.stderr))
        finally:
            timer.cancel()
        return CommandResult(argv, done.exit_code, _decode(done.stdout), _decode(done.stderr))

    def read_text(self, path: str) -> str | None:
        return _read_file(path)

    # ValueError below: a path with a NUL in it (read from a garbled fstab) names no file.
    def listdir(self, path: str) -> list[str]:
        try:
            return sorted(os.listdir(path))
        except (OSError, ValueError):
            return []

    def exists(self, path: str) -> bool:
        return os.path.lexists(path)

    def readlink(self, path: str) -> str | None:
        try:
            return os.readlink(path)
        except (OSError, ValueError):
            return None

    def realpath(self, path: str) -> str:
        if "\0" in path:
            return path
        return os.path.realpath(path)

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(path)

    def writer(self) -> Writer:
        return Writer(self, Path("/"), Path, simulate_commands=False, euid=os.geteuid(), state_dir=self.state_dir)


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


@dataclass(frozen=True)
class ProfileCommand:
    argv: tuple[str, ...]
    stdout: str
    stderr: str
    exit_code: int
    latency_ms: int


def _profile_text(entry: dict, key: str, profile_dir: Path, where: str) -> str:
    """A command's stdout/stderr: inline (``stdout_text``) or from a file (``stdout``)."""
    if f"{key}_text" in entry:
        value = entry[f"{key}_text"]
        if not isinstance(value, str):
            raise ProfileError(f"{where}: {key}_text must be a string")
        return value
    if key in entry:
        relative = entry[key]
        if (not isinstance(relative, str) or not relative or relative.startswith("/") or "\0" in relative
                or ".." in PurePosixPath(relative).parts):
            raise ProfileError(f"{where}: {key} must be a path inside the profile, got {relative!r}")
        # Named by the profile, so read as untrusted: no link on the way (neither the file nor
        # a folder such as commands/), a regular file, and not more than a probe could need.
        host = os.path.join(os.path.realpath(profile_dir), str(PurePosixPath(relative)))
        if os.path.realpath(host) != host:
            raise ProfileEscape(f"{where}: the {key} file {relative!r} is reached through a symbolic link "
                                f"(to {os.path.realpath(host)}): refused, a profile's files must be its own")
        return _decode(_read_profile_bytes(host, where, f"{key} file {relative}"))
    return ""


def _read_profile_bytes(host: str | Path, where: str, what: str) -> bytes:
    """A whole file of the profile's own (profile.toml, a command's output), or ProfileError:
    one larger than MAX_READ_BYTES is refused, not cut, because a cut reply would replay as a
    different machine."""
    try:
        fd = _open_profile_file(host)
    except OSError as exc:
        raise ProfileError(f"{where}: cannot read {what}: {exc.strerror or exc}") from None
    try:
        size = os.fstat(fd).st_size
        if size > MAX_READ_BYTES:
            raise ProfileError(f"{where}: {what} is {size} bytes, more than the {MAX_READ_BYTES // 2**20} MiB "
                               "a profile's file may hold")
        return _read_chunks(fd)
    except OSError as exc:
        raise ProfileError(f"{where}: cannot read {what}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def load_profile(profile_dir: Path) -> tuple[dict, dict[tuple[str, ...], ProfileCommand], dict[str, str]]:
    """Read and check ``profile.toml``: the [profile] table, the [[command]] replies and the
    [[link]] table (symbolic links of the machine, kept in the TOML so that a profile survives
    zip files, wheels and tools that drop or loop on symlinks)."""
    toml_path = profile_dir / "profile.toml"
    if not profile_dir.is_dir():
        raise ProfileError(f"{profile_dir}: no such profile directory")
    if not os.path.lexists(toml_path):
        raise ProfileError(f"{toml_path}: missing (a profile is profile.toml plus root/)")
    raw = _read_profile_bytes(toml_path, str(toml_path), "it")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ProfileError(f"{toml_path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{toml_path}: not valid TOML: {exc}") from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise ProfileError(f"{toml_path}: not valid TOML: arrays or tables nested too deeply") from None
    meta = data.get("profile", {})
    if not isinstance(meta, dict):
        raise ProfileError(f"{toml_path}: [profile] must be a table")
    for key in ("name", "description"):
        if not isinstance(meta.get(key, ""), str):
            raise ProfileError(f"{toml_path}: [profile] {key} must be a string")
    if isinstance(meta.get("euid", 0), bool) or not isinstance(meta.get("euid", 0), int):
        raise ProfileError(f"{toml_path}: [profile] euid must be a whole number")
    commands: dict[tuple[str, ...], ProfileCommand] = {}
    entries = data.get("command", [])
    if not isinstance(entries, list):
        raise ProfileError(f"{toml_path}: command must be an array of tables ([[command]])")
    for index, entry in enumerate(entries, start=1):
        where = f"{toml_path} command #{index}"
        if not isinstance(entry, dict):
            raise ProfileError(f"{where}: must be a table")
        argv = entry.get("argv")
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
            raise ProfileError(f"{where}: argv must be a non-empty list of strings")
        exit_code = entry.get("exit", 0)
        latency = entry.get("latency_ms", 0)
        # bool is an int to Python, but `exit = true` is a typo, not an exit code.
        if isinstance(exit_code, bool) or not isinstance(exit_code, int):
            raise ProfileError(f"{where}: exit must be an integer, got {exit_code!r}")
        # The range test also refuses nan (every comparison is false) and inf.
        if isinstance(latency, bool) or not isinstance(latency, (int, float)) or not 0 <= latency <= MAX_LATENCY_MS:
            raise ProfileError(f"{where}: latency_ms must be a number from 0 to {MAX_LATENCY_MS}, got {latency!r}")
        commands[tuple(argv)] = ProfileCommand(
            argv=tuple(argv),
            stdout=_profile_text(entry, "stdout", profile_dir, where),
            stderr=_profile_text(entry, "stderr", profile_dir, where),
            exit_code=exit_code,
            latency_ms=int(latency),
        )
    links: dict[str, str] = {}
    entries = data.get("link", [])
    if not isinstance(entries, list):
        raise ProfileError(f"{toml_path}: link must be an array of tables ([[link]])")
    for index, entry in enumerate(entries, start=1):
        path, target = (entry.get("path"), entry.get("target")) if isinstance(entry, dict) else (None, None)
        if not isinstance(path, str) or not path.startswith("/") or not isinstance(target, str) or not target:
            raise ProfileError(f"{toml_path} link #{index}: needs an absolute path and a target")
        if "\0" in path or "\0" in target:  # no file name can hold one: a garbled or hostile profile
            raise ProfileError(f"{toml_path} link #{index}: a NUL character in the path or target "
                               f"({path!r} -> {target!r})")
        links[str(PurePosixPath(path))] = target
    return meta, commands, links


class ProfileSystem(System):
    """A recorded machine (DESIGN §3.1): ``profile.toml`` answers commands, ``root/`` holds files.

    A command the profile does not list is not installed (exit 127); a file ``root/`` lacks
    does not exist; ``latency_ms`` delays a reply, so benchmarks can model slow tools.
    """

    def __init__(self, profile_dir: str | Path) -> None:
        self.profile_dir = Path(profile_dir)
        meta, self._commands, self._links = load_profile(self.profile_dir)
        self.answers_instantly = all(reply.latency_ms == 0 for reply in self._commands.values())
        self._host_paths: dict[str, Path] = {}
        self._links_by_folder: dict[str, list[str]] = {}
        for link in self._links:
            self._links_by_folder.setdefault(str(PurePosixPath(link).parent), []).append(PurePosixPath(link).name)
        self.root = self.profile_dir / "root"
        self.profile_name = str(meta.get("name") or self.profile_dir.name)
        self.description = str(meta.get("description") or "")
        self.euid = meta.get("euid", 0)
        self._check_root()

    def _check_root(self) -> None:
        """Refuse up front what no replay may touch, so that a hostile profile stops before any
        probe runs or anything is written: a ``root/`` that is a link, anything below it but
        files, folders and links (a FIFO or a device would hang or never end a read), and a link
        (stored in ``root/`` or in the [[link]] table) whose resolution loops."""
        try:
            mode = os.lstat(self.root).st_mode
        except FileNotFoundError:
            mode = None  # a profile of commands only: every file is missing
        except OSError as exc:
            raise ProfileError(f"{self.root}: cannot read: {exc.strerror}") from None
        if mode is not None and stat.S_ISLNK(mode):
            raise ProfileEscape(f"{self.root} is a symbolic link (to {os.readlink(self.root)!r}): a profile's root/ "
                                "must be a folder of its own")
        if mode is not None and not stat.S_ISDIR(mode):
            raise ProfileError(f"{self.root} is {_kind(mode)}, not a folder")
        links = list(self._links)
        pending = [""] if mode is not None else []
        while pending:
            relative = pending.pop()
            folder = os.path.join(self.root, relative) if relative else str(self.root)
            try:
                entries = list(os.scandir(folder))
            except OSError as exc:
                raise ProfileError(f"{folder}: cannot read: {exc.strerror}") from None
            for entry in entries:
                child = f"{relative}/{entry.name}" if relative else entry.name
                if entry.is_symlink():
                    links.append("/" + child)
                elif entry.is_dir(follow_symlinks=False):
                    pending.append(child)
                elif not entry.is_file(follow_symlinks=False):
                    kind = _kind(entry.stat(follow_symlinks=False).st_mode)
                    raise ProfileError(f"{entry.path} is {kind}: a profile holds only files, folders and links")
        for link in links:
            self.host_path(link)  # raises ProfileEscape where the links loop

    def run(self, argv: list[str] | tuple[str, ...], timeout: float | None = None) -> CommandResult:
        argv = tuple(argv)
        changed = self._sandbox_unit_state(argv)
        if changed is not None:
            return changed
        reply = self._commands.get(argv)
        if reply is None:
            return CommandResult(argv, EXIT_NOT_FOUND, "", f"{argv[0]}: command not found")
        if reply.latency_ms:
            limit = DEFAULT_TIMEOUT_S if timeout is None else timeout
            if reply.latency_ms / 1000 > limit:
                time.sleep(limit)
                return CommandResult(argv, -1, "", f"{argv[0]} did not finish within {limit:g} s", timed_out=True)
            time.sleep(reply.latency_ms / 1000)
        return CommandResult(argv, reply.exit_code, reply.stdout, reply.stderr)

    def _sandbox_unit_state(self, argv: tuple[str, ...]) -> CommandResult | None:
        """``systemctl is-enabled UNIT`` after an apply in this sandbox changed the unit."""
        if len(argv) != 3 or argv[:2] != ("systemctl", "is-enabled"):
            return None
        text = self.read_text(SANDBOX_UNITS)
        if text is None:
            return None
        import json

        # The apply layer writes this file; in a profile from elsewhere it is untrusted input,
        # and a garbled one is the profile's fault, said as such (not a probe that crashed).
        where = str(self.host_path(SANDBOX_UNITS))
        try:
            states = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise ProfileError(f"{where}: not valid JSON ({exc})") from None
        if not isinstance(states, dict) or not all(isinstance(v, str) and "\0" not in v for v in states.values()):
            raise ProfileError(f"{where}: must be a JSON object of unit names and their states "
                               '({"fstrim.timer": "enabled"})')
        state = states.get(argv[2])
        if state is None:
            return None
        return CommandResult(argv, 0 if state == "enabled" else 1, state + "\n", "")

    def host_path(self, path: str) -> Path:
        """Where a machine path lives under this profile's root (the apply layer writes there)."""
        found = self._host_paths.get(path)
        if found is None:
            # Links are fixed for the life of a profile, so a path resolves the same way every time.
            found = self._host_paths[path] = resolve_in_root(self.root, path, self._links)
        return found

    def _checked(self, path: str) -> Path | None:
        """The host path of a machine path, checked again just before it is used: a link put in
        ``root/`` since the profile was loaded must not lead the OS out of it either. None for a
        path no file can have (a NUL in it, from a garbled fstab)."""
        if "\0" in path:
            return None
        host = self._host_paths.get(path)
        if host is None:
            return self.host_path(path)  # resolving it has just checked it
        refuse_links_on_the_way(self.root, host)
        return host

    def _canonical(self, path: str) -> str:
        """The machine path with every link followed, as the links table names paths."""
        try:
            return follow_links(path, self.readlink)
        except SymlinkLoop as exc:
            raise ProfileEscape(f"{self.root}: the links on the way to {path} loop (more than {MAX_LINK_HOPS} "
                                f"links, at {exc.link}): refused") from None

    def realpath(self, path: str) -> str:
        if "\0" in path:
            return path
        return self._canonical(path)

    def read_text(self, path: str) -> str | None:
        host = self._checked(path)
        if host is None:
            return None
        try:
            fd = _open_profile_file(host)
        except OSError:  # missing, a folder, unreadable: as on a machine, no text
            return None
        try:
            # A recording reads at most MAX_READ_BYTES of a file, so a bigger one was not
            # recorded; cut to the cap, a 1 GB file of NULs would still make a report of
            # hundreds of MB (a step quotes a whole datacenter.cfg in its diff).
            size = os.fstat(fd).st_size
            if size > MAX_READ_BYTES:
                raise ProfileError(f"{host} is {size} bytes, more than the {MAX_READ_BYTES // 2**20} MiB a "
                                   "profile's file may hold")
            return _decode(_read_chunks(fd))
        except OSError:
            return None
        finally:
            os.close(fd)

    def listdir(self, path: str) -> list[str]:
        host = self._checked(path)
        if host is None:
            return []
        try:
            names = set(os.listdir(host))
        except OSError:
            names = set()
        names.update(self._links_by_folder.get(self._canonical(path), ()))
        return sorted(names)

    def exists(self, path: str) -> bool:
        if self.readlink(path) is not None:
            return True
        host = self._checked(path)
        return host is not None and os.path.lexists(host)

    def readlink(self, path: str) -> str | None:
        if path in self._links:  # the common case: realpath asks for each step of a canonical path
            return self._links[path]
        pure = PurePosixPath(path)
        if pure == PurePosixPath("/"):
            return None
        host_parent = self._checked(str(pure.parent))
        if host_parent is None or "\0" in pure.name:
            return None
        canonical = str(PurePosixPath("/", host_parent.relative_to(self.root), pure.name))
        if canonical in self._links:
            return self._links[canonical]
        try:
            return os.readlink(host_parent / pure.name)
        except OSError:
            return None

    def is_dir(self, path: str) -> bool:
        host = self._checked(path)
        return host is not None and host.is_dir()

    def writer(self) -> Writer:
        # Writes land in the profile's root/: the same code path as on a machine, in a sandbox.
        # Paths are resolved afresh (not from the cache): apply creates files and folders.
        # A profile is applied as root unless its [profile] table says euid = N (tests of the
        # non-root path).
        return Writer(self, self.root, lambda path: resolve_in_root(self.root, path, self._links),
                      simulate_commands=True, euid=self.euid)


PER_PROCESS_LINKS = frozenset({"/proc/self", "/proc/thread-self"})
_SLUG_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def command_slug(argv: tuple[str, ...]) -> str:
    """A readable file name for a command's recorded stdout: ``hdparm-I-dev-sda.txt``."""
    slug = re.sub(r"-{2,}", "-", _SLUG_UNSAFE.sub("-", "-".join(argv))).strip("-")
    return (slug[:100] or "command") + ".txt"


@dataclass
class _Recording:
    commands: dict[tuple[str, ...], CommandResult] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    dirs: dict[str, list[str]] = field(default_factory=dict)


class RecordingSystem(System):
    """This machine, with a note of everything asked, written out as a profile by :meth:`save`.

    Only what the probes ran and read is kept, so a recording holds what a bug report needs
    and no more. Links are kept as links (sysfs is built of them), so the replay follows them
    the way the machine did.
    """

    def __init__(self, live: System | None = None) -> None:
        self.live = live or LiveSystem()
        self._seen = _Recording()
        self._lock = threading.Lock()

    def run(self, argv: list[str] | tuple[str, ...], timeout: float | None = None) -> CommandResult:
        result = self.live.run(argv, timeout)
        if not result.missing and not result.timed_out:
            with self._lock:
                self._seen.commands[tuple(argv)] = result
        return result

    def read_text(self, path: str) -> str | None:
        text = self.live.read_text(path)
        if text is not None:
            self._note_links(path)
            with self._lock:
                self._seen.files[path] = text
        return text

    def listdir(self, path: str) -> list[str]:
        names = self.live.listdir(path)
        if names:
            self._note_links(path)
            with self._lock:
                self._seen.dirs[path] = names
        return names

    def exists(self, path: str) -> bool:
        found = self.live.exists(path)
        if found:
            self._note_links(path)
            if self.live.is_dir(path):
                with self._lock:
                    self._seen.dirs.setdefault(self.live.realpath(path), [])
            elif self.live.readlink(path) is None:
                self.read_text(path)
        return found

    def is_dir(self, path: str) -> bool:
        found = self.live.is_dir(path)
        if found:
            self._note_links(path)
            with self._lock:
                self._seen.dirs.setdefault(self.live.realpath(path), [])
        return found

    def readlink(self, path: str) -> str | None:
        target = self.live.readlink(path)
        if target is not None:
            self._note_links(str(PurePosixPath(path).parent))
            with self._lock:
                self._seen.links[path] = target
        return target

    def realpath(self, path: str) -> str:
        self._note_links(path)
        return self.live.realpath(path)

    def writer(self) -> Writer:
        return self.live.writer()

    def _note_links(self, path: str) -> None:
        """Record every link on the way to ``path`` (as realpath walks it), so that the
        replay reaches the same files the same way."""

        def note(link: str, target: str) -> None:
            if link in PER_PROCESS_LINKS:
                return  # /proc/self is whoever replays the profile: keep it a plain directory
            with self._lock:
                self._seen.links[link] = target

        # A loop on this machine: the links up to it are noted, and the replay refuses the
        # loop as the machine's own lookup fails on it (ELOOP).
        with contextlib.suppress(SymlinkLoop):
            follow_links(path, self.live.readlink, note)

    def save(self, profile_dir: str | Path, name: str, description: str) -> Path:
        """Write what was seen as a profile; returns the profile directory."""
        target = Path(profile_dir)
        root = target / "root"
        (target / "commands").mkdir(parents=True, exist_ok=True)
        root.mkdir(parents=True, exist_ok=True)
        with self._lock:
            seen = _Recording(dict(self._seen.commands), dict(self._seen.files), dict(self._seen.links), dict(self._seen.dirs))
        for path, names in seen.dirs.items():
            folder = resolve_in_root(root, path, seen.links)
            if folder.exists() and not folder.is_dir():
                continue
            folder.mkdir(parents=True, exist_ok=True)
            for entry in names:
                child = PurePosixPath(path) / entry
                if str(child) in seen.links or str(child) in seen.files:
                    continue
                resolve_in_root(root, str(child), seen.links).mkdir(parents=True, exist_ok=True)
        for path, text in seen.files.items():
            host = resolve_in_root(root, path, seen.links)
            host.parent.mkdir(parents=True, exist_ok=True)
            if host.is_dir():
                continue
            host.write_text(text, encoding="utf-8")
        lines = [
            "[profile]",
            f"name = {_toml_string(name)}",
            f"description = {_toml_string(description)}",
            "",
        ]
        for argv, result in sorted(seen.commands.items()):
            stdout_file = f"commands/{command_slug(argv)}"
            (target / stdout_file).write_text(result.stdout, encoding="utf-8")
            lines += [
                "[[command]]",
                "argv = [" + ", ".join(_toml_string(a) for a in argv) + "]",
                f"stdout = {_toml_string(stdout_file)}",
                f"stderr_text = {_toml_string(result.stderr)}",
                f"exit = {result.exit_code}",
                "latency_ms = 0",
                "",
            ]
        for path, link_target in sorted(seen.links.items()):
            lines += ["[[link]]", f"path = {_toml_string(path)}", f"target = {_toml_string(link_target)}", ""]
        (target / "profile.toml").write_text("\n".join(lines), encoding="utf-8")
        return target


def _toml_string(value: str) -> str:
    """A TOML basic string; json's escaping is a subset TOML accepts."""
    import json

    # TOML wants DEL escaped too; JSON leaves it literal.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


# ---------------------------------------------------------------------------------------------
# Raw block I/O for the opt-in active tests (the TRIM read-back test, the IOPS measurement).
# The raw device is only ever opened O_RDONLY; the only thing written is the TRIM test's own
# file on a mounted filesystem, which its caller removes again.

FS_IOC_FIEMAP = 0xC020660B  # linux/fs.h, _IOWR('f', 11, struct fiemap)
FIEMAP_FLAG_SYNC = 0x00000001
FIEMAP_EXTENT_LAST = 0x00000001
_FIEMAP_HEADER = "=QQIIII"  # fm_start, fm_length, fm_flags, fm_mapped_extents, fm_extent_count, fm_reserved
_FIEMAP_EXTENT = "=QQQQQIIII"  # fe_logical, fe_physical, fe_length, 2 reserved, fe_flags, 3 reserved
_FIEMAP_BATCH = 256
BLKSSZGET = 0x1268  # linux/fs.h, _IO(0x12, 104): logical sector size
BLKGETSIZE64 = 0x80081272  # _IOR(0x12, 114, size_t): size in bytes
RAW_CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Extent:
    """One FIEMAP extent: ``length`` bytes of the file at ``logical`` live at ``physical`` on the
    filesystem's block device; ``flags`` are the kernel's FIEMAP_EXTENT_* bits."""

    logical: int
    physical: int
    length: int
    flags: int


@dataclass(frozen=True)
class ReadRun:
    """What a random-read run did: every I/O's latency, and how long the run took."""

    latencies_ns: tuple[int, ...]
    bytes_read: int
    elapsed_s: float
    depth: int


class RawDevice:
    """A block device opened ``O_RDONLY | O_DIRECT``: reads bypass the page cache and go to the
    device. Reads must be aligned to the logical block size, in offset, length and buffer
    address; the buffer is an anonymous mmap, which is page-aligned."""

    def __init__(self, fd: int, path: str) -> None:
        import fcntl
        import mmap
        import struct

        self.fd = fd
        self.path = path
        self.logical_block_size = struct.unpack("i", fcntl.ioctl(fd, BLKSSZGET, struct.pack("i", 0)))[0]
        self.size = struct.unpack("Q", fcntl.ioctl(fd, BLKGETSIZE64, struct.pack("Q", 0)))[0]
        self._buffer = mmap.mmap(-1, RAW_CHUNK_BYTES)

    def read(self, offset: int, length: int) -> bytes:
        """``length`` bytes at ``offset``; an unaligned range is widened to whole blocks and cut."""
        block = self.logical_block_size
        start = offset - offset % block
        end = -(-(offset + length) // block) * block
        out = bytearray()
        view = memoryview(self._buffer)
        try:
            position = start
            while position < end:
                size = min(RAW_CHUNK_BYTES, end - position)
                done = os.preadv(self.fd, [view[:size]], position)
                if done <= 0:
                    raise OSError(5, f"{self.path}: short read at byte {position}")
                out += view[:done]
                position += done
        finally:
            view.release()
        return bytes(out[offset - start: offset - start + length])

    def close(self) -> None:
        self._buffer.close()
        os.close(self.fd)

    def __enter__(self) -> RawDevice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class BlockIO:
    """The active tests' side of the door: a pattern file on a mounted filesystem, FIEMAP,
    read-only ``O_DIRECT`` reads of a block device, ``fstrim`` and random reads. Only on this
    machine: a recorded profile has no block devices to read (:meth:`on` returns None)."""

    def __init__(self, system: System) -> None:
        self.system = system

    @classmethod
    def on(cls, system: System) -> BlockIO | None:
        live = system.live if isinstance(system, RecordingSystem) else system
        return cls(system) if isinstance(live, LiveSystem) else None

    # -- the filesystem side ---------------------------------------------------------------------

    def statvfs(self, path: str) -> os.statvfs_result:
        return os.statvfs(path)

    def device_of(self, path: str) -> tuple[int, int]:
        """``(major, minor)`` of the filesystem a path is on."""
        st = os.stat(path)
        return os.major(st.st_dev), os.minor(st.st_dev)

    def write_file(self, path: str, size: int, content: Callable[[int, int], bytes],
                   on_written: Callable[[int], None] | None = None,
                   expect_device: tuple[int, int] | None = None) -> None:
        """Create ``path`` (never an existing file, never through a link), fill it with
        ``content(offset, length)`` in 1 MiB pieces, fsync it. ``expect_device`` refuses a file
        that landed on another filesystem than the one under test."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            if expect_device is not None:
                st = os.fstat(fd)
                if (os.major(st.st_dev), os.minor(st.st_dev)) != expect_device:
                    raise OSError(18, f"{path} is not on the device {expect_device[0]}:{expect_device[1]}")
            written = 0
            while written < size:
                piece = content(written, min(RAW_CHUNK_BYTES, size - written))
                view = memoryview(piece)
                while view:
                    view = view[os.write(fd, view):]
                written += len(piece)
                if on_written:
                    on_written(written)
            os.fsync(fd)
        finally:
            os.close(fd)

    def fiemap(self, path: str) -> list[Extent]:
        """The file's extents from the FIEMAP ioctl with FIEMAP_FLAG_SYNC (dirty data is written
        and allocated first, so no extent is still delayed)."""
        import fcntl
        import struct

        header_size = struct.calcsize(_FIEMAP_HEADER)
        extent_size = struct.calcsize(_FIEMAP_EXTENT)
        extents: list[Extent] = []
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            start = 0
            while True:
                request = bytearray(struct.pack(_FIEMAP_HEADER, start, 2**64 - 1 - start, FIEMAP_FLAG_SYNC, 0,
                                                _FIEMAP_BATCH, 0))
                request += bytes(extent_size * _FIEMAP_BATCH)
                fcntl.ioctl(fd, FS_IOC_FIEMAP, request)
                mapped = struct.unpack_from(_FIEMAP_HEADER, request)[3]
                if mapped == 0:
                    return extents
                for index in range(mapped):
                    fields = struct.unpack_from(_FIEMAP_EXTENT, request, header_size + index * extent_size)
                    extents.append(Extent(fields[0], fields[1], fields[2], fields[5]))
                last = extents[-1]
                if last.flags & FIEMAP_EXTENT_LAST:
                    return extents
                start = last.logical + last.length
        finally:
            os.close(fd)

    def unlink(self, path: str) -> bool:
        """Remove a file; False when it was not there."""
        try:
            os.unlink(path)
        except FileNotFoundError:
            return False
        return True

    def exists(self, path: str) -> bool:
        return os.path.lexists(path)

    def sync(self) -> None:
        """Flush every filesystem: the deleted file's blocks are free only once the journal
        transaction that freed them has committed."""
        os.sync()

    def fstrim(self, mount_point: str, offset: int | None = None, length: int | None = None,
               timeout: float = 600.0) -> CommandResult:
        argv = ["fstrim", "--verbose"]
        if offset is not None and length is not None:
            argv += ["--offset", str(offset), "--length", str(length)]
        return self.system.run([*argv, mount_point], timeout)

    # -- the raw device side (read-only) ---------------------------------------------------------

    def open_readonly(self, path: str, expect_device: tuple[int, int] | None = None) -> RawDevice:
        """The block device at ``path``, ``O_RDONLY | O_DIRECT``; refuses anything but a block
        device, and one with another device number than ``expect_device``."""
        import stat as stat_module

        fd = os.open(path, os.O_RDONLY | os.O_DIRECT | os.O_CLOEXEC)
        try:
            st = os.fstat(fd)
            if not stat_module.S_ISBLK(st.st_mode):
                raise OSError(15, f"{path} is not a block device")
            if expect_device is not None and (os.major(st.st_rdev), os.minor(st.st_rdev)) != expect_device:
                raise OSError(19, f"{path} is device {os.major(st.st_rdev)}:{os.minor(st.st_rdev)}, "
                                  f"not {expect_device[0]}:{expect_device[1]}")
            return RawDevice(fd, path)
        except BaseException:
            os.close(fd)
            raise

    def random_reads(self, path: str, block_size: int, depth: int, seconds: float,
                     cancel: threading.Event | None = None, seed: int | None = None,
                     on_tick: Callable[[float], None] | None = None) -> ReadRun:
        """Random ``block_size`` reads over the whole device for ``seconds``, ``depth`` at once
        (one thread per outstanding read: ``preadv`` releases the GIL while it waits), each
        timed. Read-only (``O_RDONLY | O_DIRECT``), like fio's ``--readonly --direct=1``.
        ``on_tick(fraction of the time done)`` is called from the calling thread, about every 0.1 s."""
        import mmap
        import random

        device = self.open_readonly(path)
        blocks = device.size // block_size
        if blocks < 1:
            device.close()
            raise OSError(22, f"{path} is smaller than one {block_size}-byte block")
        stop = threading.Event()
        results: list[list[int]] = [[] for _ in range(depth)]
        errors: list[BaseException] = []
        check_every_ns = 50_000_000
        began_ns = time.perf_counter_ns()
        deadline_ns = began_ns + int(seconds * 1e9)

        def worker(index: int, inline: bool) -> None:
            # Depth 1 runs on the calling thread: a helper thread would add a GIL hand-off to
            # every read (measured: ~8 % fewer IOPS than fio; inline is within ~3 %).
            buffer = mmap.mmap(-1, block_size)
            view = memoryview(buffer)
            chooser = random.Random(None if seed is None else seed + index)
            latencies = results[index]
            clock = time.perf_counter_ns
            next_check = clock() + check_every_ns
            try:
                while True:
                    offset = chooser.randrange(blocks) * block_size
                    before = clock()
                    os.preadv(device.fd, [view], offset)
                    after = clock()
                    latencies.append(after - before)
                    if after >= next_check:
                        if stop.is_set() or after >= deadline_ns or (cancel is not None and cancel.is_set()):
                            break
                        if inline and on_tick is not None:
                            on_tick(min(1.0, (after - began_ns) / (deadline_ns - began_ns)))
                        next_check = after + check_every_ns
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                errors.append(exc)
                stop.set()
            finally:
                view.release()
                buffer.close()

        threads = [] if depth == 1 else [
            threading.Thread(target=worker, args=(i, False), name=f"ssdwizard-read-{i}", daemon=True)
            for i in range(depth)]
        began = time.perf_counter()
        try:
            if depth == 1:
                worker(0, True)
            for thread in threads:
                thread.start()
            while threads and not stop.is_set() and time.perf_counter_ns() < deadline_ns:
                if cancel is not None and cancel.is_set():
                    break
                if on_tick is not None:
                    on_tick(min(1.0, (time.perf_counter() - began) / seconds))
                stop.wait(0.1)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - began
            device.close()
        if errors:
            raise errors[0]
        latencies = tuple(ns for per_thread in results for ns in per_thread)
        return ReadRun(latencies, len(latencies) * block_size, elapsed, depth)
