"""``--apply`` and ``--undo`` without a screen: show the plans, apply them on ``--yes``, undo.

Exit codes follow DESIGN §3.3 where they can: 0 nothing to do / done, 1 changes pending (shown,
not applied), 2 a change failed (and what was restored is said), 3 refused before anything
was written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from ssdwizard.apply.engine import ApplyFailed, ApplyRefused, apply_plan, undo
from ssdwizard.apply.journal import JournalError
from ssdwizard.apply.plan import Plan
from ssdwizard.model import StepResult
from ssdwizard.runner import PLAN_SUBJECT
from ssdwizard.system.base import System
from ssdwizard.textsafe import visible

EXIT_DONE = 0
EXIT_PENDING = 1
EXIT_FAILED = 2
EXIT_REFUSED = 3


def describe_plan(result: StepResult, out: TextIO) -> None:
    """The plan as the admin confirms it: warnings first, then each change in words and as a diff.

    The diff holds lines of the machine's files: escape sequences in them are shown, not sent
    to the terminal (a line that clears the screen or rewrites the one above fakes the diff)."""
    plan = result.plan
    assert plan is not None
    out.write(f"== {result.title} ({result.id}): {len(plan.changes)} change{'s' if len(plan.changes) != 1 else ''}\n")
    for warning in plan.warnings:
        out.write(f"WARNING: {visible(warning)}\n")
    for change in plan.changes:
        out.write(f"- {visible(f'{change.kind} {change.target}: {change.why}', one_line=True)}\n")
        out.write(visible(change.diff()))
    for note in plan.notes:
        out.write(f"note: {visible(note)}\n")
    out.write("\n")


def run_apply(system: System, results: Sequence[StepResult], yes: bool, out: TextIO, err: TextIO) -> int:
    """Show every plan; with ``yes``, apply them one step at a time, stopping at the first failure."""
    plans = [(r, r.plan) for r in results if r.plan is not None]
    for result in results:
        if result.plan is None:
            out.write(f"== {result.title} ({result.id}): nothing to change. {result.summary}\n")
            for finding in result.findings:
                if finding.subject == PLAN_SUBJECT:  # why the plan changes nothing (runner.run_step)
                    out.write(f"WARNING: {visible(finding.message)}\n")
            out.write("\n")
    for result, _ in plans:
        describe_plan(result, out)
    if not plans:
        return EXIT_DONE
    if not yes:
        out.write("Nothing was changed. Apply these changes with --yes.\n")
        return EXIT_PENDING
    # One run is one journal entry: every step's changes are applied together or not at all,
    # and --undo takes the whole run back.
    plan = Plan("+".join(r.id for r, _ in plans), tuple(c for _, p in plans for c in p.changes),
                tuple(w for _, p in plans for w in p.warnings), tuple(n for _, p in plans for n in p.notes))
    try:
        applied = apply_plan(system, plan)
    except ApplyRefused as exc:
        return _refused(err, "not applied, nothing was written", exc.problems)
    except OSError as exc:
        err.write(f"ssdwizard: not applied: {_os_error(exc)}\n")
        return EXIT_REFUSED
    except ApplyFailed as exc:
        err.write(f"ssdwizard: the change failed: {exc}\n")
        err.writelines(f"  - {line}\n" for line in exc.restored or ["nothing had been changed yet"])
        if exc.journal_id:
            err.write(f"  The originals are kept in the journal entry {exc.journal_id}.\n")
        return EXIT_FAILED
    out.write(f"Applied {', '.join(r.id for r, _ in plans)}:\n")
    out.writelines(f"  - {line}\n" for line in applied.done)
    for followup in applied.followups:
        state = "ok" if followup.ok else f"FAILED (exit {followup.exit_code}): {followup.stderr.strip()[:200]}"
        out.write(f"  - then {' '.join(followup.argv)}: {state}\n")
    out.write(f"  Undo with: ssdwizard --undo {applied.journal_id}\n")
    return EXIT_DONE


def _os_error(exc: OSError) -> str:
    """An OSError in one line: what failed, and on which file."""
    return f"{exc.strerror or exc}{f' ({exc.filename})' if exc.filename else ''}"


def _refused(err: TextIO, headline: str, problems: list[str]) -> int:
    err.write(f"ssdwizard: {headline}:\n")
    err.writelines(f"  - {problem}\n" for problem in problems)
    return EXIT_REFUSED


def run_undo(system: System, journal_id: str | None, out: TextIO, err: TextIO) -> int:
    try:
        lines = undo(system, journal_id)
    except ApplyRefused as exc:
        return _refused(err, "nothing was undone", exc.problems)
    except JournalError as exc:
        err.write(f"ssdwizard: {exc}\n")
        return EXIT_REFUSED
    except OSError as exc:
        # A disk that fills or turns read-only half-way: what is restored stays restored, and a
        # second --undo goes on from where this one stopped.
        err.write(f"ssdwizard: undo stopped: {_os_error(exc)}; "
                  "fix that and run --undo again to finish\n")
        return EXIT_FAILED
    out.write("Undone:\n")
    out.writelines(f"  - {line}\n" for line in lines)
    return EXIT_DONE
