"""What a step's screen shows or offers beyond the common frame, in one table: a picture drawn
from the facts, and an action of its own (a key, a button and the dialog it opens). A step
without an entry gets the frame alone; a new step needs no screen code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.screen import Screen
from textual.widget import Widget

from ssdwizard.tui.glyphs import UNICODE, Glyphs
from ssdwizard.tui.widgets.pictures import ceph_picture, health_picture, migration_picture, sata_picture

if TYPE_CHECKING:
    from ssdwizard.tui.app import WizardApp

Picture = Callable[[dict[str, Any], Glyphs], list[Widget]]


@dataclass(frozen=True)
class StepAction:
    """A dialog a step's screen offers: ``key`` in the footer and a button labelled ``label``
    (both with ``id``); ``open`` builds the dialog from what the wizard knows."""

    key: str
    label: str
    id: str
    open: Callable[[WizardApp], Screen[Any]]


@dataclass(frozen=True)
class StepExtras:
    step_id: str
    picture: Picture | None = None
    action: StepAction | None = None


def _trim_test(app: WizardApp) -> Screen[Any]:
    """The TRIM read-back test, on the first ext4 or xfs mount the filesystem step found."""
    from ssdwizard.tui.modals.active import TrimTestModal  # the dialog loads when it opens

    mounts = app.results.get("filesystem")
    candidates = [m["target"] for m in (mounts.facts.get("mounts", []) if mounts else [])
                  if m.get("fstype") in ("ext4", "xfs")]
    return TrimTestModal(candidates[0] if candidates else "/")


EXTRAS: dict[str, StepExtras] = {extras.step_id: extras for extras in (
    StepExtras("health", picture=health_picture),
    StepExtras("trim", action=StepAction("t", "TRIM test", "trim-test", _trim_test)),
    StepExtras("sata", picture=sata_picture),
    StepExtras("ceph", picture=ceph_picture),
    StepExtras("migration", picture=migration_picture),
)}

#: Every step action, for the screen's key bindings (each shown only on its own step).
ACTIONS: tuple[tuple[str, StepAction], ...] = tuple(
    (extras.step_id, extras.action) for extras in EXTRAS.values() if extras.action is not None)


def extras_of(step_id: str) -> StepExtras:
    return EXTRAS.get(step_id) or StepExtras(step_id)


def picture_for(step_id: str, facts: dict[str, Any], glyphs: Glyphs = UNICODE) -> list[Widget]:
    picture = extras_of(step_id).picture
    return picture(facts, glyphs) if picture is not None else []
