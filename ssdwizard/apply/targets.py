"""Where a journalled change's target stands now: as before the change, as after it, or neither
(someone changed it since). Apply, rollback and undo all decide from this, never from a flag
that a kill may have come before or after."""

from __future__ import annotations

import enum
from typing import Any

from ssdwizard.apply.journal import check_from, sha256
from ssdwizard.apply.plan import StateCheck
from ssdwizard.system.writer import Writer


class Where(enum.Enum):
    BEFORE = "before"
    AFTER = "after"
    OTHER = "other"      # changed by someone else: never overwritten
    UNKNOWN = "unknown"  # a command whose effect cannot be read back


def value_holds(current: str | None, value: str) -> bool:
    """A sysfs file holds ``value``: plainly, or bracketed among the choices (queue/scheduler)."""
    if current is None:
        return False
    text = current.strip()
    return text == value or f"[{value}]" in text.split()


def vm_option(text: str, key: str) -> str | None:
    """A VM config option as it will apply: the ``[PENDING]`` value where a change waits for the
    VM's restart (``qm set`` on a running VM puts hot-unpluggable changes there), else the
    current section's; None when absent. Snapshot sections are not the VM's own settings."""
    current: str | None = None
    pending: str | None = None
    section = ""
    for line in text.splitlines():
        if line.startswith("["):
            section = line.strip()
            continue
        name, colon, value = line.partition(":")
        if not colon or name.strip() != key:
            continue
        if section == "":
            current = value.strip()
        elif section == "[PENDING]":
            pending = value.strip()
    return pending if pending is not None else current


def read_check(writer: Writer, check: StateCheck) -> str | None:
    """What a command's effect reads now: the VM option's value, or the first word a query prints."""
    if check.path is not None and check.key is not None:
        raw = writer.read_bytes(writer.system.realpath(check.path))
        return None if raw is None else vm_option(raw.decode("utf-8", errors="replace"), check.key)
    if check.argv:
        result = writer.run_query(check.argv)
        words = result.stdout.split()
        return words[0] if words else None
    return None


def current_text(writer: Writer, record: dict[str, Any]) -> str:
    """The target's state in words, for a refusal."""
    kind = record["kind"]
    if kind == "sysfs":
        return repr((writer.read_bytes(record["path"]) or b"").decode("ascii", errors="replace").strip())
    if kind == "command":
        check = check_from(record)
        return repr(read_check(writer, check)) if check else "unknown"
    data = writer.read_bytes(record["real_path"])
    return "missing" if data is None else f"{len(data)} bytes, sha256 {sha256(data)[:12]}"


def where(writer: Writer, record: dict[str, Any]) -> Where:
    kind = record["kind"]
    if kind == "file":
        data = writer.read_bytes(record["real_path"])
        if data is None:
            return Where.BEFORE if not record["existed"] else Where.OTHER
        digest = sha256(data)
        if record.get("after_sha256") == digest:
            return Where.AFTER
        if record["existed"] and record.get("before_sha256") == digest:
            return Where.BEFORE
        return Where.OTHER
    if kind == "sysfs":
        current = (writer.read_bytes(record["path"]) or b"").decode("ascii", errors="replace")
        if value_holds(current, record["new"]):
            return Where.AFTER
        return Where.BEFORE if value_holds(current, record["old"]) else Where.OTHER
    check = check_from(record)
    if check is None:
        # Nothing to read back: the journal's word. "started" without "applied" means the kill
        # came while the command ran: it may or may not have taken effect.
        if record.get("applied"):
            return Where.AFTER
        return Where.UNKNOWN if record.get("started") else Where.BEFORE
    value = read_check(writer, check)
    if value == check.after:
        return Where.AFTER
    return Where.BEFORE if value == check.before else Where.OTHER


def target_key(record: dict[str, Any]) -> str:
    """Changes that act on the same thing (``systemctl unmask`` then ``enable`` of one timer)."""
    kind = record["kind"]
    if kind == "file":
        return f"file:{record['real_path']}"
    if kind == "sysfs":
        return f"sysfs:{record['path']}"
    check = check_from(record)
    return f"check:{check.target}" if check else f"command:{' '.join(record['argv'])}"
