"""The kill-point harness of issue 10: SIGKILL the real CLI at every step of ``--apply … --yes``
and of ``--undo`` that changes the filesystem, on a copy of a demo profile, recover with the
ordinary CLI, and check that nothing was lost (DESIGN §4).

The steps are counted by ``sitecustomize.py`` in this folder, which only a CLI run started here
loads (the product has no test hooks). Per demo:

``apply``        a counting run lists the K steps of the apply; for each N: fresh copy → apply
                 killed before step N → ``--undo`` → ``root/`` is the pristine copy again.
``apply-mid``    the same at each write step, killed after half of the bytes were written.
``apply --undo ID`` a few of those, recovered with ``--undo ID`` (the entry the kill left).
``undo``, ``undo-mid``, ``undo --undo ID``  apply fully, kill ``--undo`` at step M, run the
                 undo again: ``root/`` is the pristine copy.

What is checked after the recovery: every file, symlink and folder of ``root/`` (bytes, mode,
owner) as in the pristine copy, apart from the journal and the sandbox's bookkeeping under
/var/lib/ssdwizard; what ``systemctl is-enabled`` answers in the sandbox (the units an apply
enabled) as in the pristine profile; no ``.NAME.ssdwizard-*`` temporary file left; the
recovery does not refuse, or say "internal error", unless the kill had changed nothing. Right
after the kill: no file of the machine is 0 bytes that was not (the stand-in for ``qm set``
must not leave an empty VM config). Used by tests/apply/test_killpoints.py and
bench/killpoints.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PROFILES = REPO / "ssdwizard" / "data" / "profiles"
DEMOS = ("pve-ceph-node", "nvme-workstation", "legacy-ide", "vm-virtio")
ACTIONS = "mount,trim,scheduler,ceph,migration"
APPLY = ("--apply", ACTIONS, "--yes")
UNDO = ("--undo",)
STATE_DIR = "var/lib/ssdwizard"  # the journal, the lock and the sandbox's bookkeeping: not compared
UNITS_FILE = f"{STATE_DIR}/sandbox-units.json"
TEMP_NAME = re.compile(r"(^|/)\.[^/]+\.ssdwizard-[^/]*$")
WRITE_LABELS = frozenset({"os.write", "os.pwrite", "file.write"})
RUN_TIMEOUT_S = 60
ID_VARIANTS_APPLY = 4  # how many apply kill points are also recovered with --undo ID
ID_VARIANTS_UNDO = 3
KEEP_FAILING = 20  # failing copies kept per demo
PHASES = ("apply", "apply-mid", "apply --undo ID", "undo", "undo-mid", "undo --undo ID")


# -- the steps a run made ---------------------------------------------------------------------

@dataclass(frozen=True)
class KillPoint:
    """One step of a run, as sitecustomize logged it, with the profile's root cut off the paths."""

    index: int
    label: str
    detail: str
    caller: str

    @property
    def is_write(self) -> bool:
        return self.label in WRITE_LABELS

    @property
    def key(self) -> tuple[str, str]:
        """What must be the same at this index in every run of the same command on a fresh copy."""
        return self.label, _stable(self.detail)

    def __str__(self) -> str:
        return f"#{self.index} {self.label} {self.detail}  [{self.caller}]"


def _stable(detail: str) -> str:
    """The parts of a step that differ between equal runs made alike: temp names, entry ids."""
    detail = re.sub(r"\.ssdwizard-[^/\s]*", ".ssdwizard-*", detail)
    return re.sub(r"/journal/[^/\s]+", "/journal/<entry>", detail)


def parse_log(text: str, root: Path) -> list[KillPoint]:
    points = []
    prefix = str(root)
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) != 4 or not parts[0].isdigit():
            continue
        index, label, detail, caller = parts
        points.append(KillPoint(int(index), label, _stable(detail.replace(prefix, "")), caller))
    return points


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    points: list[KillPoint]

    @property
    def killed(self) -> bool:
        return self.returncode == -signal.SIGKILL

    @property
    def message(self) -> str:
        """The CLI's own words, for a report line: the first line of stderr, else of stdout."""
        for text in (self.stderr, self.stdout):
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            if lines:
                return " / ".join(lines[:3])[:300]
        return ""


class Cli:
    """Runs ``python -m ssdwizard`` from ``source`` with the kill-point wrappers loaded."""

    def __init__(self, source: Path, work: Path) -> None:
        self.source = source
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SSDWIZARD_KILL_")}
        self.env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE), str(source), os.environ.get("PYTHONPATH"))
                                                 if p)
        # Byte-compile once into the work folder (never the source tree): each run then costs
        # start-up, not the compiler. importlib writes .pyc files through posix, not os, so
        # they are not steps.
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        self.work = work

    def run(self, args: tuple[str, ...], machine: Path, kill_at: int | None = None, mid: bool = False) -> Run:
        log = machine.parent / f"{machine.name}.{len(list(machine.parent.glob(machine.name + '.*.log')))}.log"
        env = dict(self.env, SSDWIZARD_KILL_LOG=str(log))
        if kill_at is not None:
            env["SSDWIZARD_KILL_AT"] = str(kill_at)
        if mid:
            env["SSDWIZARD_KILL_MODE"] = "mid"
        try:
            done = subprocess.run([sys.executable, "-m", "ssdwizard", *args, "--machine", str(machine)],
                                  cwd=self.work, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
            returncode, stdout, stderr = done.returncode, done.stdout, done.stderr
        except subprocess.TimeoutExpired:
            returncode, stdout, stderr = -1, "", f"(harness) did not finish in {RUN_TIMEOUT_S} s"
        text = log.read_text(errors="replace") if log.exists() else ""
        return Run(returncode, stdout, stderr, parse_log(text, machine / "root"))


# -- what a machine holds ---------------------------------------------------------------------

Tree = dict[str, tuple]


def _ignored(rel: str) -> bool:
    return rel == STATE_DIR or rel.startswith(STATE_DIR + "/") or STATE_DIR.startswith(rel + "/")


def snapshot(root: Path) -> Tree:
    """Every file (bytes, mode, owner), symlink (target) and folder below ``root``."""
    tree: Tree = {}
    for dirpath, dirnames, filenames in os.walk(root):
        kept = []
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            if _ignored(rel):
                if name in dirnames and STATE_DIR.startswith(rel + "/"):
                    kept.append(name)  # /var, /var/lib: walk on for anything else in them
                continue
            st = os.lstat(path)
            if os.path.islink(path):
                tree[rel] = ("link", os.readlink(path))
            elif os.path.isdir(path):
                tree[rel] = ("dir", st.st_mode & 0o7777)
                kept.append(name)
            else:
                with open(path, "rb") as handle:
                    tree[rel] = ("file", handle.read(), st.st_mode & 0o7777, st.st_uid, st.st_gid)
        dirnames[:] = [d for d in dirnames if d in kept]
    return tree


def _first_difference(old: bytes, new: bytes) -> str:
    old_lines, new_lines = old.splitlines(), new.splitlines()
    for number, (a, b) in enumerate(zip(old_lines, new_lines), start=1):
        if a != b:
            return f"line {number}: {a[:80]!r} → {b[:80]!r}"
    number = min(len(old_lines), len(new_lines)) + 1
    if len(old_lines) > len(new_lines):
        return f"line {number} gone: {old_lines[number - 1][:80]!r}"
    if len(new_lines) > len(old_lines):
        return f"line {number} added: {new_lines[number - 1][:80]!r}"
    return "line endings"


def differences(pristine: Tree, now: Tree) -> list[str]:
    """What ``now`` holds that the pristine copy does not, one line per path."""
    found = []
    for rel in sorted(set(pristine) | set(now)):
        was, has = pristine.get(rel), now.get(rel)
        where = "/" + rel
        if has is None:
            found.append(f"{where}: missing")
        elif was is None:
            size = f", {len(has[1])} bytes" if has[0] == "file" else ""
            what = "leftover temp file" if TEMP_NAME.search(rel) else f"extra {has[0]}"
            found.append(f"{where}: {what}{size}")
        elif was[0] != has[0]:
            found.append(f"{where}: a {has[0]}, was a {was[0]}")
        elif has[0] == "link" and was[1] != has[1]:
            found.append(f"{where}: points to {has[1]!r}, not {was[1]!r}")
        elif has[0] == "file":
            if was[1] != has[1]:
                if not has[1]:
                    found.append(f"{where}: 0 bytes (was {len(was[1])})")
                else:
                    found.append(f"{where}: {len(has[1])} bytes, not the original's {len(was[1])} "
                                 f"({_first_difference(was[1], has[1])})")
            if was[2] != has[2]:
                found.append(f"{where}: mode {has[2]:04o}, was {was[2]:04o}")
            if was[3:] != has[3:]:
                found.append(f"{where}: owner {has[3]}:{has[4]}, was {was[3]}:{was[4]}")
    return found


def empty_files(pristine: Tree, now: Tree) -> list[str]:
    """Files of the machine (not temporaries) that are 0 bytes and were not."""
    return [f"/{rel}: 0 bytes right after the kill" + (f" (was {len(pristine[rel][1])})" if rel in pristine else "")
            for rel, entry in sorted(now.items())
            if entry[0] == "file" and not entry[1] and not TEMP_NAME.search(rel)
            and not (rel in pristine and pristine[rel][0] == "file" and not pristine[rel][1])]


def unit_answers(profile: Path) -> dict[str, str]:
    """What ``systemctl is-enabled UNIT`` answers on the pristine profile, per unit."""
    data = tomllib.loads((profile / "profile.toml").read_text(encoding="utf-8"))
    answers = {}
    for entry in data.get("command", []):
        argv = entry.get("argv", [])
        if len(argv) == 3 and argv[:2] == ["systemctl", "is-enabled"]:
            text = entry.get("stdout_text")
            if text is None and "stdout" in entry:
                text = (profile / entry["stdout"]).read_text(errors="replace")
            answers[argv[2]] = (text or "").strip()
    return answers


def unit_differences(answers: dict[str, str], root: Path) -> list[str]:
    """Units whose sandbox state (what an apply's systemctl enable left) is not the pristine one."""
    state_file = root / UNITS_FILE
    if not state_file.exists():
        return []
    raw = state_file.read_bytes()
    try:
        states = json.loads(raw)
        if not isinstance(states, dict):
            raise ValueError("not a table")
    except ValueError as exc:
        return [f"/{UNITS_FILE}: unreadable ({len(raw)} bytes, {exc}): every later probe of a unit fails on it"]
    return [f"unit {unit}: {state} (the profile answers {answers.get(unit, 'nothing')!r})"
            for unit, state in sorted(states.items()) if state != answers.get(unit)]


def journal_ids(root: Path) -> list[str]:
    folder = root / STATE_DIR / "journal"
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


# -- one kill, the recovery, the verdict -------------------------------------------------------

@dataclass
class Case:
    demo: str
    phase: str
    point: KillPoint
    recovery: list[str] = field(default_factory=list)
    killed: bool = True
    harness: list[str] = field(default_factory=list)  # the run did not die where it should have
    after_kill: list[str] = field(default_factory=list)  # what the kill left changed
    empty: list[str] = field(default_factory=list)
    recovery_rc: int = 0
    recovery_message: str = ""
    left: list[str] = field(default_factory=list)  # what still differs after the recovery

    @property
    def stranded(self) -> bool:
        return any(not _is_temp_line(line) for line in self.left)

    @property
    def temp_left(self) -> bool:
        return any(_is_temp_line(line) for line in self.left)

    @property
    def undo_failed(self) -> bool:
        internal = "internal error" in self.recovery_message or "Traceback" in self.recovery_message
        refused = self.recovery_rc != 0 and bool(self.after_kill)
        return internal or refused or self.recovery_rc not in (0, 3)

    @property
    def failed(self) -> bool:
        return bool(self.harness or self.empty or self.left or self.undo_failed)

    def problems(self) -> list[str]:
        lines = list(self.harness) + list(self.empty)
        if self.undo_failed:
            lines.append(f"`ssdwizard {' '.join(self.recovery)}` exit {self.recovery_rc}: {self.recovery_message}")
        return lines + list(self.left)

    def describe(self) -> str:
        head = f"{self.demo} {self.phase} {self.point}"
        return head + "".join(f"\n    - {line}" for line in self.problems())


def _is_temp_line(line: str) -> bool:
    return "leftover temp file" in line


class DemoHarness:
    """Every kill point of one demo profile, run ``workers`` at a time."""

    def __init__(self, demo: str, work: Path, source: Path = REPO, workers: int = 2,
                 profiles: Path = PROFILES) -> None:
        self.demo = demo
        self.profile = profiles / demo
        self.work = work / demo
        self.work.mkdir(parents=True, exist_ok=True)
        self.cli = Cli(source, work)
        self.workers = workers
        self.answers = unit_answers(self.profile)
        self.pristine_dir = self._copy(self.profile, "pristine")
        self.pristine = snapshot(self.pristine_dir / "root")
        self.apply_points: list[KillPoint] = []
        self.undo_points: list[KillPoint] = []
        self.applied_dir: Path | None = None
        self.applied_id: str | None = None  # the entry id the full apply printed
        self.cases: list[Case] = []
        self.setup_problems: list[str] = []
        self.lock = threading.Lock()
        self.kept = 0

    def _copy(self, source: Path, name: str) -> Path:
        target = self.work / name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(source, target, symlinks=True)
        return target

    # The counting runs: what the kill points are, and a full apply and undo that must work.
    def count(self) -> None:
        machine = self._copy(self.pristine_dir, "count-apply")
        run = self.cli.run(APPLY, machine)
        self.apply_points = run.points
        if run.returncode != 0:
            self.setup_problems.append(f"the apply without a kill exits {run.returncode}: {run.message}")
            return
        self.applied_dir = self._copy(machine, "applied")
        said = re.search(r"--undo (\S+)", run.stdout)
        self.applied_id = said.group(1) if said else None
        undo_machine = self._copy(machine, "count-undo")
        run = self.cli.run(UNDO, undo_machine)
        self.undo_points = run.points
        if run.returncode != 0:
            self.setup_problems.append(f"the undo without a kill exits {run.returncode}: {run.message}")
        left = differences(self.pristine, snapshot(undo_machine / "root"))
        left += unit_differences(self.answers, undo_machine / "root")
        if left:
            self.setup_problems.append("apply then undo without a kill does not give the pristine copy back: "
                                       + "; ".join(left))

    def plan(self) -> list[tuple[str, KillPoint, bool]]:
        """Every (phase, kill point, by id) to try."""
        jobs = [("apply", p, False) for p in self.apply_points]
        jobs += [("apply-mid", p, False) for p in self.apply_points if p.is_write]
        # --undo ID needs an entry: points from the first step that writes into the journal.
        journal_steps = [p for p in self.apply_points if "/journal/" in p.detail]
        after = [p for p in self.apply_points if journal_steps and p.index > journal_steps[0].index]
        jobs += [("apply --undo ID", p, True) for p in _spread(after, ID_VARIANTS_APPLY)]
        if self.applied_dir is not None:
            jobs += [("undo", p, False) for p in self.undo_points]
            jobs += [("undo-mid", p, False) for p in self.undo_points if p.is_write]
            jobs += [("undo --undo ID", p, True) for p in _spread(self.undo_points, ID_VARIANTS_UNDO)]
        return jobs

    def run(self) -> list[Case]:
        self.count()
        jobs = self.plan()
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            self.cases = list(pool.map(lambda job: self._case(*job), jobs))
        return self.cases

    def _case(self, phase: str, point: KillPoint, by_id: bool) -> Case:
        undoing = phase.startswith("undo")
        mid = phase.endswith("-mid")
        name = f"{phase.replace(' ', '').replace('-', '')}-{point.index}"
        machine = self._copy(self.applied_dir if undoing else self.pristine_dir, name)
        root = machine / "root"
        case = Case(self.demo, phase, point)
        run = self.cli.run(UNDO if undoing else APPLY, machine, kill_at=point.index, mid=mid)
        case.killed = run.killed
        if not run.killed:
            case.harness.append(f"(harness) not killed at step {point.index}: exit {run.returncode} "
                                f"after {len(run.points)} steps: {run.message}")
        elif not run.points or run.points[-1].key != point.key:
            seen = run.points[-1] if run.points else "no step"
            case.harness.append(f"(harness) step {point.index} was {seen} here: the steps are not deterministic")
        after = snapshot(root)
        case.after_kill = differences(self.pristine, after) + unit_differences(self.answers, root)
        case.empty = empty_files(self.pristine, after)
        case.recovery = list(UNDO)
        if by_id:  # the id the full apply printed, or the entry the killed apply left
            ids = [self.applied_id] if undoing and self.applied_id else journal_ids(root)
            case.recovery.append(ids[-1] if ids else "NO-ENTRY")
        recovered = self.cli.run(tuple(case.recovery), machine)
        case.recovery_rc, case.recovery_message = recovered.returncode, recovered.message
        case.left = differences(self.pristine, snapshot(root)) + unit_differences(self.answers, root)
        self._tidy(machine, case.failed)
        return case

    def _tidy(self, machine: Path, failed: bool) -> None:
        """A failing copy stays for a look (the first KEEP_FAILING of a demo), with its step
        logs; the rest would fill /tmp."""
        with self.lock:
            keep = failed and self.kept < KEEP_FAILING
            self.kept += keep
        if not keep:
            shutil.rmtree(machine)
            for log in machine.parent.glob(machine.name + ".*.log"):
                log.unlink()

    # -- the figures ---------------------------------------------------------------------------

    def counts(self) -> dict[str, dict[str, int]]:
        table = {}
        for phase in PHASES:
            cases = [c for c in self.cases if c.phase == phase]
            if not cases:
                continue
            table[phase] = {
                "kill_points_tried": len(cases),
                "stranded": sum(c.stranded for c in cases),
                "undo_failures": sum(c.undo_failed for c in cases),
                "empty_after_kill": sum(bool(c.empty) for c in cases),
                "temp_files_left": sum(c.temp_left for c in cases),
                "harness_problems": sum(bool(c.harness) for c in cases),
                "failed": sum(c.failed for c in cases),
            }
        return table

    def failures(self) -> list[Case]:
        return [c for c in self.cases if c.failed]

    def as_json(self) -> dict:
        return {
            "demo": self.demo,
            "apply_steps": [str(p) for p in self.apply_points],
            "undo_steps": [str(p) for p in self.undo_points],
            "setup_problems": self.setup_problems,
            "counts": self.counts(),
            "failures": [dict(asdict(c), point=str(c.point), problems=c.problems()) for c in self.failures()],
        }


def _spread(points: list[KillPoint], count: int) -> list[KillPoint]:
    """``count`` points evenly over the list, first and last included."""
    if len(points) <= count:
        return list(points)
    return [points[round(i * (len(points) - 1) / (count - 1))] for i in range(count)]


# -- reports ------------------------------------------------------------------------------------

COLUMNS = (("kill_points_tried", "kill points tried"), ("stranded", "stranded changes"),
           ("undo_failures", "undo failures"), ("empty_after_kill", "0-byte file after kill"),
           ("temp_files_left", "temp files left"), ("failed", "points failing"))


def markdown_table(harnesses: list[DemoHarness]) -> str:
    lines = ["| demo | phase | " + " | ".join(title for _, title in COLUMNS) + " |",
             "|---|---|" + "---:|" * len(COLUMNS)]
    totals: Counter = Counter()
    for harness in harnesses:
        for phase, counts in harness.counts().items():
            totals.update(counts)
            lines.append(f"| {harness.demo} | {phase} | " + " | ".join(str(counts[k]) for k, _ in COLUMNS) + " |")
    lines.append("| **all** | | " + " | ".join(f"**{totals[k]}**" for k, _ in COLUMNS) + " |")
    return "\n".join(lines)


_KINDS = (("(harness)", "harness: the run did not die at the step it should have"),
          ("right after the kill", "a file of the machine is 0 bytes right after the kill"),
          ("leftover temp file", "a temp file is left"),
          ("extra dir", "a folder apply made is left"),
          ("extra file", "a file apply made is left"),
          ("sandbox-units.json: unreadable", "sandbox-units.json is torn"),
          ("unit ", "a unit apply enabled stays enabled"),
          (": missing", "a file is missing"),
          ("0 bytes (was", "a file is left 0 bytes"),
          ("not the original's", "a file does not hold its original bytes"),
          (": mode ", "a mode differs"),
          (": owner ", "an owner differs"))


def _kinds(case: Case) -> tuple[str, ...]:
    kinds = {title for line in case.harness + case.empty + case.left for mark, title in _KINDS if mark in line}
    return tuple(sorted(kinds))


def _verdict(case: Case) -> str:
    """What the recovery said, its first line without ids and paths, e.g. "exit 3: nothing to undo"."""
    if not case.undo_failed:
        return f"recovery exit {case.recovery_rc} (no refusal)"
    message = re.sub(r"^ssdwizard: ", "", case.recovery_message).split(" / - ")[0]
    message = re.sub(r"\d{8}-\d{6}[^\s:,;)]*", "<entry>", message)
    message = re.sub(r"/\S+", "PATH", message)
    message = re.sub(r"(line|column|char) \d+", r"\1 N", message).rstrip(" /:")
    return f"recovery exit {case.recovery_rc}: {message[:160]}"


def grouped_failures(cases: list[Case], examples: int = 3) -> str:
    """The failures grouped by cause (apply or undo, and what the recovery said), each with what
    was left, the steps it was killed at (label and caller, with counts) and where."""
    groups: dict[tuple[str, str], list[Case]] = {}
    for case in cases:
        side = "undo" if case.phase.startswith("undo") else "apply"
        groups.setdefault((side, _verdict(case)), []).append(case)
    out = []
    for (side, verdict), members in sorted(groups.items(), key=lambda kv: (kv[0][0], -len(kv[1]))):
        out.append(f"[{len(members)}x] killed during {side}; {verdict}")
        kinds = Counter(kind for c in members for kind in _kinds(c))
        out.extend(f"    left: {kind} ({n})" for kind, n in kinds.most_common())
        steps = Counter(f"{c.point.label} @ {c.point.caller.split(' < ')[0]}" for c in members)
        out.append("    killed at: " + "; ".join(f"{step} ({n})" for step, n in steps.most_common()))
        where = [f"{c.demo} {c.phase} #{c.point.index}" for c in members]
        out.append("    where: " + ", ".join(where[:6]) + (f" … (+{len(where) - 6})" if len(where) > 6 else ""))
        shown: dict[tuple[str, ...], Case] = {}
        for case in members:  # one example for each different thing left
            shown.setdefault(_kinds(case), case)
        for example in list(shown.values())[:examples]:
            out.append(f"    e.g. {example.describe()}".replace("\n", "\n    "))
    return "\n".join(out)
