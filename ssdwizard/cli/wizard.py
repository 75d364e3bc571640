"""Starting the Textual wizard from the command line. Textual is imported only here, and only
when the wizard runs: headless runs never load it."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TextIO

from ssdwizard.cli.errors import CannotRun, UsageError
from ssdwizard.cli.machine import demo_dir, open_system
from ssdwizard.cli.terminal import wants_unicode


def run_wizard(args: argparse.Namespace, chosen: tuple[str, ...] | None, choices: dict[str, str],
               out: TextIO) -> int:
    """The wizard; when it closes, what it changed is printed to the normal terminal, each
    change with its undo command."""
    if args.steps or args.output or args.format != "text":
        raise UsageError("--steps, --output and --format are for --headless runs")
    # In a pipe or with output to a file the wizard would write escape codes there and wait for
    # keys nobody sees: say so instead (Textual draws on stderr and reads stdin).
    for name, stream in (("standard output", out), ("standard input", sys.stdin), ("standard error", sys.stderr)):
        if not (hasattr(stream, "isatty") and stream.isatty()):
            raise CannotRun(f"the wizard needs a terminal, and {name} is not one (a pipe or a file); "
                            "for a report use: ssdwizard --headless --report")
    if args.demo:
        # A bundled demo ships inside the package: the wizard works on a temporary copy, so
        # that Apply and Undo can be tried without changing the package.
        copy = Path(tempfile.mkdtemp(prefix="ssdwizard-demo-")) / args.demo
        shutil.copytree(demo_dir(args.demo), copy)
        args.demo, args.machine = None, str(copy)
    system = open_system(args)
    from ssdwizard.tui.app import WizardApp

    app = WizardApp(system, chosen_disks=chosen, choices=choices)
    app.run()
    summary = app.exit_summary()
    if not wants_unicode(out):
        from ssdwizard.tui.glyphs import fold

        summary = fold(summary)
    out.write(summary)
    return 0
