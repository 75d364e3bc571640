"""Which machine a run reads: this one, a recorded profile, a bundled demo, or this one while
it is being recorded (``--record``)."""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path
from typing import TextIO

from ssdwizard import __version__
from ssdwizard.cli.errors import CannotRun, UsageError
from ssdwizard.data import DEFAULT_DEMO, PROFILES_DIR, demo_profiles
from ssdwizard.machine.context import ProbeContext
from ssdwizard.machine.host import report_header
from ssdwizard.system.base import ProfileError, System
from ssdwizard.system.live import LiveSystem
from ssdwizard.system.profile import ProfileSystem
from ssdwizard.system.recording import RecordingSystem
from ssdwizard.textsafe import visible


def demo_dir(name: str) -> Path:
    found = {p.name: p for p in demo_profiles()}
    if name not in found:
        raise UsageError(f"no demo profile {name!r} (demo profiles: {', '.join(found) or 'none installed'})")
    return found[name]


def list_demos(out: TextIO) -> int:
    for path in demo_profiles():
        try:
            system = ProfileSystem(path)
        except ProfileError as exc:
            out.write(f"{path.name}  (broken: {visible(str(exc), one_line=True)})\n")
            continue
        first = system.description.strip().split(". ")[0].rstrip(".")
        default = " (default)" if path.name == DEFAULT_DEMO else ""
        out.write(f"{path.name}{default}\n    {visible(first, one_line=True)}.\n")
    return 0


def open_system(args: argparse.Namespace) -> System:
    try:
        if args.machine:
            return ProfileSystem(args.machine)
        if args.demo:
            return ProfileSystem(demo_dir(args.demo))
    except ProfileError as exc:
        raise CannotRun(f"cannot replay the profile: {exc}") from None
    if args.record:
        return RecordingSystem(LiveSystem())
    return LiveSystem()


def refuse_bundled_demo(args: argparse.Namespace) -> None:
    """A demo profile ships inside the package: applying would change the package itself."""
    # --machine pointing into the package is the same demo by another name.
    bundled = bool(args.machine) and Path(args.machine).resolve().is_relative_to(PROFILES_DIR.resolve())
    if args.demo or bundled:
        raise UsageError("changes are not made to a bundled demo: copy it and use --machine DIR "
                         "(ssdwizard --demo list shows them; they live in ssdwizard/data/profiles/)")


def record_profile(system: RecordingSystem, ctx: ProbeContext, directory: str, out: TextIO) -> None:
    target = Path(directory)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise CannotRun(f"{directory} exists and is not an empty directory; choose a new one")
    machine = report_header(ctx)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    name = machine.hostname or "recorded"
    description = (f"Recorded on {name} (kernel {machine.kernel or 'unknown'}) by ssdwizard {__version__} "
                   f"on {stamp}. Sources: this machine's own command outputs and files.")
    try:
        system.save(target, name, description)
    except OSError as exc:
        raise CannotRun(f"cannot write the profile to {directory}: {exc.strerror or exc}") from None
    out.write(f"Recorded this machine to {directory}. Replay it with: ssdwizard --headless --report --machine {directory}\n"
              "It holds serial numbers and hostnames: look through it before you attach it to a bug report.\n")
