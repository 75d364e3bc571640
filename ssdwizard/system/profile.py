"""A recorded machine replayed (DESIGN §3.1): ``profile.toml`` answers commands, ``root/`` holds
the files. A profile is untrusted input (it comes with bug reports): every check of its form is
here, every path goes through :mod:`ssdwizard.system.paths`."""

from __future__ import annotations

import os
import stat
import sys
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.9 and 3.10: tomli, the same parser before it joined the standard library
    import tomli as tomllib

from ssdwizard.system.base import (
    DEFAULT_TIMEOUT_S,
    EXIT_NOT_FOUND,
    MAX_LATENCY_MS,
    MAX_LINK_HOPS,
    MAX_READ_BYTES,
    CommandResult,
    ProfileError,
    ProfileEscape,
    SymlinkLoop,
    System,
    decode_output,
    follow_links,
    read_chunks,
)
from ssdwizard.system.paths import file_kind, open_profile_file, refuse_links_on_the_way, resolve_in_root
from ssdwizard.system.writer import SANDBOX_UNITS, Writer


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
        return decode_output(_read_profile_bytes(host, where, f"{key} file {relative}"))
    return ""


def _read_profile_bytes(host: str | Path, where: str, what: str) -> bytes:
    """A whole file of the profile's own (profile.toml, a command's output), or ProfileError:
    one larger than MAX_READ_BYTES is refused, not cut, because a cut reply would replay as a
    different machine."""
    try:
        fd = open_profile_file(host)
    except OSError as exc:
        raise ProfileError(f"{where}: cannot read {what}: {exc.strerror or exc}") from None
    try:
        size = os.fstat(fd).st_size
        if size > MAX_READ_BYTES:
            raise ProfileError(f"{where}: {what} is {size} bytes, more than the {MAX_READ_BYTES // 2**20} MiB "
                               "a profile's file may hold")
        return read_chunks(fd)
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
            raise ProfileError(f"{self.root} is {file_kind(mode)}, not a folder")
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
                    kind = file_kind(entry.stat(follow_symlinks=False).st_mode)
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
        # ProfileSystem's own reader: the sandbox's bookkeeping, not a read a probe made.
        text = ProfileSystem.read_text(self, SANDBOX_UNITS)
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
            fd = open_profile_file(host)
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
            return decode_output(read_chunks(fd))
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
