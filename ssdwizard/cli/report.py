"""The headless run: probe the chosen steps once, then print or write the report."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence, TextIO

from ssdwizard.cli.errors import CannotRun, UsageError
from ssdwizard.cli.terminal import wants_unicode
from ssdwizard.machine.context import ProbeContext
from ssdwizard.machine.inventory import unknown_chosen_disks
from ssdwizard.model import Step, StepResult
from ssdwizard.report import RENDERERS, Report, render_text
from ssdwizard.runner import run_steps
from ssdwizard.system.base import System


def probe(system: System, steps: Sequence[Step], chosen: tuple[str, ...] | None, choices: dict[str, str],
          jobs: int) -> tuple[ProbeContext, list[StepResult]]:
    """Every step's result, and the context they shared (closed: its facts stay readable).
    A ``--disk`` this machine lacks is a usage error, found only once the disks are listed."""
    ctx = ProbeContext(system, chosen_disks=chosen, jobs=jobs)
    try:
        results = run_steps(steps, ctx, choices)
    finally:
        ctx.close()
    unknown = unknown_chosen_disks(ctx)
    if unknown:
        raise UsageError(f"--disk {', '.join(unknown)}: no such disk on this machine")
    return ctx, results


def write_report(report: Report, fmt: str, output: str | None, out: TextIO) -> None:
    if output:
        text = RENDERERS[fmt](report)
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CannotRun(f"cannot write the report to {output}: {exc.strerror or exc}") from None
    elif fmt == "text":
        out.write(render_text(report, unicode=wants_unicode(out)))
    else:
        out.write(RENDERERS[fmt](report))
