"""Command line: which mode a run is, and the one place errors become exit codes (DESIGN §3.3).

Errors a person can act on get one line on stderr (plus the usage where it helps) and exit 3,
never a traceback. The modules here each do one part: ``args`` (the parser and its checks),
``machine`` (which machine is read), ``report`` (the headless report), ``apply`` (``--apply``
and ``--undo``), ``active`` (``--trim-test``, ``--iops``), ``wizard`` (starting the TUI, the
only one that imports Textual, and only when it runs), ``terminal`` (Unicode or ASCII marks).
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from ssdwizard.cli.args import apply_steps, build_parser, chosen_steps, parse_choices, split_ids
from ssdwizard.cli.errors import EXIT_COULD_NOT_RUN, EXIT_INTERRUPTED, CannotRun, UsageError
from ssdwizard.cli.machine import list_demos, open_system, record_profile, refuse_bundled_demo
from ssdwizard.cli.report import probe, write_report
from ssdwizard.machine.host import report_header
from ssdwizard.report import Report, exit_code
from ssdwizard.system.base import ProfileError
from ssdwizard.system.recording import RecordingSystem
from ssdwizard.textsafe import visible, visible_writer

__all__ = ["CannotRun", "UsageError", "build_parser", "main", "run"]


def run(argv: list[str] | None, out: TextIO, err: TextIO) -> int:
    args = build_parser().parse_args(argv)
    if args.demo == "list":
        return list_demos(out)
    if args.trim_test is not None or args.iops is not None:
        from ssdwizard.cli.active import run_active_test  # loaded only for an active test

        return run_active_test(args, open_system(args), out, err)
    chosen = split_ids(args.disk, "--disk") if args.disk is not None else None
    choices = parse_choices(args.choose)
    if (args.check or args.yes or args.choose) and not args.apply:
        raise UsageError("--check, --yes and --choose go with --apply STEP")
    if args.apply and args.undo is not None:
        raise UsageError("--apply and --undo do not go together")
    if args.undo is not None:
        refuse_bundled_demo(args)
        from ssdwizard.cli.apply import run_undo  # the apply layer loads only when used

        # Refusals quote the machine's files: escapes in them are shown, not sent.
        return run_undo(open_system(args), args.undo or None, visible_writer(out), visible_writer(err))
    if args.apply:
        steps = apply_steps(args.apply)
        if args.yes and not args.check:
            refuse_bundled_demo(args)
    else:
        steps = chosen_steps(args.steps)
        if not args.headless and not args.record:
            from ssdwizard.cli.wizard import run_wizard

            return run_wizard(args, chosen, choices, out)
    system = open_system(args)
    ctx, results = probe(system, steps, chosen, choices, args.jobs)
    if args.apply:
        from ssdwizard.cli.apply import run_apply

        return run_apply(system, results, args.yes and not args.check, visible_writer(out), visible_writer(err))
    if args.record:
        assert isinstance(system, RecordingSystem)
        record_profile(system, ctx, args.record, err if args.headless else out)
        if not args.headless:
            return 0
    report = Report(report_header(ctx), tuple(results))
    write_report(report, args.format, args.output, out)
    return exit_code(report.status)


def main(argv: list[str] | None = None) -> int:
    """The console script. Never lets a traceback reach the admin."""
    parser_usage = build_parser().format_usage()
    try:
        return run(argv, sys.stdout, sys.stderr)
    except UsageError as exc:
        sys.stderr.write(f"ssdwizard: {visible(str(exc), one_line=True)}\n{parser_usage}")
        return EXIT_COULD_NOT_RUN
    except CannotRun as exc:
        # A profile error may quote the profile: its escapes are shown, not sent to the terminal.
        sys.stderr.write(f"ssdwizard: {visible(str(exc), one_line=True)}\n")
        return EXIT_COULD_NOT_RUN
    except ProfileError as exc:
        # Found while the probes ran (a garbled file of the profile, a link that leaves it):
        # the runner lets it through, because the profile is at fault, not one step.
        sys.stderr.write(f"ssdwizard: cannot replay the profile: {visible(str(exc), one_line=True)}\n")
        return EXIT_COULD_NOT_RUN
    except KeyboardInterrupt:
        sys.stderr.write("ssdwizard: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (| head): not an error worth a message.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_COULD_NOT_RUN
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        sys.stderr.write(f"ssdwizard: internal error: {type(exc).__name__}: {visible(str(exc), one_line=True)}\n"
                         "Please report it, with a recorded profile (ssdwizard --record DIR) if you can.\n")
        return EXIT_COULD_NOT_RUN
