"""The guide's steps, in the guide's order: the one place that order lives.

Screens, report and CLI all iterate :data:`STEPS`; adding a step is adding a module and one
entry here. The ids are public (DESIGN §1): reports and ``--steps`` use them.
"""

from __future__ import annotations

from ssdwizard.steps import ahci, ceph, disks, filesystem, migration, mount, sata, scheduler, trim
from ssdwizard.steps.base import Step

STEPS: tuple[Step, ...] = (
    Step(disks.ID, disks.TITLE, disks.probe),
    Step(ahci.ID, ahci.TITLE, ahci.probe),
    Step(sata.ID, sata.TITLE, sata.probe),
    Step(trim.ID, trim.TITLE, trim.probe, trim.plan),
    Step(filesystem.ID, filesystem.TITLE, filesystem.probe),
    Step(mount.ID, mount.TITLE, mount.probe, mount.plan),
    Step(scheduler.ID, scheduler.TITLE, scheduler.probe, scheduler.plan),
    Step(ceph.ID, ceph.TITLE, ceph.probe, ceph.plan),
    Step(migration.ID, migration.TITLE, migration.probe, migration.plan),
)

STEP_IDS: tuple[str, ...] = tuple(step.id for step in STEPS)


def step_by_id(step_id: str) -> Step:
    return next(step for step in STEPS if step.id == step_id)
