"""The command line's arguments: the parser, and the checks that turn a misspelt step, disk list
or choice into a usage error before anything is probed."""

from __future__ import annotations

import argparse
from typing import NoReturn

from ssdwizard import __version__
from ssdwizard.cli.errors import UsageError
from ssdwizard.data import DEFAULT_DEMO
from ssdwizard.machine.context import DEFAULT_JOBS
from ssdwizard.model import Step
from ssdwizard.report import RENDERERS
from ssdwizard.steps import CHOICES, STEP_IDS, STEPS


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _step_titles() -> str:
    # From the step table, so that a new step shows up here without an edit.
    titles = [step.title for step in STEPS]
    return ", ".join(titles[:-1]) + " and " + titles[-1] if len(titles) > 1 else "".join(titles)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ssdwizard",
        description=f"Walks this server's storage through a proven SSD tuning guide, step by step: {_step_titles()}.",
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
                        help="a choice for a plan (the default first): " + choices_text().replace("%", "%%"))
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


def split_ids(value: str, what: str) -> tuple[str, ...]:
    ids = tuple(part.strip() for part in value.split(",") if part.strip())
    if not ids:
        raise UsageError(f"{what} needs at least one name")
    return ids


def _known_steps(wanted: tuple[str, ...]) -> None:
    unknown = [s for s in wanted if s not in STEP_IDS]
    if unknown:
        raise UsageError(f"unknown step id {', '.join(repr(u) for u in unknown)} (steps: {', '.join(STEP_IDS)})")


def chosen_steps(value: str | None) -> tuple[Step, ...]:
    """``--steps``: every step when absent."""
    if value is None:
        return STEPS
    wanted = split_ids(value, "--steps")
    _known_steps(wanted)
    return tuple(step for step in STEPS if step.id in wanted)


def apply_steps(value: str) -> tuple[Step, ...]:
    """``--apply``: steps that exist and have an apply action."""
    wanted = split_ids(value, "--apply")
    _known_steps(wanted)
    planning = [step.id for step in STEPS if step.plan is not None]
    without = [s for s in wanted if s not in planning]
    if without:
        raise UsageError(f"{', '.join(without)}: no apply action (steps with one: {', '.join(planning)})")
    return tuple(step for step in STEPS if step.id in wanted)


def choices_text() -> str:
    return "; ".join(choice.describe() for choice in CHOICES.values())


def parse_choices(pairs: list[str]) -> dict[str, str]:
    """``--choose`` checked against the steps' declared choices, before anything is probed: a
    misspelt key or value would otherwise plan with the default and say "nothing to change"."""
    choices = {}
    for pair in pairs:
        key, sep, value = (part.strip() for part in pair.partition("="))
        if not sep or not key or not value:
            raise UsageError(f"--choose wants KEY=VALUE, got {pair!r} (choices: {choices_text()})")
        if key not in CHOICES:
            raise UsageError(f"--choose {key}: no such choice (choices: {choices_text()})")
        if not CHOICES[key].allows(value):
            raise UsageError(f"--choose {key}={value}: {value!r} is not a value of {key} (choices: {choices_text()})")
        choices[key] = value
    return choices
