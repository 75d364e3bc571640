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
    """Every probe at once (each in its own thread: they mostly wait on commands), results in
    the guide's order. Commands two steps share run once: the context caches them."""
    steps = list(steps)
    if not ctx.parallel or len(steps) == 1:
        return [run_step(step, ctx) for step in steps]
    from concurrent.futures import ThreadPoolExecutor  # only paid for when threads are used

    with ThreadPoolExecutor(max_workers=len(steps), thread_name_prefix="probe-step") as pool:
        return list(pool.map(lambda step: run_step(step, ctx), steps))
