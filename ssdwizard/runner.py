"""Runs the probes and turns a probe that breaks into an ``error`` result, not a crash."""

from __future__ import annotations

from collections.abc import Iterable

from ssdwizard.steps.base import Evidence, Finding, ProbeContext, Status, Step, StepResult


def run_step(step: Step, ctx: ProbeContext) -> StepResult:
    """One probe. Whatever it raises becomes status ``error`` with the message; the run goes on."""
    try:
        return step.probe(ctx)
    except Exception as exc:  # noqa: BLE001 - a broken probe must not stop the others
        message = f"{type(exc).__name__}: {exc}"
        return StepResult(
            step.id,
            step.title,
            Status.ERROR,
            f"The probe failed: {message}",
            (Finding(Status.ERROR, step.id, f"The probe failed: {message}",
                     "Please report this with a recorded profile (ssdwizard --record DIR).",
                     (Evidence("ssdwizard", message),)),),
            {},
        )


def run_steps(steps: Iterable[Step], ctx: ProbeContext) -> list[StepResult]:
    return [run_step(step, ctx) for step in steps]
