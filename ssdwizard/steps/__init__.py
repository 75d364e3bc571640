"""The guide's steps, in the guide's order: the one place that order lives.

Screens, report and CLI all iterate :data:`STEPS`; adding a step is adding a module (with
``ID``, ``TITLE``, ``probe`` and, for an apply action, ``plan``) and one entry here. The ids
are public (DESIGN §1): reports and ``--steps`` use them.

A step's module is imported when the step first runs, not here: ``--steps disks`` then loads
only what the disks step needs, and a report pays for the steps it shows.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ssdwizard.steps.base import Step
from ssdwizard.steps.proxmox_gate import gated_probe


def _deferred(module: str, name: str) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args)

    call.__qualname__ = f"{module}.{name}"
    return call


def _step(step_id: str, title: str, planned: bool = False, proxmox: bool = False) -> Step:
    module = f"ssdwizard.steps.{step_id}"
    probe = _deferred(module, "probe")
    if proxmox:
        probe = gated_probe(step_id, probe)
    return Step(step_id, title, probe, _deferred(module, "plan") if planned else None)


STEPS: tuple[Step, ...] = (
    _step("disks", "Disks"),
    _step("ahci", "AHCI mode"),
    _step("sata", "SATA link speed"),
    _step("trim", "TRIM", planned=True),
    _step("filesystem", "Filesystem"),
    _step("mount", "Mount options", planned=True),
    _step("scheduler", "I/O scheduler", planned=True),
    _step("ceph", "Ceph RBD cache", planned=True, proxmox=True),
    _step("migration", "Live migration", planned=True, proxmox=True),
)

STEP_IDS: tuple[str, ...] = tuple(step.id for step in STEPS)


def step_by_id(step_id: str) -> Step:
    return next(step for step in STEPS if step.id == step_id)
