"""Exports the README's screenshots from the app on the default demo (SVG, 100x32):

    python assets/make_screenshots.py
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from ssdwizard.app import WizardApp
from ssdwizard.data import DEFAULT_DEMO, PROFILES_DIR
from ssdwizard.steps import STEPS
from ssdwizard.system.profile import ProfileSystem

HERE = Path(__file__).resolve().parent
# (file name, keys from the welcome screen)
SHOTS = [
    ("welcome.svg", []),
    ("disk-choice.svg", ["enter"]),
    ("step-sata.svg", ["enter", "enter", "n", "n"]),
    ("step-trim.svg", ["enter", "enter", "n", "n", "n"]),
    ("confirm-apply.svg", ["enter", "enter", "n", "n", "n", "a"]),
    ("step-ceph.svg", ["enter", "enter", *["n"] * 7]),
    ("summary.svg", ["enter", "enter", *["n"] * 9]),
]


async def shoot(name: str, keys: list[str]) -> None:
    app = WizardApp(ProfileSystem(PROFILES_DIR / DEFAULT_DEMO))
    async with app.run_test(size=(100, 32)) as pilot:
        while len(app.results) < len(STEPS):
            await pilot.pause(0.05)
        for key in keys:
            await pilot.press(key)
            await pilot.pause(0.2)
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        app.save_screenshot(str(HERE / name))


def main() -> None:
    for name, keys in SHOTS:
        asyncio.run(shoot(name, keys))
        print(f"wrote assets/{name}")


if __name__ == "__main__":
    main()
