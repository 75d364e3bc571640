"""The command line: every error path ends in one clear line and exit 3, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import FIXTURES
from ssdwizard.cli import main

DEV_VM = str(FIXTURES / "profiles" / "dev-vm-lsblk")


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--headless", "--format", "yaml"], "invalid choice: 'yaml'"),
        (["--headless", "--steps", "disks,nope"], "unknown step id 'nope'"),
        (["--headless", "--steps", ","], "--steps needs at least one name"),
        (["--headless", "--bogus"], "unrecognized arguments: --bogus"),
        (["--headless", "--jobs", "0"], "must be at least 1, got 0"),
        (["--headless", "--jobs", "many"], "not a whole number: 'many'"),
        (["--headless", "--demo", "no-such-demo"], "no demo profile 'no-such-demo'"),
        (["--headless", "--machine", DEV_VM, "--demo"], "not allowed with argument"),
        (["--headless", "--machine", DEV_VM, "--disk", "sdz"], "--disk sdz: no such disk"),
        (["--machine", DEV_VM, "--steps", "disks"], "--steps, --output and --format are for --headless runs"),
    ],
)
def test_usage_errors_print_one_line_and_the_usage(capsys, argv, message):
    code, out, err = run_cli(capsys, *argv)
    assert code == 3
    assert out == ""
    first, *rest = err.splitlines()
    assert first.startswith("ssdwizard: ") and message in first
    assert rest and rest[0].startswith("usage: ssdwizard")
    assert "Traceback" not in err


ALL_CHOICES = ("mount.discard: timer, keep; mount.commit: remove, keep; ceph.values: defaults, guide; "
               "migration.network: a CIDR")


@pytest.mark.parametrize("choose, message", [
    ("ceph.values=guid", "--choose ceph.values=guid: 'guid' is not a value of ceph.values"),
    ("mount.discard=kep", "--choose mount.discard=kep: 'kep' is not a value of mount.discard"),
    ("mount.commit=KEEP", "'KEEP' is not a value of mount.commit"),
    ("foo.bar=1", "--choose foo.bar: no such choice"),
    ("ceph=guide", "--choose ceph: no such choice"),
    ("nokey", "--choose wants KEY=VALUE, got 'nokey'"),
    ("mount.discard=", "--choose wants KEY=VALUE, got 'mount.discard='"),
])
def test_a_bad_choice_is_a_usage_error_before_any_probe(capsys, tmp_path, choose, message):
    # The profile does not exist: the choice is refused before anything is opened or probed,
    # where it used to plan with the default and say "nothing to change" (exit 0).
    code, out, err = run_cli(capsys, "--apply", "mount,ceph", "--choose", choose, "--machine", str(tmp_path / "gone"))
    assert (code, out) == (3, "")
    first, *rest = err.splitlines()
    assert first.startswith("ssdwizard: ") and message in first
    assert first.endswith(f"(choices: {ALL_CHOICES})")
    assert rest and rest[0].startswith("usage: ssdwizard")


def test_the_choices_come_from_the_step_table():
    from ssdwizard.steps import CHOICES, STEPS

    declared = {c.key: (step.id, c.values, c.default) for step in STEPS for c in step.choices}
    assert declared == {"mount.discard": ("mount", ("timer", "keep"), "timer"),
                        "mount.commit": ("mount", ("remove", "keep"), "remove"),
                        "ceph.values": ("ceph", ("defaults", "guide"), "defaults"),
                        "migration.network": ("migration", (), "")}
    assert set(CHOICES) == set(declared)
    # Only a step with a planner takes choices, and every key is named after its step.
    assert all(step.plan is not None and c.key.startswith(f"{step.id}.") for step in STEPS for c in step.choices)
    assert "; ".join(c.describe() for c in CHOICES.values()) == ALL_CHOICES
    assert ALL_CHOICES.replace("\n", "") in " ".join(build_help().split())


def build_help() -> str:
    from ssdwizard.cli import build_parser

    return build_parser().format_help()


def test_a_good_choice_still_plans(capsys):
    code, out, _ = run_cli(capsys, "--apply", "mount", "--choose", "mount.discard=keep", "--demo")
    assert code == 1 and "/: add noatime" in out


def test_missing_profile_is_one_line_and_exit_3(capsys, tmp_path):
    code, out, err = run_cli(capsys, "--headless", "--report", "--machine", str(tmp_path / "gone"))
    assert (code, out) == (3, "")
    assert err == f"ssdwizard: cannot replay the profile: {tmp_path / 'gone'}: no such profile directory\n"


def test_garbled_profile_is_one_line_and_exit_3(capsys, tmp_path):
    (tmp_path / "profile.toml").write_text("[[command]\nargv = ")
    code, _, err = run_cli(capsys, "--headless", "--machine", str(tmp_path))
    assert code == 3 and err.startswith("ssdwizard: cannot replay the profile:") and "not valid TOML" in err
    assert len(err.splitlines()) == 1


def test_truncated_command_output_file_is_one_line_and_exit_3(capsys, tmp_path):
    (tmp_path / "profile.toml").write_text('[[command]]\nargv = ["lsblk"]\nstdout = "commands/lsblk.json"\n')
    code, _, err = run_cli(capsys, "--headless", "--machine", str(tmp_path))
    assert code == 3 and "cannot read stdout file commands/lsblk.json" in err


def test_unwritable_output_is_one_line_and_exit_3(capsys, tmp_path):
    code, _, err = run_cli(capsys, "--headless", "--machine", DEV_VM, "--output", str(tmp_path / "no" / "dir" / "r.txt"))
    assert code == 3 and err.startswith("ssdwizard: cannot write the report to") and "No such file" in err


def test_output_file_gets_the_report_and_stdout_stays_empty(capsys, tmp_path):
    target = tmp_path / "report.json"
    code, out, _ = run_cli(capsys, "--headless", "--machine", DEV_VM, "--format", "json", "--output", str(target))
    assert out == ""
    report = json.loads(target.read_text())
    assert report["steps"][0]["id"] == "disks" and code == 1  # the virtio disk's rotational=1 is a warning


def test_exit_code_follows_the_worst_status(capsys, make_profile):
    # A machine with no disks at all: the disks step skips, and skip counts as ok.
    code, out, _ = run_cli(capsys, "--headless", "--machine", str(make_profile()), "--format", "json")
    assert code == 0 and json.loads(out)["steps"][0]["status"] == "skip"


def test_record_refuses_a_directory_that_holds_something(capsys, tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    code, _, err = run_cli(capsys, "--record", str(tmp_path))
    assert code == 3 and "exists and is not an empty directory" in err
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_demo_list_names_every_bundled_profile(capsys):
    code, out, _ = run_cli(capsys, "--demo", "list")
    assert code == 0
    assert out.splitlines()[0] == "pve-ceph-node (default)"
    for name in ("nvme-workstation", "legacy-ide"):
        assert name in out


def test_a_broken_probe_is_an_error_step_and_exit_3(capsys, monkeypatch):
    import ssdwizard.machine.inventory as disks

    monkeypatch.setattr(disks, "_probe_inventory", lambda ctx: 1 / 0)
    code, out, _ = run_cli(capsys, "--headless", "--machine", DEV_VM, "--format", "json")
    step = json.loads(out)["steps"][0]
    assert code == 3 and step["status"] == "error" and "ZeroDivisionError" in step["summary"]


def test_the_console_entry_point_runs_as_a_module():
    done = subprocess.run([sys.executable, "-m", "ssdwizard", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("ssdwizard ")
