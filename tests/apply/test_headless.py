"""--apply, --check, --yes and --undo on copies of the demo profiles."""

from __future__ import annotations

import os
import shutil

import pytest

from ssdwizard.cli import main
from ssdwizard.data import PROFILES_DIR


def snapshot(folder):
    """Every file's bytes and mtime below a folder (the journal's state folder left out)."""
    found = {}
    for dirpath, _, filenames in os.walk(folder):
        if "/var/lib/ssdwizard" in dirpath:
            continue
        for name in filenames:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, folder)] = (handle.read(), os.stat(path).st_mtime_ns)
    return found


@pytest.fixture
def vm(tmp_path):
    target = tmp_path / "vm"
    shutil.copytree(PROFILES_DIR / "vm-virtio", target)
    return target


def test_check_shows_the_diff_and_leaves_every_byte_and_mtime_alone(vm, capsys):
    before = snapshot(vm)
    for argv in (["--apply", "scheduler"], ["--headless", "--apply", "scheduler", "--check"],
                 ["--apply", "scheduler", "--check", "--yes"]):
        assert main([*argv, "--machine", str(vm)]) == 1
        out = capsys.readouterr().out
        assert "+ACTION==\"add|change\", SUBSYSTEM==\"block\", ENV{DEVTYPE}==\"disk\", KERNEL==\"vd[a-z]*\"" in out
        assert "-mq-deadline\n+none\n" in out and "Nothing was changed" in out
    assert snapshot(vm) == before
    assert not (vm / "root" / "var").exists()


def test_apply_then_plan_again_is_idempotent_and_undo_restores_every_byte(vm, capsys):
    before = {k: v[0] for k, v in snapshot(vm).items()}
    assert main(["--apply", "scheduler", "--yes", "--machine", str(vm)]) == 0
    out = capsys.readouterr().out
    assert "Undo with: ssdwizard --undo " in out
    assert main(["--apply", "scheduler", "--machine", str(vm)]) == 0
    assert "nothing to change" in capsys.readouterr().out
    assert main(["--undo", "--machine", str(vm)]) == 0
    assert {k: v[0] for k, v in snapshot(vm).items()} == before


def test_undo_with_nothing_applied_says_so(vm, capsys):
    assert main(["--undo", "--machine", str(vm)]) == 3
    assert "nothing to undo" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--apply", "disks"], "disks: no apply action"),
    (["--apply", "nope"], "unknown step id 'nope'"),
    (["--yes"], "--check, --yes and --choose go with --apply STEP"),
    (["--apply", "scheduler", "--choose", "novalue"], "--choose wants KEY=VALUE"),
    (["--apply", "scheduler", "--undo"], "--apply and --undo do not go together"),
    (["--apply", "scheduler", "--yes", "--demo", "vm-virtio"], "changes are not made to a bundled demo"),
])
def test_apply_usage_errors(capsys, argv, message):
    assert main(argv) == 3
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--undo"], ["--apply", "scheduler", "--yes"]], ids=["undo", "apply"])
def test_a_bundled_demo_named_by_its_path_is_not_changed_either(capsys, argv):
    from ssdwizard.data import PROFILES_DIR

    demo = PROFILES_DIR / "vm-virtio"
    before = sorted(p.relative_to(demo) for p in demo.rglob("*"))
    assert main([*argv, "--machine", str(demo)]) == 3
    assert "changes are not made to a bundled demo" in capsys.readouterr().err
    assert sorted(p.relative_to(demo) for p in demo.rglob("*")) == before  # not even a lock file


def test_a_bundled_demo_can_still_be_checked(capsys):
    assert main(["--apply", "scheduler", "--demo", "vm-virtio"]) == 1
    assert "Nothing was changed" in capsys.readouterr().out
