"""What every side of the door shares: the :class:`System` interface probes ask, a command's
:class:`CommandResult`, the profile errors, and the link walk that both a profile's replay and
a recording use (``realpath`` done by hand)."""

from __future__ import annotations

import errno
import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ssdwizard.system.writer import Writer


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


def decode_output(data: bytes) -> str:
    # Tool output and sysfs are ASCII in practice; a model string with a stray byte must
    # not stop a probe, so undecodable bytes become U+FFFD.
    return data.decode("utf-8", errors="replace")


def read_chunks(fd: int, limit: int = MAX_READ_BYTES) -> bytes:
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
