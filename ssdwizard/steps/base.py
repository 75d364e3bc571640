"""Moved: the step model is ssdwizard.model, the probe context ssdwizard.machine.context.
Kept for the length of one refactoring session so that work in flight still imports; remove it."""

from ssdwizard.machine.context import DEFAULT_JOBS, ProbeContext  # noqa: F401
from ssdwizard.model import Evidence, Finding, Planner, Probe, Status, Step, StepResult  # noqa: F401
