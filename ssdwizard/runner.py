"""Runs the probes and turns a probe that breaks into an ``error`` result, not a crash."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Evidence, Finding, Status, Step, StepResult
from ssdwizard.system.base import ProfileError

#: The subject of a finding that says why a step's plan changes nothing.
PLAN_SUBJECT = "plan"


def run_step(step: Step, ctx: ProbeContext, choices: Mapping[str, str] | None = None) -> StepResult:
    """One probe, then its plan. Whatever they raise becomes status ``error`` with the message;
    the run goes on. Except a :class:`ProfileError`: a replayed profile that is garbled or tries
    to leave its directory is not one step's bug, so the whole run stops with the profile's
    message (exit 3), rather than a report that looks like a machine."""
    try:
        result = step.probe(ctx)
    except ProfileError:
        raise
    except Exception as exc:  # noqa: BLE001 - a broken probe must not stop the others
        return _broken(step, exc)
    if step.plan is None or result.status in (Status.ERROR, Status.SKIP):  # nothing to change
        return result
    try:
        plan = step.plan(result, choices or {})
    except ProfileError:
        raise
    except Exception as exc:  # noqa: BLE001 - a broken planner leaves the findings standing
        message = f"{type(exc).__name__}: {exc}"
        broken = Finding(Status.ERROR, step.id, f"Planning the change failed: {message}",
                         "Please report this with a recorded profile (ssdwizard --record DIR).")
        return replace(result, status=Status.ERROR, findings=(*result.findings, broken))
    if plan is not None and plan.empty and plan.warnings:
        # Nothing to apply, and the planner says why (mount refusing an ambiguous fstab line):
        # ``plan`` stays None (nothing to confirm), the reasons become findings, so the report,
        # the wizard and ``--apply`` all show them.
        said = tuple(Finding(Status.WARN, PLAN_SUBJECT, warning) for warning in plan.warnings)
        return replace(result, status=Status.worst([result.status, Status.WARN]), findings=(*result.findings, *said),
                       plan=None)
    return replace(result, plan=plan if plan is not None and not plan.empty else None)


def _broken(step: Step, exc: Exception) -> StepResult:
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


def run_steps(steps: Iterable[Step], ctx: ProbeContext, choices: Mapping[str, str] | None = None) -> list[StepResult]:
    """Every probe at once (each in its own thread: they mostly wait on commands), results in
    the guide's order. Commands two steps share run once: the context caches them."""
    steps = list(steps)
    if not ctx.parallel or len(steps) == 1:
        return [run_step(step, ctx, choices) for step in steps]
    from concurrent.futures import ThreadPoolExecutor  # only paid for when threads are used

    with ThreadPoolExecutor(max_workers=len(steps), thread_name_prefix="probe-step") as pool:
        return list(pool.map(lambda step: run_step(step, ctx, choices), steps))
