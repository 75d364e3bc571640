"""Time to the first frame: the wizard on the default demo beside a minimal Textual app with a
Header, a DataTable and a Footer. Each run is a fresh process that exits right after its first
frame is drawn (headless); the figure is the median wall time. Usage:

    python bench/first_frame.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from _compile import byte_compile

CHILD = r"""
import sys
from textual.app import App
from textual.widgets import DataTable, Footer, Header

import time

def first_frame_then_exit(app):
    # After the first refresh the screen has been composed and painted once: report the wall
    # clock then (process teardown, which waits for the wizard's probe threads, is not counted).
    def done():
        print(repr(time.time()), flush=True)
        app.exit()
    app.call_after_refresh(done)

if sys.argv[1] == "minimal":
    class Minimal(App):
        def compose(self):
            yield Header()
            yield DataTable()
            yield Footer()
        def on_mount(self):
            first_frame_then_exit(self)
    Minimal().run(headless=True, size=(100, 32))
else:
    from ssdwizard.tui.app import WizardApp
    from ssdwizard.data import DEFAULT_DEMO, PROFILES_DIR
    from ssdwizard.system.profile import ProfileSystem

    class Measured(WizardApp):
        def on_mount(self):
            super().on_mount()
            first_frame_then_exit(self)
    Measured(ProfileSystem(PROFILES_DIR / DEFAULT_DEMO)).run(headless=True, size=(100, 32))
"""


def once(kind: str) -> float:
    """Seconds from starting the process to its first frame (the child reports the moment)."""
    started = time.time()
    done = subprocess.run([sys.executable, "-c", CHILD, kind], check=True, capture_output=True, text=True)
    return float(done.stdout.strip().splitlines()[-1]) - started


def main() -> None:
    byte_compile()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    once("minimal"), once("wizard")  # warm caches
    samples: dict[str, list[float]] = {"minimal": [], "wizard": []}
    for _ in range(args.runs):
        for kind in samples:
            samples[kind].append(once(kind))
    minimal = statistics.median(samples["minimal"])
    wizard = statistics.median(samples["wizard"])
    print(f"minimal app (Header, DataTable, Footer): {minimal * 1000:7.1f} ms median")
    print(f"ssdwizard on the default demo:          {wizard * 1000:7.1f} ms median ({(wizard / minimal - 1) * 100:+.1f} %)")


if __name__ == "__main__":
    main()
