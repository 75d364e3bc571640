"""``--trim-test MOUNTPOINT`` and ``--iops DISK`` without a screen (issue 7).

The two opt-in active tests: the logic lives in :mod:`ssdwizard.active.trimtest` and
:mod:`ssdwizard.active.iops`; this module turns them into a headless command with progress on stderr,
a report on stdout and an exit code.

``--trim-test``: without ``--yes`` it says what it would do and exits 1 without writing. With
``--yes`` it probes the trim step for the disks under the filesystem (for RZAT), runs the test,
and prints the trim step's report with the test in it (``facts.verified`` set, the verdict a
finding with its evidence). Exit codes: 0 TRIM works, 1 inconclusive or did not reach the disk
(or not run: no --yes), 2 failure, 3 refused or could not run.

``--iops``: read-only, no ``--yes`` needed; prints the figures (``--format json``: the proposed
per-disk ``iops`` fact), exit 0, or 3 when it cannot measure.
"""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from ssdwizard import __version__
from ssdwizard.cli.errors import EXIT_COULD_NOT_RUN, EXIT_NOT_RUN, UsageError
from ssdwizard.cli.terminal import wants_unicode
from ssdwizard.system.base import System


class _PhasePrinter:
    """Progress for a terminal or a log: one line each time the phase changes."""

    def __init__(self, err: TextIO, label: str) -> None:
        self.err = err
        self.label = label
        self.phase = ""

    def __call__(self, phase: str, fraction: float) -> None:
        if phase != self.phase:
            self.phase = phase
            self.err.write(f"{self.label}: {phase} ({fraction:.0%})\n")
            self.err.flush()


def _check_arguments(args: argparse.Namespace) -> None:
    if args.trim_test is not None and args.iops is not None:
        raise UsageError("--trim-test and --iops are run one at a time")
    if not args.headless:
        raise UsageError("--trim-test and --iops run without a screen: add --headless")
    if args.apply or args.undo is not None or args.record or args.check or args.choose:
        raise UsageError("--trim-test and --iops do not go with --apply, --undo, --check, --choose or --record")
    if args.iops is not None and args.yes:
        raise UsageError("--iops only reads: it needs no --yes")


def run_active_test(args: argparse.Namespace, system: System, out: TextIO, err: TextIO) -> int:
    _check_arguments(args)
    if args.iops is not None:
        return run_iops(system, args.iops, args.format, out, err)
    return run_trim_test(system, args.trim_test, args.yes, args.format, out, err)


def run_iops(system: System, disk: str, fmt: str, out: TextIO, err: TextIO,
             seconds: float | None = None) -> int:
    from ssdwizard.active.iops import DEFAULT_SECONDS, IopsError, iops_fact, measure_iops

    try:
        result = measure_iops(system, disk, seconds or DEFAULT_SECONDS, on_progress=_PhasePrinter(err, "iops"))
    except IopsError as exc:
        err.write(f"ssdwizard: {exc}\n")
        return EXIT_COULD_NOT_RUN
    if fmt == "json":
        # "iops" has the shape of the disks step's per-disk `iops` fact.
        out.write(json.dumps({"tool": "ssdwizard", "version": __version__, "disk": result.disk,
                              "path": result.path, "iops": iops_fact(result)}, indent=2) + "\n")
    else:
        out.write(result.text())
    return 0


def run_trim_test(system: System, mount_point: str, yes: bool, fmt: str, out: TextIO, err: TextIO) -> int:
    from ssdwizard.report import RENDERERS, Report, render_text
    from ssdwizard.runner import run_step
    from ssdwizard.steps import STEPS
    from ssdwizard.machine.context import ProbeContext
    from ssdwizard.machine.host import report_header
    from ssdwizard.active.trimtest import TrimTestRefused, plan_trim_test, rzat_of, with_trim_test
    from ssdwizard.active.trimtest import run_trim_test as run_test

    try:
        plan = plan_trim_test(system, mount_point)
    except TrimTestRefused as exc:
        err.write(f"ssdwizard: the TRIM test does not run on {mount_point}: {exc}\n")
        return EXIT_COULD_NOT_RUN
    if not yes:
        out.write("The TRIM read-back test would:\n")
        out.writelines(f"  {line}\n" for line in plan.describe())
        out.write("Nothing was written. Run the test with --yes.\n")
        return EXIT_NOT_RUN
    ctx = ProbeContext(system, chosen_disks=plan.disks)
    try:
        step = next(s for s in STEPS if s.id == "trim")
        result = run_step(step, ctx)
        machine = report_header(ctx)
    finally:
        ctx.close()
    outcome = run_test(system, plan, rzat_of(result, plan.disks), on_progress=_PhasePrinter(err, "trim test"))
    err.write(f"trim test: {outcome.verdict.value}: {outcome.message}\n")
    report = Report(machine, (with_trim_test(result, outcome),))
    out.write(render_text(report, unicode=wants_unicode(out)) if fmt == "text" else RENDERERS[fmt](report))
    return outcome.exit_code
