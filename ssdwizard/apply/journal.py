"""The undo journal: one folder per apply under /var/lib/ssdwizard/journal/ (below a profile's
root when replaying one), holding the original bytes, mode, owner and extended attributes of
every file it changes and what each change will do, all written before the first change.

Every change's record says from the start what the target holds before and what it will hold
after (hashes for files, values for sysfs, the read-back of a command's :class:`StateCheck`).
That is what makes undo independent of how far a run got: after a crash, a kill or a power cut
the journal may say "started", and undo asks each target where it stands instead of trusting a
flag that the kill may have come before. Each entry carries a sequence number: two runs in the
same second are ordered by it, not by their names.

Files are written whole and renamed into place (:meth:`Writer.write_private`): an entry is
either absent or complete, and one unreadable entry never stops undo of the others.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from ssdwizard.apply.plan import Change, CommandRun, FileEdit, StateCheck, SysfsWrite
from ssdwizard.system.writer import FileStat, Writer

ENTRY_FILE = "entry.json"
# An entry a run is still making, or that a kill interrupted (in apply or in undo): undo
# finishes it. "done" is applied; the rest are final.
OPEN_STATES = frozenset({"started", "undoing"})
UNDOABLE_STATES = OPEN_STATES | {"done"}


def journal_dir(writer: Writer) -> str:
    return f"{writer.state_dir}/journal"


class JournalError(Exception):
    """No such journal entry, or it cannot be read."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class PreparedFile:
    """A file change as apply will make it: the file behind any link, its bytes and metadata
    now, and the exact bytes it will hold."""

    real: str
    original: bytes | None  # None: the file does not exist yet
    like: FileStat | None
    new: bytes


def _record(change: Change, prepared: PreparedFile | None) -> dict[str, Any]:
    if isinstance(change, FileEdit):
        assert prepared is not None
        like = prepared.like
        record: dict[str, Any] = {
            "kind": "file", "path": change.path, "real_path": prepared.real, "existed": prepared.original is not None,
            "before_sha256": sha256(prepared.original) if prepared.original is not None else None,
            "after_sha256": sha256(prepared.new),
            "mode": like.mode if like else None, "uid": like.uid if like else None, "gid": like.gid if like else None,
            "xattrs": [[name, base64.b64encode(value).decode()] for name, value in (like.xattrs if like else ())],
        }
    elif isinstance(change, SysfsWrite):
        record = {"kind": "sysfs", "path": change.path, "old": change.old, "new": change.new}
    elif isinstance(change, CommandRun):
        check = change.check
        record = {"kind": "command", "argv": list(change.argv), "undo": list(change.undo) if change.undo else None,
                  "check": None if check is None else {"before": check.before, "after": check.after, "path": check.path,
                                                       "key": check.key,
                                                       "argv": list(check.argv) if check.argv else None},
                  "started": False}
    else:
        raise TypeError(f"unknown change {change!r}")
    record.update(why=change.why, applied=False)
    return record


def check_from(record: dict[str, Any]) -> StateCheck | None:
    data = record.get("check")
    if not data:
        return None
    return StateCheck(data["before"], data["after"], data.get("path"), data.get("key"),
                      tuple(data["argv"]) if data.get("argv") else None)


def like_from(record: dict[str, Any], size: int) -> FileStat:
    xattrs = tuple((name, base64.b64decode(value)) for name, value in record.get("xattrs") or ())
    return FileStat(record["mode"], record["uid"], record["gid"], size, 0, 1, xattrs)


@dataclass
class JournalEntry:
    writer: Writer
    id: str
    step: str
    created: str
    state: str = "started"
    error: str | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)
    seq: int = 0

    @property
    def folder(self) -> str:
        return f"{journal_dir(self.writer)}/{self.id}"

    def backup_path(self, index: int) -> str:
        return f"{self.folder}/{index}.orig"

    def temp_tag(self, index: int, phase: str) -> str:
        """The name of the temporary file a change of this entry writes beside its target."""
        return f"{self.id}-{index}.{phase}"

    def mark(self, index: int, **values: Any) -> None:
        self.changes[index].update(values)
        self.save()

    def save(self) -> None:
        data = {"id": self.id, "seq": self.seq, "step": self.step, "created": self.created, "state": self.state,
                "error": self.error, "changes": self.changes}
        self.writer.write_private(f"{self.folder}/{ENTRY_FILE}", json.dumps(data, indent=2).encode())

    def finish(self, state: str, error: str | None = None) -> None:
        self.state, self.error = state, error
        self.save()

    def backup(self, index: int) -> bytes:
        """The original bytes of a changed file, checked against the hash taken before."""
        record = self.changes[index]
        data = self.writer.read_bytes(self.backup_path(index))
        if data is None:
            raise JournalError(f"the backup {self.backup_path(index)} is missing")
        if record.get("before_sha256") and sha256(data) != record["before_sha256"]:
            raise JournalError(f"the backup {self.backup_path(index)} is damaged (its hash does not match)")
        return data


class Journal:
    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        #: Entries that could not be read (empty, garbled, missing entry.json), with the reason.
        self.unreadable: list[str] = []

    def create(self, step: str, changes: list[Change], prepared: dict[int, PreparedFile]) -> JournalEntry:
        """A new entry with every backup, written before anything is changed. Raises OSError
        (a full or read-only disk) before any target was touched."""
        now = datetime.datetime.now(datetime.timezone.utc)
        known = self.entries()
        seq = max((e.seq for e in known), default=0) + 1
        existing = set(self._ids())
        base = f"{now:%Y%m%d-%H%M%S}-{step}"
        entry_id, counter = base, 1
        while entry_id in existing:
            counter += 1
            entry_id = f"{base}-{counter}"
        entry = JournalEntry(self.writer, entry_id, step, now.isoformat(timespec="seconds"), seq=seq)
        entry.changes = [_record(change, prepared.get(index)) for index, change in enumerate(changes)]
        self.writer.private_dirs(entry.folder)
        for index, file in prepared.items():
            entry.changes[index]["backup"] = f"{index}.orig"
            entry.changes[index]["created_dirs"] = self._missing_dirs(file) if file.original is None else []
            self.writer.write_private(entry.backup_path(index), file.original or b"")
        entry.save()  # from here on undo knows the run: before this, nothing was changed
        return entry

    def _missing_dirs(self, file: PreparedFile) -> list[str]:
        created = []
        folder = PurePosixPath(file.real).parent
        while not self.writer.host(str(folder)).exists() and folder != folder.parent:
            created.append(str(folder))  # deepest first: the order undo removes them in
            folder = folder.parent
        return created

    def _ids(self) -> list[str]:
        folder = self.writer.host(journal_dir(self.writer))
        try:
            return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.is_symlink())
        except OSError:
            return []

    def load(self, entry_id: str) -> JournalEntry:
        if "/" in entry_id or entry_id in ("", ".", ".."):
            raise JournalError(f"no journal entry {entry_id!r}")
        raw = self.writer.read_bytes(f"{journal_dir(self.writer)}/{entry_id}/{ENTRY_FILE}")
        if raw is None:
            raise JournalError(f"no journal entry {entry_id!r} (entries: {', '.join(self._ids()) or 'none'})")
        try:
            data = json.loads(raw)
            entry = JournalEntry(self.writer, data["id"], data["step"], data["created"], data["state"],
                                 data.get("error"), data["changes"], int(data.get("seq") or 0))
            if not isinstance(entry.changes, list) or not all(isinstance(c, dict) for c in entry.changes):
                raise TypeError("changes must be a list of objects")
            return entry
        except (ValueError, KeyError, TypeError) as exc:
            raise JournalError(f"journal entry {entry_id} is unreadable: {exc}") from None

    def entries(self) -> list[JournalEntry]:
        """Every readable entry, oldest first (by sequence, then by name for entries written
        before sequences existed); the others are noted in :attr:`unreadable`."""
        found = []
        self.unreadable = []
        for entry_id in self._ids():
            try:
                found.append(self.load(entry_id))
            except JournalError as exc:
                self.unreadable.append(str(exc))
        return sorted(found, key=lambda e: (e.seq, e.created, e.id))

    def find(self, entry_id: str | None) -> JournalEntry:
        """The named entry, or the newest one that was applied, or interrupted, and not undone."""
        if entry_id:
            entry = self.load(entry_id)
            if entry.state not in UNDOABLE_STATES:
                raise JournalError(f"journal entry {entry_id} is {entry.state}: nothing to undo")
            return entry
        candidates = [e for e in self.entries() if e.state in UNDOABLE_STATES]
        if not candidates:
            raise JournalError("nothing to undo: no applied change in the journal")
        return candidates[-1]

    def interrupted(self) -> list[JournalEntry]:
        return [e for e in self.entries() if e.state in OPEN_STATES]
