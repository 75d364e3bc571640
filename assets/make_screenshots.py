"""Exports the README's screenshots from the app on the default demo (SVG, 100x32; the console
ones at 80x24 in console mode, as on TERM=linux):

    python assets/make_screenshots.py
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from ssdwizard.tui.app import WizardApp
from ssdwizard.data import DEFAULT_DEMO, PROFILES_DIR
from ssdwizard.steps import STEPS
from ssdwizard.system.profile import ProfileSystem

HERE = Path(__file__).resolve().parent
# (file name, keys from the welcome screen, console mode)
SHOTS = [
    ("welcome.svg", [], False),
    ("disk-choice.svg", ["enter"], False),
    ("step-sata.svg", ["enter", "enter", "n", "n"], False),
    ("step-trim.svg", ["enter", "enter", "n", "n", "n"], False),
    ("confirm-apply.svg", ["enter", "enter", "n", "n", "n", "a"], False),
    ("step-ceph.svg", ["enter", "enter", *["n"] * 7], False),
    ("summary.svg", ["enter", "enter", *["n"] * 9], False),
    ("console-step-mount.svg", ["enter", "enter", *["n"] * 5], True),
    ("console-step-list.svg", ["enter", "enter", *["n"] * 5, "l"], True),
]


async def shoot(name: str, keys: list[str], console: bool) -> None:
    # The look is chosen here, not from this terminal's TERM and locale.
    app = WizardApp(ProfileSystem(PROFILES_DIR / DEFAULT_DEMO), console=console, ansi=console)
    async with app.run_test(size=(80, 24) if console else (100, 32)) as pilot:
        while len(app.results) < len(STEPS):
            await pilot.pause(0.05)
        for key in keys:
            await pilot.press(key)
            await pilot.pause(0.2)
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        app.save_screenshot(str(HERE / name))


def main() -> None:
    for name, keys, console in SHOTS:
        asyncio.run(shoot(name, keys, console))
        print(f"wrote assets/{name}")


if __name__ == "__main__":
    main()
