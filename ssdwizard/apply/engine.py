"""Applying a plan: nothing lost, ever (DESIGN §4).

preconditions → lock → an interrupted earlier run must be undone first → re-read (abort if a
target changed since the plan) → journal with every original and every change's before/after,
written before anything is touched → for each change: temp file, validate, fsync, re-check,
rename → the follow-up commands → read back and verify → journal entry done. A failure puts
back, newest first, what this run changed and keeps what someone else changed meanwhile.

:func:`undo` puts back the last (or a named) entry: applied, or interrupted by a kill in apply
or in undo. It asks each target where it stands (:mod:`ssdwizard.apply.targets`): as written →
restored; as before → left; changed since → nothing is touched and it says so. That makes a
second undo finish what a killed one began.
"""

from __future__ import annotations

import contextlib
import difflib
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from ssdwizard.apply.journal import Journal, JournalEntry, JournalError, PreparedFile, check_from, like_from
from ssdwizard.apply.plan import FILE_PLACEHOLDER, Change, CommandRun, FileEdit, Plan, SysfsWrite
from ssdwizard.machine.proxmox import PVE_DIR
from ssdwizard.apply.targets import Where, current_text, read_check, target_key, value_holds, where
from ssdwizard.system.base import CommandResult, System
from ssdwizard.system.writer import ConcurrentEdit, LockedError, PMXCFS_MAX_FILE_BYTES, SANDBOX_TAG, SANDBOX_UNITS, Writer

LOCK_FILE = "apply.lock"


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


def preconditions(system: System, plan: Plan, writer: Writer | None = None) -> list[str]:
    """Everything that would stop the plan, found before anything is written."""
    writer = writer or system.writer()
    problems: list[str] = []
    if not writer.is_root():
        problems.append("applying changes needs root (planning does not): run it with sudo")
    why = writer.why_no_journal()
    if why:
        problems.append(why)
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


def _checker(writer: Writer, change: FileEdit, original: str) -> Callable[[Any], None] | None:
    """A check of the candidate: it may not fail in a way the original does not. findmnt
    --verify also reports sources it cannot reach (a UUID of a disk not in this machine, or
    any disk at all when the file is a profile's): those are the original's errors too."""
    if not change.validate:
        return None

    def check(candidate: Any) -> None:
        after = writer.run_tool(tuple(str(candidate) if a == FILE_PLACEHOLDER else a for a in change.validate))
        if after.missing and change.validate_optional:
            return
        if after.missing:
            raise ValidationFailed(f"{change.validate[0]} is not installed: cannot check the new {change.path}")
        if after.ok:
            return
        before = writer.run_tool(tuple(original if a == FILE_PLACEHOLDER else a for a in change.validate))
        new = _error_lines(after) - _error_lines(before) if not before.ok else _error_lines(after) or {"(failed)"}
        if new:
            shown = "; ".join(sorted(new))
            raise ValidationFailed(f"the new {change.path} fails `{' '.join(change.validate[:-1])}`: {shown}")

    return check


_LINE = re.compile(r"(?<=\n)")
_BYTE_LINE = re.compile(rb"(?<=\n)")


def merge_bytes(raw: bytes, before: str, after: str, path: str) -> bytes:
    """The new file's bytes. A plan is text (undecodable bytes read as U+FFFD); the file may not
    be UTF-8 (a Latin-1 mount point in fstab). Every line the plan leaves alone keeps its bytes
    exactly; a line the plan would rewrite must be UTF-8, or the change is refused rather than
    turning the admin's bytes into U+FFFD."""
    try:
        raw.decode("utf-8")
        return after.encode()
    except UnicodeDecodeError:
        pass
    raw_lines = _BYTE_LINE.split(raw)
    before_lines = _LINE.split(before)
    if [line.decode("utf-8", errors="replace") for line in raw_lines] != before_lines:
        raise ApplyRefused([f"{path} changed since the plan was made: run the step again"])
    after_lines = _LINE.split(after)
    merged: list[bytes] = []
    matcher = difflib.SequenceMatcher(None, before_lines, after_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            merged.extend(raw_lines[i1:i2])
            continue
        for number in range(i1, i2):
            try:
                raw_lines[number].decode("utf-8")
            except UnicodeDecodeError:
                raise ApplyRefused([f"{path}: line {number + 1} holds bytes that are not UTF-8 and the change would "
                                    "rewrite it; edit that line by hand (nothing was written)"]) from None
        merged.extend(line.encode() for line in after_lines[j1:j2])
    return b"".join(merged)


def apply_plan(system: System, plan: Plan, fault: Callable[[str], None] | None = None) -> Applied:
    """Apply every change of ``plan`` or none; see the module docstring for the order."""
    writer = system.writer()
    problems = preconditions(system, plan, writer)
    if problems:
        raise ApplyRefused(problems)
    try:
        with writer.lock(f"{writer.state_dir}/{LOCK_FILE}"):
            return _apply_locked(system, writer, plan, fault)
    except LockedError as exc:
        raise ApplyRefused([str(exc)]) from None


def _refuse_if_interrupted(writer: Writer, journal: Journal) -> None:
    """An earlier run that a kill or a crash interrupted must be undone first: a new plan made
    over its half-made changes would bury them. One that changed nothing is closed quietly."""
    for entry in journal.interrupted():
        states = [where(writer, record) for record in entry.changes]
        if all(state is Where.BEFORE for state in states):
            # Nothing of it is in place: an apply killed before its first change, or an undo
            # killed after its last restore.
            _clean_temps(writer, entry)
            if entry.state == "undoing":
                entry.finish("undone")
            else:
                entry.finish("abandoned", "interrupted before it changed anything")
            continue
        raise ApplyRefused([f"the run {entry.id} was interrupted (killed or crashed) with changes made: "
                            f"run `ssdwizard --undo {entry.id}` to put them back, then apply again"])


def _prepare(system: System, writer: Writer, plan: Plan) -> dict[int, PreparedFile]:
    """Read every target again: what the plan was made from must still hold."""
    prepared: dict[int, PreparedFile] = {}
    for index, change in enumerate(plan.changes):
        if isinstance(change, FileEdit):
            real = system.realpath(change.path)
            data = writer.read_bytes(real)
            if (data or b"").decode("utf-8", errors="replace") != change.before:
                raise ApplyRefused([f"{change.path} changed since the plan was made: run the step again"])
            new = merge_bytes(data, change.before, change.after, change.path) if data else change.after.encode()
            prepared[index] = PreparedFile(real, data, writer.stat(real) if data is not None else None, new)
        elif isinstance(change, SysfsWrite):
            current = (writer.read_bytes(change.path) or b"").decode("ascii", errors="replace")
            if not value_holds(current, change.old):
                raise ApplyRefused([f"{change.path} now holds {current.strip()!r}, not {change.old!r}: run the step again"])
        elif isinstance(change, CommandRun) and change.check is not None:
            now = read_check(writer, change.check)
            if now != change.check.before and not _earlier_change_leads_here(plan, index):
                raise ApplyRefused([f"{change.check.target} now reads {now!r}, not {change.check.before!r}: "
                                    "it changed since the plan was made; run the step again"])
    return prepared


def _earlier_change_leads_here(plan: Plan, index: int) -> bool:
    """``systemctl unmask`` then ``enable``: the second's "before" is what the first leaves."""
    change = plan.changes[index]
    assert isinstance(change, CommandRun) and change.check is not None
    return any(isinstance(c, CommandRun) and c.check is not None and c.check.target == change.check.target
               and c.check.after == change.check.before for c in plan.changes[:index])


def _apply_locked(system: System, writer: Writer, plan: Plan, fault: Callable[[str], None] | None) -> Applied:
    journal = Journal(writer)
    _refuse_if_interrupted(writer, journal)
    prepared = _prepare(system, writer, plan)
    try:
        entry = journal.create(plan.step_id, list(plan.changes), prepared)
    except OSError as exc:
        # A full or read-only /var/lib: refused while every target is untouched.
        raise ApplyRefused([f"cannot keep the undo journal in {writer.state_dir}: {exc.strerror or exc}; nothing was "
                            "changed"]) from None
    applied = Applied(entry.id)
    try:
        for index, change in enumerate(plan.changes):
            applied.done.append(_apply_one(writer, entry, index, change, prepared.get(index), fault))
        # The follow-ups run once every file is in place; one that fails (a remount the kernel
        # refuses) is reported, not rolled back: the files are valid and take effect at boot.
        for change in plan.changes:
            if isinstance(change, FileEdit):
                for argv in change.then:
                    applied.followups.append(writer.run_change(argv))
        _verify(writer, plan, prepared)
    except Exception as exc:  # noqa: BLE001 - every failure is rolled back, then reported
        restored = _put_back(writer, entry, refuse_on_conflict=False)
        with contextlib.suppress(OSError):  # the journal's disk failing too: it stays "started", undo finishes it
            entry.finish("failed", str(exc))
        message = str(exc) if isinstance(exc, (ValidationFailed, ConcurrentEdit)) else f"{type(exc).__name__}: {exc}"
        raise ApplyFailed(message, restored, entry.id) from exc
    with contextlib.suppress(OSError):  # everything is in place; a "started" entry is undone just the same
        entry.finish("done")
    return applied


def _apply_one(writer: Writer, entry: JournalEntry, index: int, change: Change, file: PreparedFile | None,
               fault: Callable[[str], None] | None) -> str:
    if isinstance(change, FileEdit):
        assert file is not None
        checker = _checker(writer, change, str(writer.host(file.real)))
        writer.replace_file(file.real, file.new, file.like, checker, fault, expect=file.original,
                            expect_missing=file.original is None, tag=entry.temp_tag(index, "new"))
        entry.mark(index, applied=True)
        return f"wrote {file.real}" + (f" (through {change.path})" if file.real != change.path else "") + f": {change.why}"
    if isinstance(change, SysfsWrite):
        try:
            writer.write_value(change.path, change.new)
        except OSError as exc:
            raise OSError(f"the kernel refused {change.new!r} for {change.path}: {exc.strerror or exc}") from None
        entry.mark(index, applied=True)
        return f"set {change.path} to {change.new}: {change.why}"
    if isinstance(change, CommandRun):
        entry.mark(index, started=True)
        result = writer.run_change(change.argv)
        if not result.ok:
            raise RuntimeError(f"`{change.target}` failed (exit {result.exit_code}): {result.stderr.strip()[:300]}")
        entry.mark(index, applied=True)
        return f"ran {change.target}: {change.why}"
    raise TypeError(f"unknown change {change!r}")


def _verify(writer: Writer, plan: Plan, prepared: dict[int, PreparedFile]) -> None:
    """Read every change back: the file holds the new bytes, the sysfs file the new value. A file
    that reads otherwise was changed by someone between the rename and now: theirs is kept."""
    for index, change in enumerate(plan.changes):
        if isinstance(change, FileEdit):
            real = prepared[index].real
            if writer.read_bytes(real) != prepared[index].new:
                raise ConcurrentEdit(f"{real} was changed by someone else right after ssdwizard wrote it: their text "
                                     "is kept")
        elif isinstance(change, SysfsWrite):
            current = (writer.read_bytes(change.path) or b"").decode("ascii", errors="replace")
            if not value_holds(current, change.new):
                raise RuntimeError(f"{change.path} reads back {current.strip()!r}, not {change.new!r}")


def _conflicts(writer: Writer, entry: JournalEntry) -> list[str]:
    """Targets that hold neither what the run found nor what it wrote: changed by someone else
    since. Changes to one target (unmask, then enable) are judged together."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in entry.changes:
        groups.setdefault(target_key(record), []).append(record)
    found = []
    for records in groups.values():
        states = [where(writer, record) for record in records]
        if states[0] is Where.BEFORE or any(s in (Where.AFTER, Where.UNKNOWN) for s in states):
            continue
        record = records[-1]
        found.append(f"{_name(record)} was changed after ssdwizard wrote it (entry {entry.id}; it is now "
                     f"{current_text(writer, record)}); nothing was restored." +
                     (f" The original is in {entry.backup_path(entry.changes.index(records[0]))}"
                      if record["kind"] == "file" else ""))
    return found


def _name(record: dict[str, Any]) -> str:
    if record["kind"] == "file":
        return record["real_path"]
    if record["kind"] == "sysfs":
        return record["path"]
    check = check_from(record)
    return check.target if check else " ".join(record["argv"])


def _put_back(writer: Writer, entry: JournalEntry, refuse_on_conflict: bool) -> list[str]:
    """Restore, newest first, every change of the entry whose target holds what the run wrote.
    Targets as they were are left alone; targets someone else changed are kept (said), and with
    ``refuse_on_conflict`` nothing at all is touched then."""
    if refuse_on_conflict:
        conflicts = _conflicts(writer, entry)
        if conflicts:
            raise ApplyRefused(conflicts)
    if entry.state != "undoing" and refuse_on_conflict:
        entry.finish("undoing")
    _clean_temps(writer, entry)  # first: a folder apply made is empty again only without them
    lines = []
    for index in reversed(range(len(entry.changes))):
        record = entry.changes[index]
        state = where(writer, record)
        try:
            if state is Where.AFTER or (state is Where.UNKNOWN and record.get("undo")):
                lines.append(_restore(writer, entry, index))
            elif state is Where.OTHER and not refuse_on_conflict:
                lines.append(f"kept {_name(record)}: someone else changed it meanwhile (now {current_text(writer, record)})"
                             + (f"; the original is in {entry.backup_path(index)}" if record["kind"] == "file" else ""))
            elif state is Where.OTHER:
                # A target of a group that an earlier restore in this walk has not reached yet.
                lines.append(f"left {_name(record)} as it is now ({current_text(writer, record)})")
            elif state is Where.UNKNOWN:
                lines.append(f"`{' '.join(record['argv'])}` may have run and cannot be undone: check it by hand")
            elif record["kind"] == "file" and not record["existed"]:
                # The new file is gone already (an undo killed after removing it): the folders
                # apply made for it go too, if nothing else was put in them.
                for folder in record.get("created_dirs", []):
                    writer.remove_empty_dir(folder)
        except Exception as exc:  # noqa: BLE001 - keep restoring the others
            lines.append(f"could not restore {_name(record)}: {exc} (the journal entry {entry.id} keeps the original)")
    _clean_temps(writer, entry)
    return lines


def _restore(writer: Writer, entry: JournalEntry, index: int) -> str:
    """Put one change back from the journal."""
    record = entry.changes[index]
    kind = record["kind"]
    if kind == "file":
        original = entry.backup(index)
        real = record["real_path"]
        if not record["existed"]:
            writer.remove(real)
            for folder in record.get("created_dirs", []):
                writer.remove_empty_dir(folder)
            return f"removed {real} (it did not exist before)"
        current = writer.read_bytes(real)
        writer.replace_file(real, original, like_from(record, len(original)), expect=current,
                            tag=entry.temp_tag(index, "undo"))
        return f"restored {real}"
    if kind == "sysfs":
        writer.write_value(record["path"], record["old"])
        return f"set {record['path']} back to {record['old']}"
    if kind == "command":
        if not record["undo"]:
            return f"`{' '.join(record['argv'])}` cannot be undone: do it by hand"
        result = writer.run_change(tuple(record["undo"]))
        if not result.ok:
            raise JournalError(f"`{' '.join(record['undo'])}` failed: {result.stderr.strip()[:200]}")
        return f"ran {' '.join(record['undo'])}"
    raise JournalError(f"unknown change kind {kind!r}")


def _clean_temps(writer: Writer, entry: JournalEntry) -> None:
    """Temporary files a killed run left beside its targets (their names carry the entry id),
    and those of a profile's stand-ins (a sysfs value, a VM config, the unit states)."""
    for index, record in enumerate(entry.changes):
        if record["kind"] == "file":
            for phase in ("new", "undo"):
                writer.remove_temp(record["real_path"], entry.temp_tag(index, phase))
        elif writer.simulate_commands:
            check = check_from(record) if record["kind"] == "command" else None
            path = record["path"] if record["kind"] == "sysfs" else check.path if check else SANDBOX_UNITS
            if path is not None:
                writer.remove_temp(writer.system.realpath(path), SANDBOX_TAG)


def undo(system: System, journal_id: str | None = None) -> list[str]:
    """Restore the last entry (or ``journal_id``): applied, or interrupted in apply or undo.
    On any conflict nothing is overwritten. Returns a line per change."""
    writer = system.writer()
    if not writer.is_root():
        raise ApplyRefused(["undoing changes needs root: run it with sudo"])
    try:
        with writer.lock(f"{writer.state_dir}/{LOCK_FILE}"):
            journal = Journal(writer)
            entry = journal.find(journal_id)
            interrupted = entry.state in ("started", "undoing")
            states = [where(writer, record) for record in entry.changes]
            if entry.state == "started" and all(s is Where.BEFORE for s in states):
                _clean_temps(writer, entry)
                entry.finish("abandoned", "interrupted before it changed anything")
                return [f"the run {entry.id} was interrupted before it changed anything: nothing to restore"]
            lines = _put_back(writer, entry, refuse_on_conflict=True)
            entry.finish("undone")
            if interrupted and not lines:
                lines = [f"the run {entry.id} was interrupted; everything was already as before"]
            return lines
    except LockedError as exc:
        raise ApplyRefused([str(exc)]) from None
