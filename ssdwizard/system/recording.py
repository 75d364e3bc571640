"""This machine, with a note of everything the probes ran and read, saved as a profile
(``ssdwizard --record DIR``)."""

from __future__ import annotations

import contextlib
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ssdwizard.system.base import CommandResult, SymlinkLoop, System, follow_links
from ssdwizard.system.live import LiveSystem
from ssdwizard.system.paths import resolve_in_root
from ssdwizard.system.writer import Writer


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
