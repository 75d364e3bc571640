"""The undo journal: one folder per apply under /var/lib/ssdwizard/journal/ (below a profile's
root when replaying one), holding the original bytes, mode and owner of every file it changed
and what each change did, written before the change is made."""

from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from ssdwizard.apply.plan import Change, CommandRun, FileEdit, SysfsWrite
from ssdwizard.system import STATE_DIR, FileStat, Writer

JOURNAL_DIR = f"{STATE_DIR}/journal"


class JournalError(Exception):
    """No such journal entry, or it cannot be read."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class JournalEntry:
    writer: Writer
    id: str
    step: str
    created: str
    state: str = "started"
    error: str | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def folder(self) -> str:
        return f"{JOURNAL_DIR}/{self.id}"

    def describe(self, index: int, change: Change) -> None:
        if isinstance(change, FileEdit):
            record: dict[str, Any] = {"kind": "file", "path": change.path}
        elif isinstance(change, SysfsWrite):
            record = {"kind": "sysfs", "path": change.path, "old": change.old, "new": change.new}
        elif isinstance(change, CommandRun):
            record = {"kind": "command", "argv": list(change.argv), "undo": list(change.undo) if change.undo else None}
        else:
            raise TypeError(f"unknown change {change!r}")
        record.update(why=change.why, applied=False)
        while len(self.changes) <= index:
            self.changes.append({})
        self.changes[index] = record

    def back_up(self, index: int, change: FileEdit, real: str, data: bytes, like: FileStat | None) -> None:
        """Keep the original bytes, mode and owner before the file is touched."""
        backup = f"{index}.orig"
        self.writer.write_new(f"{self.folder}/{backup}", data)
        created = []
        folder = PurePosixPath(real).parent
        while like is None and not self.writer.host(str(folder)).exists() and folder != folder.parent:
            created.append(str(folder))  # deepest first: the order undo removes them in
            folder = folder.parent
        self.changes[index].update(real_path=real, backup=backup, existed=like is not None, created_dirs=created,
                                   mode=like.mode if like else None, uid=like.uid if like else None,
                                   gid=like.gid if like else None, before_sha256=_sha256(data))

    def mark_applied(self, index: int, after_sha256: str | None = None) -> None:
        self.changes[index]["applied"] = True
        if after_sha256:
            self.changes[index]["after_sha256"] = after_sha256
        self.save()

    def applied_indexes(self) -> list[int]:
        return [i for i, record in enumerate(self.changes) if record.get("applied")]

    def save(self) -> None:
        data = {"id": self.id, "step": self.step, "created": self.created, "state": self.state,
                "error": self.error, "changes": self.changes}
        self.writer.write_new(f"{self.folder}/entry.json", json.dumps(data, indent=2).encode())

    def finish(self, state: str, error: str | None = None) -> None:
        self.state, self.error = state, error
        self.save()

    def conflicts(self) -> list[str]:
        """Targets that no longer hold what was written (edited since): undo must not touch them."""
        found = []
        for index in self.applied_indexes():
            record = self.changes[index]
            if record["kind"] == "file":
                current = self.writer.read_bytes(record["real_path"])
                if current is None or _sha256(current) != record.get("after_sha256"):
                    found.append(f"{record['real_path']} was changed after ssdwizard wrote it "
                                 f"(entry {self.id}); nothing was restored. The original is in {self.folder}/"
                                 f"{record['backup']}")
            elif record["kind"] == "sysfs":
                current = (self.writer.read_bytes(record["path"]) or b"").decode("ascii", errors="replace").strip()
                if current != record["new"] and f"[{record['new']}]" not in current.split():
                    found.append(f"{record['path']} now holds {current!r}, not {record['new']!r}; nothing was restored")
        return found

    def restore(self, index: int, change: Change | None) -> str:
        """Undo one applied change from what the journal holds (``change`` is not needed)."""
        record = self.changes[index]
        if record["kind"] == "file":
            original = self.writer.read_bytes(f"{self.folder}/{record['backup']}")
            if original is None:
                raise JournalError(f"the backup {self.folder}/{record['backup']} is missing")
            if not record["existed"]:
                self.writer.remove(record["real_path"])
                for folder in record.get("created_dirs", []):
                    self.writer.remove_empty_dir(folder)
                return f"removed {record['real_path']} (it did not exist before)"
            like = FileStat(record["mode"], record["uid"], record["gid"], len(original), 0)
            self.writer.replace_file(record["real_path"], original, like)
            return f"restored {record['real_path']}"
        if record["kind"] == "sysfs":
            self.writer.write_value(record["path"], record["old"])
            return f"set {record['path']} back to {record['old']}"
        if record["kind"] == "command":
            if not record["undo"]:
                return f"`{' '.join(record['argv'])}` cannot be undone: do it by hand"
            result = self.writer.run_change(tuple(record["undo"]))
            if not result.ok:
                raise JournalError(f"`{' '.join(record['undo'])}` failed: {result.stderr.strip()[:200]}")
            return f"ran {' '.join(record['undo'])}"
        raise JournalError(f"unknown change kind {record['kind']!r}")


class Journal:
    def __init__(self, writer: Writer) -> None:
        self.writer = writer

    def new_entry(self, step: str, changes: list[Change] | None = None) -> JournalEntry:
        now = datetime.datetime.now(datetime.timezone.utc)
        base = f"{now:%Y%m%d-%H%M%S}-{step}"
        existing = set(self._ids())
        entry_id = base
        counter = 1
        while entry_id in existing:
            counter += 1
            entry_id = f"{base}-{counter}"
        self.writer.make_dirs(f"{JOURNAL_DIR}/{entry_id}")
        entry = JournalEntry(self.writer, entry_id, step, now.isoformat(timespec="seconds"))
        for index, change in enumerate(changes or []):
            entry.describe(index, change)
        return entry

    def _ids(self) -> list[str]:
        folder = self.writer.host(JOURNAL_DIR)
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []

    def load(self, entry_id: str) -> JournalEntry:
        raw = self.writer.read_bytes(f"{JOURNAL_DIR}/{entry_id}/entry.json")
        if raw is None:
            raise JournalError(f"no journal entry {entry_id!r} (entries: {', '.join(self._ids()) or 'none'})")
        try:
            data = json.loads(raw)
            return JournalEntry(self.writer, data["id"], data["step"], data["created"], data["state"],
                                data.get("error"), data["changes"])
        except (ValueError, KeyError, TypeError) as exc:
            raise JournalError(f"journal entry {entry_id} is unreadable: {exc}") from None

    def entries(self) -> list[JournalEntry]:
        return [self.load(i) for i in self._ids()]

    def find(self, entry_id: str | None) -> JournalEntry:
        """The named entry, or the newest one that was applied and not undone."""
        if entry_id:
            entry = self.load(entry_id)
            if entry.state != "done":
                raise JournalError(f"journal entry {entry_id} is {entry.state}, not applied: nothing to undo")
            return entry
        done = [e for e in self.entries() if e.state == "done"]
        if not done:
            raise JournalError("nothing to undo: no applied change in the journal")
        return done[-1]
