"""The guide's steps, in the guide's order: the one place that order lives.

Screens, report and CLI all iterate :data:`STEPS`; adding a step is adding a module (with
``ID``, ``TITLE``, ``probe`` and, for an apply action, ``plan``) and one entry here. The ids
are public (DESIGN §1): reports and ``--steps`` use them.

A step's module is imported when the step first runs, not here: ``--steps disks`` then loads
only what the disks step needs, and a report pays for the steps it shows.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from ssdwizard.model import Choice, Step
from ssdwizard.machine.proxmox import gated_probe


def _deferred(module: str, name: str) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args)

    call.__qualname__ = f"{module}.{name}"
    return call


def _step(step_id: str, title: str, planned: bool = False, proxmox: bool = False,
          choices: tuple[Choice, ...] = ()) -> Step:
    module = f"ssdwizard.steps.{step_id}"
    probe = _deferred(module, "probe")
    if proxmox:
        probe = gated_probe(step_id, probe)
    return Step(step_id, title, probe, _deferred(module, "plan") if planned else None, choices)


STEPS: tuple[Step, ...] = (
    _step("disks", "Disks"),
    _step("ahci", "AHCI mode"),
    _step("sata", "SATA link speed"),
    _step("trim", "TRIM", planned=True),
    _step("filesystem", "Filesystem"),
    _step("mount", "Mount options", planned=True, choices=(
        Choice("mount.discard", "timer: drop online 'discard' for the weekly fstrim.timer; keep: leave it",
               ("timer", "keep"), "timer"),
        Choice("mount.commit", "remove: drop a commit= above the filesystem's default; keep: leave it (with a "
               "warning)", ("remove", "keep"), "remove"),
    )),
    _step("scheduler", "I/O scheduler", planned=True),
    _step("ceph", "Ceph RBD cache", planned=True, proxmox=True, choices=(
        Choice("ceph.values", "defaults: only turn the rbd cache on; guide: also write the guide's rbd cache values",
               ("defaults", "guide"), "defaults"),
    )),
    _step("migration", "Live migration", planned=True, proxmox=True, choices=(
        Choice("migration.network", "a private network in CIDR form, e.g. 10.10.10.0/24 (default: the one found)"),
    )),
)

STEP_IDS: tuple[str, ...] = tuple(step.id for step in STEPS)

#: Every step's declared choices by key (``--choose KEY=VALUE``).
CHOICES: dict[str, Choice] = {choice.key: choice for step in STEPS for choice in step.choices}


def chosen(choices: Mapping[str, str], key: str) -> str:
    """The admin's value for the declared choice ``key``, else its default ("" for a choice
    without one: the step works it out). A value the
    declaration does not allow is a ValueError: the CLI refuses it before probing, this
    guards every other caller (the wizard, tests), so no planner guesses."""
    choice = CHOICES[key]
    value = choices.get(key, choice.default)
    if not choice.allows(value):
        raise ValueError(f"choice {key}={value!r}: expected one of {', '.join(choice.values)}")
    return value
