"""The guide's steps, in the guide's order: the one place that order lives.

Screens, report and CLI all iterate :data:`STEPS`; adding a step is adding a module (with
``ID``, ``TITLE``, ``probe`` and, for an apply action, ``plan``) and one entry here. The ids
are public (DESIGN §1): reports and ``--steps`` use them. The entry also declares the
choices its plan takes (:class:`~ssdwizard.model.Choice`): ``--choose`` is checked against
them before anything is probed, and the planner reads its values from them (:func:`chosen`).

A step's module is imported when the step first runs, not here: ``--steps disks`` then loads
only what the disks step needs, and a report pays for the steps it shows.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from ssdwizard.machine.proxmox import PVE_DIR, proxmox_gate
from ssdwizard.model import Choice, Evidence, Finding, Status, Step, StepResult


def _deferred(module: str, name: str) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args)

    call.__qualname__ = f"{module}.{name}"
    return call


def skipped(step_id: str, title: str, reason: str, facts: Mapping[str, Any], where: str) -> StepResult:
    """A step that does not apply here, said as such: its own id, title and empty facts."""
    return StepResult(step_id, title, Status.SKIP, reason,
                      (Finding(Status.SKIP, step_id, reason, "", (Evidence(where, "(missing or empty)"),)),),
                      dict(facts))


def _gated(step_id: str, title: str, probe: Callable[..., Any], gate: Callable[..., str | None],
           facts: Mapping[str, Any], where: str) -> Callable[..., Any]:
    """The probe behind its gate: off a Proxmox node the step skips without loading its module.
    Built per step from its own table entry, so no step can be handed another's result."""
    def run(ctx: Any) -> Any:
        reason = gate(ctx)
        return probe(ctx) if reason is None else skipped(step_id, title, reason, facts, where)

    run.__qualname__ = getattr(probe, "__qualname__", "probe")
    return run


def _step(step_id: str, title: str, planned: bool = False, choices: tuple[Choice, ...] = (),
          gate: Callable[..., str | None] | None = None, skip_facts: Mapping[str, Any] | None = None) -> Step:
    module = f"ssdwizard.steps.{step_id}"
    probe = _deferred(module, "probe")
    if gate is not None:
        probe = _gated(step_id, title, probe, gate, skip_facts or {}, PVE_DIR)
    return Step(step_id, title, probe, _deferred(module, "plan") if planned else None, choices, gate,
                dict(skip_facts or {}))


STEPS: tuple[Step, ...] = (
    _step("disks", "Disks"),
    _step("health", "Health and wear"),
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
    _step("ceph", "Ceph RBD cache", planned=True, gate=proxmox_gate, skip_facts={
        "config_path": None, "rbd_cache": None, "vms": [], "virtual_disks": 0, "ram_reserved_bytes": 0}, choices=(
        Choice("ceph.values", "defaults: only turn the rbd cache on; guide: also write the guide's rbd cache values",
               ("defaults", "guide"), "defaults"),
    )),
    _step("migration", "Live migration", planned=True, gate=proxmox_gate, skip_facts={
        "type": None, "network": None, "legacy_unsecure": None, "tasks": [], "link_gbps": None,
        "utilisation": None}, choices=(
        Choice("migration.network", "the dedicated private network to migrate over, e.g. 10.10.10.0/24 (default: "
               "the one found)", form="a CIDR"),
    )),
)

STEP_IDS: tuple[str, ...] = tuple(step.id for step in STEPS)

#: Every step's declared choices by key (``--choose KEY=VALUE``).
CHOICES: dict[str, Choice] = {choice.key: choice for step in STEPS for choice in step.choices}


def skip_facts(step_id: str) -> dict[str, Any]:
    """A fresh copy of the facts a skipped step reports (its table entry says them)."""
    return dict(next(step.skip_facts for step in STEPS if step.id == step_id))


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
