"""Helpers for the screen tests: a wizard on a fixed profile, and waiting for its probes."""

from __future__ import annotations

from pathlib import Path

from ssdwizard.tui.app import WizardApp
from ssdwizard.data import PROFILES_DIR
from ssdwizard.steps import STEPS
from ssdwizard.system import ProfileSystem


def wizard(profile: str | Path = "pve-ceph-node", console: bool = False, ansi: bool | None = None,
           **kwargs) -> WizardApp:
    """The wizard on a profile. Console mode and the 16-colour palette are chosen here, never
    from this machine's TERM and locale, so that a snapshot looks the same everywhere."""
    path = PROFILES_DIR / profile if isinstance(profile, str) else profile
    return WizardApp(ProfileSystem(path), console=console, ansi=console if ansi is None else ansi, **kwargs)


async def settle(pilot, steps=STEPS) -> None:
    """Wait until every probe has answered and the screen has redrawn (no sleeps as assertions:
    the loop ends on the app's own state)."""
    app = pilot.app
    for _ in range(400):
        if all(step.id in app.results for step in steps) and not app.applying:
            break
        await pilot.pause(0.02)
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    # A DataTable sizes its columns and decides on a scrollbar on an idle pass after its rows
    # arrive; under load that pass can come after the first pause (seen: one cell narrower).
    await pilot.wait_for_scheduled_animations()
    for _ in range(3):
        await pilot.pause(0.02)


# Keys from the welcome screen: enter → disk choice, enter → the first step, n → the next one.
# Built from the step table, so that a new step moves no test constant.
TO_DISK_CHOICE = ["enter"]
TO_STEP = {step.id: ["enter", "enter", *(["n"] * index)] for index, step in enumerate(STEPS)}
TO_SUMMARY = ["enter", "enter", *(["n"] * len(STEPS))]


def steps_between(first: str, second: str) -> list[str]:
    """The n presses from step ``first`` to step ``second``."""
    return ["n"] * (len(TO_STEP[second]) - len(TO_STEP[first]))
