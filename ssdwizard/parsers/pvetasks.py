"""Proxmox task logs: the task index, UPIDs, and what a ``qmigrate`` task log says.

The migration step measures the guide's claim ("the secure tunnel is slow") on the node's own
history: every live migration Proxmox ran left a task log with its speed, downtime and
duration. Where those are and how they read:

* A task is named by its UPID, ``UPID:node:pid:pstart:starttime:type:id:user:`` with pid,
  pstart and starttime in upper-case hex (pve-common ``PVE::UPID``). Its log file is
  ``/var/log/pve/tasks/X/UPID`` where X is the last hex digit of starttime as written
  (``substr($starttime_hex, 7, 1)``), so the logs spread over 16 directories.
* ``/var/log/pve/tasks/index`` lists finished tasks, one ``UPID ENDTIME STATUS`` a line
  (ENDTIME hex, STATUS ``OK``, ``WARNINGS: n`` or the error text); it is rotated to
  ``index.1`` at about 50 kB. ``/var/log/pve/tasks/active`` lists the recent and running
  ones as ``UPID SAVED [ENDTIME [STATUS]]`` (pve-common ``RESTEnvironment``/``INotify``).
* A migration log is written by qemu-server ``PVE::QemuMigrate`` through pve-common
  ``PVE::AbstractMigrate``: each line starts with a timestamp, ``Nov 24 12:26:41`` up to
  PVE 5 and ``2024-05-01 10:00:00`` since PVE 6; output of commands run on the target
  node is prefixed ``[node]``; lines a tool printed itself can lack the timestamp. The
  worker appends ``TASK OK``, ``TASK WARNINGS: n`` or ``TASK ERROR: message`` at the end.

Two wordings of the summary exist. PVE up to 5 (``old``)::

    migration status: active (transferred 133567908, remaining 930062336), total 1082789888)
    migration speed: 64.00 MB/s - downtime 54 ms
    migration finished successfuly (duration 00:00:21)

and PVE 6 on (``new``)::

    migration active, transferred 1.2 GiB of 4.0 GiB VM-state, 457.0 MiB/s
    average migration speed: 457.0 MiB/s - downtime 73 ms
    migration completed, transferred 11.7 GiB VM-state
    migration finished successfully (duration 00:00:39)

The old "MB/s" is MiB/s: QemuMigrate computed it as the VM's memory in MiB divided by the
seconds taken. The new figures come from pve-common ``render_bytes`` (binary units, one
decimal). Whether memory crossed the wire encrypted shows in ``starting online/live
migration on URI``: ``unix:/run/qemu-server/N.migrate``, ``localhost:PORT`` or
``tcp:localhost:PORT`` go through the SSH tunnel (secure); ``tcp:10.0.0.2:60000`` or
``10.0.2.14:60000`` go straight to the target's address (insecure).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

from ssdwizard.parsers import ParseError

__all__ = [
    "LogLine",
    "MigrationLog",
    "TaskIndexEntry",
    "TaskIndex",
    "Upid",
    "parse_active",
    "parse_index",
    "parse_migration_log",
    "parse_size",
    "parse_upid",
    "parse_duration",
    "migrations_from",
    "task_log_path",
]

TASK_DIR = "/var/log/pve/tasks"

# PVE::UPID::decode, verbatim in spirit: node is a hostname label; pid and starttime are 8
# hex digits; pstart 8 or 9 (more than 497 days of uptime); type, id and user have no ':',
# blank or '/'; id may be empty (node-wide tasks such as aptupdate).
_UPID = re.compile(
    r"UPID:(?P<node>[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?):(?P<pid>[0-9A-Fa-f]{8}):"
    r"(?P<pstart>[0-9A-Fa-f]{8,9}):(?P<starttime>[0-9A-Fa-f]{8}):(?P<type>[^:\s/]+):"
    r"(?P<id>[^:\s/]*):(?P<user>[^:\s/]+):",
    re.ASCII,
)
# The index and active line formats, as pve-manager's task API and INotify read them.
_INDEX_LINE = re.compile(r"(\S+)(?:\s([0-9A-Za-z]{8})(?:\s(\s*\S.*))?)?", re.DOTALL)
_ACTIVE_LINE = re.compile(r"(\S+)\s(0|1)(?:\s([0-9A-Za-z]{8})(?:\s(\s*\S.*))?)?", re.DOTALL)
_HEX8 = re.compile(r"[0-9A-Fa-f]{8}", re.ASCII)

# AbstractMigrate's strftime("%b %d %H:%M:%S") (PVE <= 5) and ("%F %H:%M:%S") (PVE >= 6).
_TIMESTAMP = re.compile(
    r"(?P<ts>[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"|[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}) ",
    re.ASCII,
)
_ISO = re.compile(r"[0-9]{4}-", re.ASCII)

# pve-common render_bytes units; B..PiB, binary.
_UNITS = {"B": 0, "KiB": 1, "MiB": 2, "GiB": 3, "TiB": 4, "PiB": 5}
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(B|KiB|MiB|GiB|TiB|PiB)?\s*", re.ASCII)

_NUM = r"[0-9]+(?:\.[0-9]+)?"
_SIZE_TEXT = rf"{_NUM}(?: (?:B|KiB|MiB|GiB|TiB|PiB))?"
_START = re.compile(r"starting migration of (?:VM|CT) ([0-9]+) to node '([^']*)'(?: \(([^)]*)\))?")
_REMOTE_START = re.compile(r"starting VM ([0-9]+) on remote node '([^']*)'")
_DEDICATED = re.compile(r"use dedicated network address for sending migration traffic \(([^)]*)\)")
_ONLINE = re.compile(r"starting online/live migration on (\S+)")
_OLD_SPEED = re.compile(rf"migration speed: ({_NUM}) MB/s(?: - downtime ([0-9]+) ms)?")
_NEW_SPEED = re.compile(
    rf"average migration speed: ({_NUM}) (B|KiB|MiB|GiB|TiB|PiB)/s(?: - downtime ([0-9]+) ms)?"
)
_OLD_STATUS = re.compile(
    rf"migration status: active \(transferred ({_SIZE_TEXT}), remaining ({_SIZE_TEXT})\), "
    rf"total ({_SIZE_TEXT})\)"
)
_NEW_ACTIVE = re.compile(
    rf"migration (?:active|status: active), transferred ({_SIZE_TEXT}) of ({_SIZE_TEXT}) VM-state"
)
_COMPLETED = re.compile(rf"migration completed, transferred ({_SIZE_TEXT}) VM-state")
_FINISHED = re.compile(r"migration finished (successfully|successfuly) \(duration ([0-9:]+)\)")
_ABORTED = re.compile(r"migration (aborted|finished with problems) \(duration ([0-9:]+)\)(?:: (.*))?")
_HOSTKEY = re.compile(r"HostKeyAlias=([A-Za-z0-9.\-]+)")
_SSH_TARGET = re.compile(r"\broot@(\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]+)\s")
_REMOTE_PREFIX = re.compile(r"\[([a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?)\] ")

# Lines that show a text is a migration task log at all (else: ParseError).
_MARKERS = (
    "migration",
    "migrate",
    "TASK OK",
    "TASK ERROR",
    "TASK WARNINGS",
)


@dataclass(frozen=True)
class Upid:
    """A decoded UPID; ``text`` is the UPID exactly as written (it is the log's file name)."""

    text: str
    node: str
    pid: int
    pstart: int
    starttime: int
    type: str
    id: str
    user: str

    @property
    def vmid(self) -> int | None:
        """The guest id for guest tasks (``qmigrate:123``), else ``None``."""
        return int(self.id) if self.id.isascii() and self.id.isdigit() else None

    @property
    def log_path(self) -> str:
        """Where Proxmox keeps this task's log: ``/var/log/pve/tasks/X/UPID...``."""
        return task_log_path(self)


def parse_upid(text: str, source: str = "UPID") -> Upid:
    """Decode one UPID (with its trailing colon), as ``PVE::UPID::decode`` does."""
    match = _UPID.fullmatch(text)
    if match is None:
        raise ParseError(source, f"not a UPID: {text[:120]!r}")
    return Upid(
        text=text,
        node=match["node"],
        pid=int(match["pid"], 16),
        pstart=int(match["pstart"], 16),
        starttime=int(match["starttime"], 16),
        type=match["type"],
        id=match["id"],
        user=match["user"],
    )


def task_log_path(upid: Upid | str) -> str:
    """The log file of a task: the directory is the 8th hex digit of starttime as written.

    pve-common takes ``substr($starttime_hex, 7, 1)`` of the UPID text, so the case of the
    digit is the case in the UPID (Proxmox writes upper case: ``.../tasks/B/UPID:...``).
    """
    decoded = upid if isinstance(upid, Upid) else parse_upid(upid)
    starttime_hex = decoded.text.split(":")[4]
    return f"{TASK_DIR}/{starttime_hex[7]}/{decoded.text}"


@dataclass(frozen=True)
class TaskIndexEntry:
    """One line of the task index (or the active list).

    ``endtime`` is ``None`` while a task runs; ``status`` is ``OK``, ``WARNINGS: n``, an
    error message, or ``None`` while running. ``saved`` only exists in the active list.
    """

    line: int
    upid: Upid
    endtime: int | None
    status: str | None
    saved: bool | None = None

    @property
    def outcome(self) -> str:
        """``ok``, ``warning``, ``error``, or ``running``, as pve-common normalises a status."""
        if self.status is None:
            return "running" if self.endtime is None else "unknown"
        if self.status == "OK":
            return "ok"
        if re.fullmatch(r"WARNINGS: [0-9]+", self.status):
            return "warning"
        if self.status == "unexpected status":
            return "unknown"
        return "error"


@dataclass(frozen=True)
class TaskIndex:
    """All tasks of an index file in file order, and the lines Proxmox would skip."""

    entries: tuple[TaskIndexEntry, ...]
    skipped: tuple[tuple[int, str], ...] = ()

    def of_type(self, *types: str) -> tuple[TaskIndexEntry, ...]:
        """Entries whose UPID type is one of ``types`` (``of_type("qmigrate")``)."""
        return tuple(entry for entry in self.entries if entry.upid.type in types)

    @property
    def migrations(self) -> tuple[TaskIndexEntry, ...]:
        """The VM migrations (``qmigrate``); HA-triggered ones also log under ``qmigrate``."""
        return self.of_type("qmigrate")


def parse_index(text: str, source: str = f"{TASK_DIR}/index") -> TaskIndex:
    """Parse ``/var/log/pve/tasks/index`` (or ``index.1``): ``UPID ENDTIME STATUS`` lines.

    Like Proxmox, a line that does not read as a task is skipped (a crash can leave half a
    line), but it is listed in ``skipped``. A non-empty text in which no line is a task is
    not an index: :class:`ParseError`.
    """
    return _parse_tasks(text, source, active=False)


def parse_active(text: str, source: str = f"{TASK_DIR}/active") -> TaskIndex:
    """Parse ``/var/log/pve/tasks/active``: ``UPID SAVED [ENDTIME [STATUS]]`` lines."""
    return _parse_tasks(text, source, active=True)


def _parse_tasks(text: str, source: str, active: bool) -> TaskIndex:
    entries: list[TaskIndexEntry] = []
    skipped: list[tuple[int, str]] = []
    pattern = _ACTIVE_LINE if active else _INDEX_LINE
    for number, line in enumerate(text.split("\n"), start=1):
        body = line[:-1] if line.endswith("\r") else line
        if not body.strip():
            continue
        match = pattern.fullmatch(body)
        upid = _UPID.fullmatch(match.group(1)) if match else None
        if match is None or upid is None:
            skipped.append((number, line))
            continue
        if active:
            _, saved, endtime, status = match.groups()
        else:
            _, endtime, status = match.groups()
            saved = None
        if endtime is not None and not _HEX8.fullmatch(endtime):
            skipped.append((number, line))
            continue
        entries.append(
            TaskIndexEntry(
                line=number,
                upid=parse_upid(match.group(1), source),
                endtime=int(endtime, 16) if endtime is not None else None,
                status=status.strip() if status is not None else None,
                saved=(saved == "1") if saved is not None else None,
            )
        )
    if skipped and not entries:
        number, line = skipped[0]
        raise ParseError(source, f"no task line (UPID:node:...:user: ...); line {number}: {line[:120]!r}")
    return TaskIndex(tuple(entries), tuple(skipped))


def parse_size(text: str, source: str = "size") -> int:
    """Bytes from a size as migration logs print it: ``1082789888``, ``457.0 MiB``, ``1.2 GiB``.

    The rendered sizes carry one decimal, so the result is as exact as the log (about 0.05
    of the unit); raw counts are exact.
    """
    match = _SIZE.fullmatch(text)
    if match is None:
        raise ParseError(source, f"not a size: {text!r}")
    number, unit = match.groups()
    if unit is None:
        if "." in number:
            raise ParseError(source, f"a byte count without unit must be whole: {text!r}")
        return int(number)
    return round(float(number) * 1024 ** _UNITS[unit])


def parse_duration(text: str, source: str = "duration") -> int:
    """Seconds from AbstractMigrate's ``HH:MM:SS`` (hours may exceed 24)."""
    match = re.fullmatch(r"([0-9]+):([0-5][0-9]):([0-5][0-9])", text, re.ASCII)
    if match is None:
        raise ParseError(source, f"not HH:MM:SS: {text!r}")
    hours, minutes, seconds = (int(part) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


@dataclass(frozen=True)
class LogLine:
    """One task-log line: ``timestamp`` as printed (or ``None``), ``message`` after it."""

    number: int
    timestamp: str | None
    message: str

    @property
    def text(self) -> str:
        """The line as it stood in the log (without line ending)."""
        return f"{self.timestamp} {self.message}" if self.timestamp else self.message


@dataclass(frozen=True)
class MigrationLog:
    """What one ``qmigrate`` task log says, with the lines each fact came from.

    Units: ``speed_mib_s`` MiB/s as printed (old "MB/s" is the same unit), ``downtime_ms``
    milliseconds, ``duration_s`` seconds, sizes in bytes. ``transferred_bytes`` is the final
    figure when the log prints one (``migration completed, transferred ...``), else the last
    progress figure (a lower bound: later rounds are not logged). ``total_bytes`` is the
    VM-state (RAM) size. ``status`` is ``ok`` or ``error``, or ``unknown`` for a log that
    ends before any verdict (a running task). ``migration_type`` is ``secure`` (SSH tunnel),
    ``insecure`` (straight to ``migration_address``), or ``None`` for an offline migration.
    """

    format: str
    status: str
    vmid: int | None
    target_node: str | None
    target_ip: str | None
    speed_mib_s: float | None
    speed_text: str | None
    downtime_ms: int | None
    duration_s: int | None
    transferred_bytes: int | None
    total_bytes: int | None
    migration_uri: str | None
    migration_type: str | None
    migration_address: str | None
    dedicated_address: str | None
    task_status: str | None
    error: str | None
    error_detail: str | None
    errors: tuple[str, ...]
    started_by_ha: bool
    evidence: tuple[tuple[str, LogLine], ...]

    def evidence_for(self, fact: str) -> tuple[LogLine, ...]:
        """The lines a fact was read from (``"speed"``, ``"status"``, ``"target"``, ...)."""
        return tuple(line for name, line in self.evidence if name == fact)

    @property
    def online(self) -> bool:
        """Whether memory was migrated live (the log shows the online/live phase)."""
        return self.migration_uri is not None


def _split_log(text: str) -> list[LogLine]:
    lines: list[LogLine] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        if raw.endswith("\r"):
            raw = raw[:-1]
        match = _TIMESTAMP.match(raw)
        if match:
            lines.append(LogLine(number, match["ts"], raw[match.end():]))
        else:
            lines.append(LogLine(number, None, raw))
    if lines and lines[-1].message == "" and lines[-1].timestamp is None:
        lines.pop()
    return lines


def _classify_uri(uri: str) -> tuple[str, str | None]:
    """(type, address) from the URI of "starting online/live migration on URI".

    QemuMigrate's URIs over the versions: ``port 60000`` (PVE 2), ``localhost:60000``,
    ``10.0.2.14:60000`` (PVE 3-4), ``tcp:localhost:60000``, ``tcp:10.0.0.2:60000``,
    ``tcp:[fd00::2]:60000``, ``unix:/run/qemu-server/123.migrate`` (PVE 5 on). Only a
    remote address means the memory goes straight to the target, unencrypted.
    """
    if uri.startswith("unix:"):
        return "secure", None
    host = uri[4:] if uri.startswith("tcp:") else uri
    if host.startswith("["):
        address = host[1:].split("]", 1)[0]
    else:
        address = host.rsplit(":", 1)[0] if ":" in host else host
    if address in ("localhost", "127.0.0.1", "::1", "port"):
        return "secure", None
    return "insecure", address


@dataclass
class _Collected:
    """The facts gathered while reading a log, before they are frozen into a MigrationLog."""

    vmid: int | None = None
    target_node: str | None = None
    target_ip: str | None = None
    speed_mib_s: float | None = None
    speed_text: str | None = None
    downtime_ms: int | None = None
    duration_s: int | None = None
    transferred_bytes: int | None = None
    final_transferred: bool = False
    total_bytes: int | None = None
    migration_uri: str | None = None
    migration_type: str | None = None
    migration_address: str | None = None
    dedicated_address: str | None = None
    task_status: str | None = None
    verdict: str | None = None
    started_by_ha: bool = False
    old_hits: int = 0
    new_hits: int = 0
    errors: list[str] = field(default_factory=list)
    hints: dict[str, str] = field(default_factory=dict)
    evidence: list[tuple[str, LogLine]] = field(default_factory=list)


def parse_migration_log(text: str, source: str = "qmigrate task log") -> MigrationLog:
    """Read a ``qmigrate`` task log in either wording (see the module docstring).

    Raises :class:`ParseError` when no line looks like part of a migration task (not even a
    ``TASK ...`` verdict): that text is some other file.
    """
    lines = _split_log(text)
    if not any(marker in line.message for line in lines for marker in _MARKERS):
        raise ParseError(source, "no migration or TASK line: not a qmigrate task log")
    facts = _Collected()
    for line in lines:
        _read_line(facts, line, source)
    return _freeze(facts, lines)


def _read_line(facts: _Collected, line: LogLine, source: str) -> None:
    """Take what one line says into ``facts``; unknown lines say nothing."""
    message = line.message
    body = message
    remote = _REMOTE_PREFIX.match(message)
    if remote:
        # Output of a command on the target node: QemuMigrate prefixes it with "[node] ".
        facts.hints.setdefault("remote_node", remote.group(1))
        body = message[remote.end():]
    if message.startswith("TASK OK"):
        facts.task_status = "OK"
        facts.verdict = facts.verdict or "ok"
        facts.evidence.append(("status", line))
    elif message.startswith("TASK WARNINGS:"):
        facts.task_status = message[len("TASK "):].strip()
        facts.verdict = facts.verdict or "ok"
        facts.evidence.append(("status", line))
    elif message.startswith("TASK ERROR:"):
        facts.task_status = message[len("TASK ERROR:"):].strip()
        facts.verdict = "error"
        facts.evidence.append(("status", line))
    elif message == "task started by HA resource agent":
        facts.started_by_ha = True
    elif body.startswith("ERROR: "):
        detail = body[len("ERROR: "):].strip()
        facts.errors.append(detail)
        facts.verdict = "error"
        facts.evidence.append(("error", line))
        aborted = _ABORTED.match(detail)
        if aborted:
            facts.duration_s = parse_duration(aborted.group(2), source)
            facts.evidence.append(("duration", line))
    elif body.startswith("# "):
        # A command QemuMigrate logged before running it, usually the ssh to the target.
        alias = _HOSTKEY.search(body)
        if alias:
            facts.hints.setdefault("ssh_node", alias.group(1))
        target = _SSH_TARGET.search(body + " ")
        if target:
            facts.hints.setdefault("ssh_ip", target.group(1).strip("[]"))
    else:
        _read_progress(facts, line, body, source)


def _read_progress(facts: _Collected, line: LogLine, body: str, source: str) -> None:
    """The lines of a migration's course: target, transport, progress, speed, end."""
    if match := _START.match(body):
        facts.vmid, facts.target_node, facts.target_ip = int(match.group(1)), match.group(2), match.group(3)
        facts.evidence.append(("target", line))
    elif match := _REMOTE_START.match(body):
        facts.hints.setdefault("remote_vmid", match.group(1))
        facts.hints.setdefault("remote_start_node", match.group(2))
    elif match := _DEDICATED.match(body):
        facts.dedicated_address = match.group(1)
        facts.evidence.append(("network", line))
    elif match := _ONLINE.match(body):
        facts.migration_uri = match.group(1)
        facts.migration_type, facts.migration_address = _classify_uri(facts.migration_uri)
        facts.evidence.append(("transport", line))
    elif match := _NEW_SPEED.match(body):
        facts.new_hits += 1
        value, unit, downtime = match.groups()
        facts.speed_mib_s = float(value) * 1024 ** (_UNITS[unit] - 2)
        facts.speed_text = f"{value} {unit}/s"
        facts.evidence.append(("speed", line))
        if downtime is not None:
            facts.downtime_ms = int(downtime)
            facts.evidence.append(("downtime", line))
    elif match := _OLD_SPEED.match(body):
        facts.old_hits += 1
        value, downtime = match.groups()
        # QemuMigrate printed memory-in-MiB / seconds and called it "MB/s": it is MiB/s.
        facts.speed_mib_s = float(value)
        facts.speed_text = f"{value} MB/s"
        facts.evidence.append(("speed", line))
        if downtime is not None:
            facts.downtime_ms = int(downtime)
            facts.evidence.append(("downtime", line))
    elif match := _OLD_STATUS.match(body):
        facts.old_hits += 1
        facts.transferred_bytes = parse_size(match.group(1), source)
        facts.total_bytes = parse_size(match.group(3), source)
        facts.evidence.append(("progress", line))
    elif match := _NEW_ACTIVE.match(body):
        facts.new_hits += 1
        if not facts.final_transferred:
            facts.transferred_bytes = parse_size(match.group(1), source)
        facts.total_bytes = parse_size(match.group(2), source)
        facts.evidence.append(("progress", line))
    elif match := _COMPLETED.match(body):
        facts.new_hits += 1
        facts.transferred_bytes = parse_size(match.group(1), source)
        facts.final_transferred = True
        facts.evidence.append(("progress", line))
    elif match := _FINISHED.match(body):
        if match.group(1) == "successfuly":  # the old spelling, fixed in PVE 4
            facts.old_hits += 1
        facts.duration_s = parse_duration(match.group(2), source)
        facts.verdict = facts.verdict or "ok"
        facts.evidence.append(("duration", line))


def _freeze(facts: _Collected, lines: list[LogLine]) -> MigrationLog:
    old_hits, new_hits = facts.old_hits, facts.new_hits
    if not old_hits and not new_hits:
        # Logs without the speed lines (failures, offline moves): the timestamp style tells
        # the era; ISO dates came with PVE 6, together with the new wording.
        stamped = [line.timestamp for line in lines if line.timestamp]
        new_hits = sum(1 for stamp in stamped if _ISO.match(stamp))
        old_hits = len(stamped) - new_hits
    wording = "new" if new_hits > old_hits else "old" if old_hits else "unknown"
    hints = facts.hints
    target_node = (
        facts.target_node or hints.get("remote_start_node") or hints.get("ssh_node") or hints.get("remote_node")
    )
    vmid = facts.vmid
    if vmid is None and "remote_vmid" in hints:
        vmid = int(hints["remote_vmid"])
    error = error_detail = None
    if facts.errors:
        aborted = _ABORTED.match(facts.errors[0])
        if aborted:
            error, error_detail = f"migration {aborted.group(1)}", aborted.group(3)
        else:
            error = facts.errors[0]
    elif facts.verdict == "error":
        error = facts.task_status
    return MigrationLog(
        format=wording,
        status=facts.verdict or "unknown",
        vmid=vmid,
        target_node=target_node,
        target_ip=facts.target_ip or hints.get("ssh_ip"),
        speed_mib_s=facts.speed_mib_s,
        speed_text=facts.speed_text,
        downtime_ms=facts.downtime_ms,
        duration_s=facts.duration_s,
        transferred_bytes=facts.transferred_bytes,
        total_bytes=facts.total_bytes,
        migration_uri=facts.migration_uri,
        migration_type=facts.migration_type,
        migration_address=facts.migration_address,
        dedicated_address=facts.dedicated_address,
        task_status=facts.task_status,
        error=error,
        error_detail=error_detail,
        errors=tuple(facts.errors),
        started_by_ha=facts.started_by_ha,
        evidence=tuple(facts.evidence),
    )


def migrations_from(entries: Iterable[TaskIndexEntry]) -> tuple[TaskIndexEntry, ...]:
    """The ``qmigrate`` entries of any entry list, newest first (by start time)."""
    chosen = [entry for entry in entries if entry.upid.type == "qmigrate"]
    return tuple(sorted(chosen, key=lambda entry: entry.upid.starttime, reverse=True))
