"""Command line: argument parsing, headless mode and exit codes (DESIGN §3.3).

Errors a person can act on get one line on stderr (plus the usage where it helps) and exit 3,
never a traceback. The TUI is imported lazily, so a headless run never loads Textual.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from pathlib import Path
from typing import NoReturn, TextIO

from ssdwizard import __version__
from ssdwizard.data import DEFAULT_DEMO, demo_profiles
from ssdwizard.report import RENDERERS, Machine, Report, exit_code, render_text
from ssdwizard.runner import run_steps
from ssdwizard.steps import CHOICES, STEP_IDS, STEPS
from ssdwizard.machine.context import DEFAULT_JOBS, ProbeContext
from ssdwizard.machine.inventory import unknown_chosen_disks
from ssdwizard.system.base import ProfileError, System
from ssdwizard.system.live import LiveSystem
from ssdwizard.system.profile import ProfileSystem
from ssdwizard.system.recording import RecordingSystem
from ssdwizard.terminal import wants_ascii
from ssdwizard.textsafe import visible, visible_writer

EXIT_COULD_NOT_RUN = 3
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A bad argument: one line for the admin, shown with the usage."""


class CannotRun(Exception):
    """The run cannot start or finish (unreadable profile, output not writable); no usage."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ssdwizard",
        description="Walks this server's storage through a proven SSD tuning guide: disks, AHCI, SATA link, "
        "TRIM, filesystem, mount options, I/O scheduler, the Ceph librbd cache and Proxmox migration.",
        epilog="Exit codes (headless): 0 ok, 1 warning, 2 failure, 3 could not run.",
    )
    parser.add_argument("--version", action="version", version=f"ssdwizard {__version__}")
    mode = parser.add_argument_group("headless mode")
    mode.add_argument("--headless", action="store_true", help="no screen: print a report (for scripts, monitoring, fleets)")
    mode.add_argument("--report", action="store_true", help="print the report of every step (the default headless action)")
    mode.add_argument("--format", choices=sorted(RENDERERS), default="text", help="report format (default: text)")
    mode.add_argument("--output", metavar="FILE", help="write the report to FILE instead of standard output")
    mode.add_argument("--steps", metavar="ID[,ID]", help=f"only these steps ({', '.join(STEP_IDS)})")
    mode.add_argument("--disk", metavar="NAME[,NAME]", help="the disks the later steps focus on (default: every SSD)")
    mode.add_argument("--jobs", metavar="N", type=_positive_int, default=DEFAULT_JOBS,
                      help=f"commands the probes may run at once (default {DEFAULT_JOBS}; 1 runs one at a time)")
    change = parser.add_argument_group("changing the machine (every change is shown, backed up and undoable)")
    change.add_argument("--apply", metavar="STEP[,STEP]",
                        help="show what these steps would change; with --yes, change it")
    change.add_argument("--check", action="store_true", help="with --apply: only show the changes (the default)")
    change.add_argument("--yes", action="store_true",
                        help="with --apply: make the changes without asking; with --trim-test: run it")
    change.add_argument("--choose", metavar="KEY=VALUE", action="append", default=[],
                        help="a choice for a plan (the default first): "
                             + "; ".join(c.describe() for c in CHOICES.values()).replace("%", "%%"))
    change.add_argument("--undo", metavar="ID", nargs="?", const="", default=None,
                        help="undo the last apply (or the journal entry ID)")
    active = parser.add_argument_group("active tests (opt-in, on this machine, as root)")
    active.add_argument("--trim-test", metavar="MOUNTPOINT",
                        help="TRIM read-back test on an ext4/xfs mount: writes a temporary file, reads the raw device "
                             "(read-only); without --yes only says what it would do. Exit 0 works, 1 inconclusive or "
                             "did not reach the disk, 2 failure, 3 refused")
    active.add_argument("--iops", metavar="DISK", help="read-only 4 KiB random-read IOPS of a disk (e.g. sda) at queue "
                                                       "depth 1 and 32, with fio if installed")
    machine = parser.add_argument_group("which machine")
    where = machine.add_mutually_exclusive_group()
    where.add_argument("--machine", metavar="DIR", help="replay a recorded machine profile instead of this machine")
    where.add_argument("--demo", metavar="NAME", nargs="?", const=DEFAULT_DEMO,
                       help=f"replay a bundled demo profile (default {DEFAULT_DEMO}; 'list' lists them)")
    where.add_argument("--record", metavar="DIR", help="record this machine as a profile in DIR (for a bug report)")
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _split_ids(value: str, what: str) -> tuple[str, ...]:
    ids = tuple(part.strip() for part in value.split(",") if part.strip())
    if not ids:
        raise UsageError(f"{what} needs at least one name")
    return ids


def _chosen_steps(value: str | None):
    if value is None:
        return STEPS
    wanted = _split_ids(value, "--steps")
    unknown = [s for s in wanted if s not in STEP_IDS]
    if unknown:
        raise UsageError(f"unknown step id {', '.join(repr(u) for u in unknown)} (steps: {', '.join(STEP_IDS)})")
    return tuple(step for step in STEPS if step.id in wanted)


def _demo_dir(name: str) -> Path:
    found = {p.name: p for p in demo_profiles()}
    if name not in found:
        raise UsageError(f"no demo profile {name!r} (demo profiles: {', '.join(found) or 'none installed'})")
    return found[name]


def _list_demos(out: TextIO) -> int:
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


def _open_system(args: argparse.Namespace) -> System:
    try:
        if args.machine:
            return ProfileSystem(args.machine)
        if args.demo:
            return ProfileSystem(_demo_dir(args.demo))
    except ProfileError as exc:
        raise CannotRun(f"cannot replay the profile: {exc}") from None
    if args.record:
        return RecordingSystem(LiveSystem())
    return LiveSystem()


def _machine(ctx: ProbeContext) -> Machine:
    from ssdwizard.machine.host import report_header

    return report_header(ctx)


def _wants_unicode(stream: TextIO) -> bool:
    """Status marks in Unicode only where the terminal can show them (see ssdwizard.terminal)."""
    return not wants_ascii(os.environ, encoding=getattr(stream, "encoding", None) or "")


def _write_output(text: str, path: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CannotRun(f"cannot write the report to {path}: {exc.strerror or exc}") from None


def _record(system: RecordingSystem, ctx: ProbeContext, directory: str, out: TextIO) -> None:
    target = Path(directory)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise CannotRun(f"{directory} exists and is not an empty directory; choose a new one")
    machine = _machine(ctx)
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


def _choices_text() -> str:
    return "; ".join(choice.describe() for choice in CHOICES.values())


def _choices(pairs: list[str]) -> dict[str, str]:
    """``--choose`` checked against the steps' declared choices, before anything is probed: a
    misspelt key or value would otherwise plan with the default and say "nothing to change"."""
    choices = {}
    for pair in pairs:
        key, sep, value = (part.strip() for part in pair.partition("="))
        if not sep or not key or not value:
            raise UsageError(f"--choose wants KEY=VALUE, got {pair!r} (choices: {_choices_text()})")
        if key not in CHOICES:
            raise UsageError(f"--choose {key}: no such choice (choices: {_choices_text()})")
        if not CHOICES[key].allows(value):
            raise UsageError(f"--choose {key}={value}: {value!r} is not a value of {key} (choices: {_choices_text()})")
        choices[key] = value
    return choices


def _apply_steps(value: str):
    wanted = _split_ids(value, "--apply")
    planning = [step.id for step in STEPS if step.plan is not None]
    unknown = [s for s in wanted if s not in STEP_IDS]
    if unknown:
        raise UsageError(f"unknown step id {', '.join(repr(u) for u in unknown)} (steps: {', '.join(STEP_IDS)})")
    without = [s for s in wanted if s not in planning]
    if without:
        raise UsageError(f"{', '.join(without)}: no apply action (steps with one: {', '.join(planning)})")
    return tuple(step for step in STEPS if step.id in wanted)


def _refuse_bundled_demo(args: argparse.Namespace) -> None:
    """A demo profile ships inside the package: applying would change the package itself."""
    from ssdwizard.data import PROFILES_DIR

    # --machine pointing into the package is the same demo by another name.
    bundled = bool(args.machine) and Path(args.machine).resolve().is_relative_to(PROFILES_DIR.resolve())
    if args.demo or bundled:
        raise UsageError("changes are not made to a bundled demo: copy it and use --machine DIR "
                         "(ssdwizard --demo list shows them; they live in ssdwizard/data/profiles/)")


def _run_wizard(args: argparse.Namespace, chosen: tuple[str, ...] | None, choices: dict[str, str],
                out: TextIO) -> int:
    """The Textual wizard, imported only now: headless runs never load Textual. When it closes,
    what it changed is printed to the normal terminal, each change with its undo command."""
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
        import shutil
        import tempfile

        copy = Path(tempfile.mkdtemp(prefix="ssdwizard-demo-")) / args.demo
        shutil.copytree(_demo_dir(args.demo), copy)
        args.demo, args.machine = None, str(copy)
    system = _open_system(args)
    from ssdwizard.app import WizardApp

    app = WizardApp(system, chosen_disks=chosen, choices=choices)
    app.run()
    summary = app.exit_summary()
    if not _wants_unicode(out):
        from ssdwizard.screens.glyphs import fold

        summary = fold(summary)
    out.write(summary)
    return 0


def run(argv: list[str] | None, out: TextIO, err: TextIO) -> int:
    args = build_parser().parse_args(argv)
    if args.demo == "list":
        return _list_demos(out)
    if args.trim_test is not None or args.iops is not None:
        from ssdwizard.activetests import run_active_test  # loaded only for an active test

        return run_active_test(args, _open_system(args), out, err)
    chosen = _split_ids(args.disk, "--disk") if args.disk is not None else None
    choices = _choices(args.choose)
    if (args.check or args.yes or args.choose) and not args.apply:
        raise UsageError("--check, --yes and --choose go with --apply STEP")
    if args.apply and args.undo is not None:
        raise UsageError("--apply and --undo do not go together")
    if args.undo is not None:
        _refuse_bundled_demo(args)
        from ssdwizard.apply.headless import run_undo  # the apply layer loads only when used

        # Refusals quote the machine's files: escapes in them are shown, not sent.
        return run_undo(_open_system(args), args.undo or None, visible_writer(out), visible_writer(err))
    if args.apply:
        steps = _apply_steps(args.apply)
        if args.yes and not args.check:
            _refuse_bundled_demo(args)
    else:
        steps = _chosen_steps(args.steps)
        if not args.headless and not args.record:
            return _run_wizard(args, chosen, choices, out)
    system = _open_system(args)
    ctx = ProbeContext(system, chosen_disks=chosen, jobs=args.jobs)
    try:
        results = run_steps(steps, ctx, choices)
    finally:
        ctx.close()
    if args.apply:
        unknown = unknown_chosen_disks(ctx)
        if unknown:
            raise UsageError(f"--disk {', '.join(unknown)}: no such disk on this machine")
        from ssdwizard.apply.headless import run_apply

        return run_apply(system, results, args.yes and not args.check, visible_writer(out), visible_writer(err))
    unknown = unknown_chosen_disks(ctx)
    if unknown:
        raise UsageError(f"--disk {', '.join(unknown)}: no such disk on this machine")
    if args.record:
        assert isinstance(system, RecordingSystem)
        _record(system, ctx, args.record, err if args.headless else out)
        if not args.headless:
            return 0
    report = Report(_machine(ctx), tuple(results))
    if args.output:
        text = RENDERERS[args.format](report)
        _write_output(text, args.output)
    elif args.format == "text":
        out.write(render_text(report, unicode=_wants_unicode(out)))
    else:
        out.write(RENDERERS[args.format](report))
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
