"""Issue 5's end-to-end promise on copies of every demo profile: apply every step's plan, plan
again (nothing left), undo, and every file is byte-identical to before."""

from __future__ import annotations

import os
import shutil

import pytest

from ssdwizard.cli import main
from ssdwizard.data import demo_profiles

ACTIONS = "mount,trim,scheduler,ceph,migration"


def file_bytes(folder):
    found = {}
    for dirpath, _, filenames in os.walk(folder):
        if "var/lib/ssdwizard" in dirpath:
            continue  # the journal itself
        for name in filenames:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, folder)] = handle.read()
    return found


@pytest.mark.parametrize("profile", demo_profiles(), ids=lambda p: p.name)
def test_apply_everything_then_undo_leaves_every_file_as_it_was(profile, tmp_path, capsys):
    copy = tmp_path / profile.name
    shutil.copytree(profile, copy)
    before = file_bytes(copy)
    planned = main(["--apply", ACTIONS, "--machine", str(copy)])
    capsys.readouterr()
    if planned == 0:
        pytest.skip(f"{profile.name}: nothing to change")
    assert planned == 1
    assert main(["--apply", ACTIONS, "--yes", "--machine", str(copy)]) == 0
    applied = capsys.readouterr().out
    assert "Undo with: ssdwizard --undo" in applied
    assert file_bytes(copy) != before
    assert main(["--apply", ACTIONS, "--machine", str(copy)]) == 0, capsys.readouterr().out
    capsys.readouterr()
    assert main(["--undo", "--machine", str(copy)]) == 0
    assert file_bytes(copy) == before


def test_the_proxmox_node_plans_a_change_in_every_step():
    # The demo is built so that each apply action has something to show.
    from ssdwizard.cli import run
    import io

    out = io.StringIO()
    run(["--apply", ACTIONS, "--demo"], out, io.StringIO())
    text = out.getvalue()
    for step in ("trim", "mount", "ceph", "migration"):
        assert f"({step}): " in text and f"({step}): nothing to change" not in text, step
