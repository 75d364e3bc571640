"""Applying a plan: nothing lost, ever (DESIGN §4).

preconditions → lock → re-read (abort if a file changed since the plan) → journal with the
original bytes, mode and owner → for each change: temp file, validate, fsync, rename → the
follow-up commands → read back and verify → journal entry done. A failure restores what was
already changed and says so. :func:`undo` puts back the last (or a named) entry, only where
the file still holds what was written.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ssdwizard.apply.journal import Journal, JournalEntry
from ssdwizard.apply.plan import FILE_PLACEHOLDER, CommandRun, FileEdit, Plan, SysfsWrite
from ssdwizard.system import PMXCFS_MAX_FILE_BYTES, STATE_DIR, CommandResult, FileStat, LockedError, System, Writer

LOCK_PATH = f"{STATE_DIR}/apply.lock"
PVE_DIR = "/etc/pve"


class ApplyRefused(Exception):
    """A precondition failed: nothing was written."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class ApplyFailed(Exception):
    """A change failed part-way; ``restored`` says what was put back."""

    def __init__(self, message: str, restored: list[str], journal_id: str | None) -> None:
        super().__init__(message)
        self.restored = restored
        self.journal_id = journal_id


class ValidationFailed(Exception):
    """The candidate file failed its check; it never replaced the original."""


@dataclass
class Applied:
    """What an apply did: the journal id to undo it, a line per change, the follow-ups."""

    journal_id: str
    done: list[str] = field(default_factory=list)
    followups: list[CommandResult] = field(default_factory=list)

    @property
    def followup_failures(self) -> list[CommandResult]:
        return [r for r in self.followups if not r.ok]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def preconditions(system: System, plan: Plan, writer: Writer | None = None) -> list[str]:
    """Everything that would stop the plan, found before anything is written."""
    writer = writer or system.writer()
    problems: list[str] = []
    if not writer.is_root():
        problems.append("applying changes needs root (planning does not): run it with sudo")
    for change in plan.changes:
        if isinstance(change, FileEdit):
            real = system.realpath(change.path)
            why = writer.why_not_writable(real)
            if why:
                problems.append(why)
            if real == PVE_DIR or real.startswith(PVE_DIR + "/"):
                problems += _pmxcfs_problems(system, writer, real, change)
        elif isinstance(change, SysfsWrite) and writer.stat(change.path) is None:
            problems.append(f"{change.path}: does not exist (the device is gone?)")
    return problems


def _pmxcfs_problems(system: System, writer: Writer, real: str, change: FileEdit) -> list[str]:
    """/etc/pve is the Proxmox cluster filesystem: writable only with quorum, files up to 1 MiB.
    Without quorum pmxcfs shows its files read-only (no write bit), and refuses even root."""
    problems = []
    if not writer.simulate_commands:
        mounts = system.read_text("/proc/self/mountinfo") or ""
        if not any(f" {PVE_DIR} " in line and " - fuse" in line for line in mounts.splitlines()):
            problems.append(f"{PVE_DIR} is not mounted (is pve-cluster running?): {real} cannot be written")
    like = writer.stat(real)
    if like is not None and not like.mode & 0o200:
        problems.append(f"{real}: read-only in {PVE_DIR} (the cluster has no quorum?); check `pvecm status`")
    if len(change.after.encode()) >= PMXCFS_MAX_FILE_BYTES:
        problems.append(f"{real}: the new text is over pmxcfs' 1 MiB limit for a file")
    return problems


def _error_lines(result: CommandResult) -> set[str]:
    """The lines of a validator's output that report an error (findmnt: "[E] …", "parse error")."""
    lines = (result.stdout + "\n" + result.stderr).splitlines()
    return {line.strip() for line in lines if "[E]" in line or "parse error" in line}


def _checker(writer: Writer, change: FileEdit, original: Path) -> Callable[[Path], None] | None:
    """A check of the candidate: it may not fail in a way the original does not. findmnt
    --verify also reports sources it cannot reach (a UUID of a disk not in this machine, or
    any disk at all when the file is a profile's): those are the original's errors too."""
    if not change.validate:
        return None

    def check(candidate: Path) -> None:
        after = writer.run_tool(tuple(str(candidate) if a == FILE_PLACEHOLDER else a for a in change.validate))
        if after.missing and change.validate_optional:
            return
        if after.missing:
            raise ValidationFailed(f"{change.validate[0]} is not installed: cannot check the new {change.path}")
        if after.ok:
            return
        before = writer.run_tool(tuple(str(original) if a == FILE_PLACEHOLDER else a for a in change.validate))
        new = _error_lines(after) - _error_lines(before) if not before.ok else _error_lines(after) or {"(failed)"}
        if new:
            shown = "; ".join(sorted(new))
            raise ValidationFailed(f"the new {change.path} fails `{' '.join(change.validate[:-1])}`: {shown}")

    return check


def _value_holds(current: str | None, value: str) -> bool:
    """A sysfs file holds ``value``: plainly, or bracketed among the choices (queue/scheduler)."""
    if current is None:
        return False
    text = current.strip()
    return text == value or f"[{value}]" in text.split()


def apply_plan(system: System, plan: Plan, fault: Callable[[str], None] | None = None) -> Applied:
    """Apply every change of ``plan`` or none; see the module docstring for the order."""
    writer = system.writer()
    problems = preconditions(system, plan, writer)
    if problems:
        raise ApplyRefused(problems)
    try:
        with writer.lock(LOCK_PATH):
            return _apply_locked(system, writer, plan, fault)
    except LockedError as exc:
        raise ApplyRefused([str(exc)]) from None


def _apply_locked(system: System, writer: Writer, plan: Plan, fault: Callable[[str], None] | None) -> Applied:
    originals: dict[int, tuple[str, bytes, FileStat | None]] = {}
    for index, change in enumerate(plan.changes):
        if isinstance(change, FileEdit):
            real = system.realpath(change.path)
            data = writer.read_bytes(real)
            if (data or b"").decode("utf-8", errors="replace") != change.before:
                raise ApplyRefused([f"{change.path} changed since the plan was made: run the step again"])
            originals[index] = (real, data or b"", writer.stat(real))
        elif isinstance(change, SysfsWrite):
            current = (writer.read_bytes(change.path) or b"").decode("ascii", errors="replace")
            if not _value_holds(current, change.old):
                raise ApplyRefused([f"{change.path} now holds {current.strip()!r}, not {change.old!r}: run the step again"])
    entry = Journal(writer).new_entry(plan.step_id, list(plan.changes))
    for index, (real, data, like) in originals.items():
        entry.back_up(index, plan.changes[index], real, data, like)
    entry.save()
    applied = Applied(entry.id)
    try:
        for index, change in enumerate(plan.changes):
            applied.done.append(_apply_one(writer, entry, index, change, originals.get(index), fault))
        # The follow-ups run once every file is in place; one that fails (a remount the kernel
        # refuses) is reported, not rolled back: the files are valid and take effect at boot.
        for change in plan.changes:
            if isinstance(change, FileEdit):
                for argv in change.then:
                    applied.followups.append(writer.run_change(argv))
        _verify(writer, plan, originals)
    except Exception as exc:  # noqa: BLE001 - every failure is rolled back, then reported
        restored = _roll_back(writer, entry, plan)
        entry.finish("failed", str(exc))
        raise ApplyFailed(f"{type(exc).__name__}: {exc}" if not isinstance(exc, ValidationFailed) else str(exc),
                          restored, entry.id) from exc
    entry.finish("done")
    return applied


def _apply_one(writer: Writer, entry: JournalEntry, index: int, change, original, fault) -> str:
    if isinstance(change, FileEdit):
        real, _, like = original
        data = change.after.encode()
        try:
            writer.replace_file(real, data, like, _checker(writer, change, writer.host(real)), fault)
        except BaseException:
            if writer.read_bytes(real) == data:  # it failed after the rename: the new file is in place
                entry.mark_applied(index, after_sha256=sha256(data))
            raise
        entry.mark_applied(index, after_sha256=sha256(data))
        return f"wrote {real}" + (f" (through {change.path})" if real != change.path else "") + f": {change.why}"
    if isinstance(change, SysfsWrite):
        try:
            writer.write_value(change.path, change.new)
        except OSError as exc:
            raise OSError(f"the kernel refused {change.new!r} for {change.path}: {exc.strerror or exc}") from None
        entry.mark_applied(index)
        return f"set {change.path} to {change.new}: {change.why}"
    if isinstance(change, CommandRun):
        result = writer.run_change(change.argv)
        if not result.ok:
            raise RuntimeError(f"`{change.target}` failed (exit {result.exit_code}): {result.stderr.strip()[:300]}")
        entry.mark_applied(index)
        return f"ran {change.target}: {change.why}"
    raise TypeError(f"unknown change {change!r}")


def _verify(writer: Writer, plan: Plan, originals: dict[int, tuple[str, bytes, FileStat | None]]) -> None:
    """Read every change back: the file holds the new text, the sysfs file the new value."""
    for index, change in enumerate(plan.changes):
        if isinstance(change, FileEdit):
            real = originals[index][0]
            if writer.read_bytes(real) != change.after.encode():
                raise RuntimeError(f"{real} does not read back as written")
        elif isinstance(change, SysfsWrite):
            current = (writer.read_bytes(change.path) or b"").decode("ascii", errors="replace")
            if not _value_holds(current, change.new):
                raise RuntimeError(f"{change.path} reads back {current.strip()!r}, not {change.new!r}")


def _roll_back(writer: Writer, entry: JournalEntry, plan: Plan) -> list[str]:
    """Put back, newest first, every change already made; say what was restored."""
    restored = []
    for index in reversed(entry.applied_indexes()):
        change = plan.changes[index]
        try:
            restored.append(entry.restore(index, change))
        except Exception as exc:  # noqa: BLE001 - keep restoring the others
            restored.append(f"could not restore {change.target}: {exc} (the original is in {entry.folder})")
    return restored


def undo(system: System, journal_id: str | None = None) -> list[str]:
    """Restore the last applied entry (or ``journal_id``), only where each target still holds
    what was written; on any conflict nothing is overwritten. Returns a line per change."""
    writer = system.writer()
    if not writer.is_root():
        raise ApplyRefused(["undoing changes needs root: run it with sudo"])
    try:
        with writer.lock(LOCK_PATH):
            journal = Journal(writer)
            entry = journal.find(journal_id)
            conflicts = entry.conflicts()
            if conflicts:
                raise ApplyRefused(conflicts)
            lines = [entry.restore(index, None) for index in reversed(entry.applied_indexes())]
            entry.finish("undone")
            return lines
    except LockedError as exc:
        raise ApplyRefused([str(exc)]) from None
