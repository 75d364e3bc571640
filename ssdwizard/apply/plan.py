"""A plan: the changes one step would make, each with its diff and a line in words."""

from __future__ import annotations

import difflib
import shlex
from dataclasses import dataclass
from typing import Any, Union


def unified_diff(path: str, before: str, after: str) -> str:
    """A unified diff with ``a/``/``b/`` headers, marking a missing final newline the way diff
    and git do, so that a change of only the last newline still shows."""
    old = before.splitlines(keepends=True)
    new = after.splitlines(keepends=True)
    lines = []
    for line in difflib.unified_diff(old, new, fromfile=f"a{path}", tofile=f"b{path}"):
        if line.endswith("\n"):
            lines.append(line)
        else:
            lines.append(line + "\n\\ No newline at end of file\n")
    return "".join(lines)


@dataclass(frozen=True)
class FileEdit:
    """Replace a file's text. ``path`` is the machine path; the apply layer writes the real
    file behind a link and keeps the link.

    ``validate`` is a command that checks the candidate before it replaces the file, with
    ``{file}`` standing for the candidate's path (``findmnt --verify --tab-file {file}``);
    ``then`` are the commands that make the change take effect (``systemctl daemon-reload``,
    ``mount -o remount /``), run in order after the file is in place."""

    path: str
    before: str
    after: str
    why: str
    validate: tuple[str, ...] = ()
    then: tuple[tuple[str, ...], ...] = ()
    #: The validator may be missing (``udevadm verify`` is new in systemd 254): then skip it.
    validate_optional: bool = False
    kind: str = "file"

    @property
    def target(self) -> str:
        return self.path

    def diff(self) -> str:
        return unified_diff(self.path, self.before, self.after)


FILE_PLACEHOLDER = "{file}"


@dataclass(frozen=True)
class SysfsWrite:
    """Write one value into a sysfs file (takes effect at once, lost at reboot)."""

    path: str
    old: str
    new: str
    why: str
    kind: str = "sysfs"

    @property
    def target(self) -> str:
        return self.path

    def diff(self) -> str:
        return f"--- a{self.path}\n+++ b{self.path}\n-{self.old}\n+{self.new}\n"


@dataclass(frozen=True)
class StateCheck:
    """Where a command's effect can be read back, and what it reads before and after it ran.

    Either a ``key`` of a Proxmox VM config file at ``path`` (``qm set 101 --scsi0 …`` changes
    the ``scsi0:`` line; ``before`` None = the key was absent), or the first word a read-only
    command prints (``systemctl is-enabled fstrim.timer``). The apply layer reads it before the
    command (the plan still holds), after a crash (did the command run?) and before undo (was
    the value changed since? then undo must not set the old value over the admin's)."""

    before: str | None
    after: str
    path: str | None = None
    key: str | None = None
    argv: tuple[str, ...] | None = None

    @property
    def target(self) -> str:
        return f"{self.path} {self.key}" if self.path else " ".join(self.argv or ())


@dataclass(frozen=True)
class CommandRun:
    """Run a command; ``undo`` is the command that takes it back (None: cannot be undone);
    ``check`` says where its effect can be read back (None: nowhere, the journal's word counts)."""

    argv: tuple[str, ...]
    undo: tuple[str, ...] | None
    why: str
    check: StateCheck | None = None
    kind: str = "command"

    @property
    def target(self) -> str:
        return shlex.join(self.argv)

    def diff(self) -> str:
        undo = f"\n# undo: {shlex.join(self.undo)}" if self.undo else "\n# cannot be undone"
        return f"$ {shlex.join(self.argv)}{undo}\n"


Change = Union[FileEdit, SysfsWrite, CommandRun]  # a runtime alias: `X | Y` needs Python 3.10


@dataclass(frozen=True)
class Plan:
    """What a step would change. ``warnings`` are shown before the admin confirms; ``notes``
    say what follows (a VM restart, a live migration) and what the change does not do."""

    step_id: str
    changes: tuple[Change, ...]
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.changes

    def to_report(self) -> dict[str, Any]:
        """The report's ``plan`` field (DESIGN §3.2), with the words and warnings beside the diffs."""
        return {
            "changes": [{"kind": c.kind, "target": c.target, "diff": c.diff(), "why": c.why} for c in self.changes],
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }
