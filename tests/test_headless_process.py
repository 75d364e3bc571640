"""The headless path as a separate process: the JSON contract, and record-then-replay of this machine.

That a headless run never loads Textual or Rich is checked in test_import_contract.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from schema import validate_report


def test_demo_json_report_validates_against_the_contract():
    done = subprocess.run([sys.executable, "-m", "ssdwizard", "--headless", "--report", "--format", "json", "--demo"],
                          capture_output=True, text=True)
    assert done.returncode in (0, 1, 2), done.stderr
    validate_report(json.loads(done.stdout))


def test_record_then_replay_gives_the_same_disks_facts_as_the_live_run(tmp_path):
    profile = tmp_path / "recorded"
    live = subprocess.run([sys.executable, "-m", "ssdwizard", "--record", str(profile), "--headless", "--report",
                           "--format", "json"], capture_output=True, text=True)
    assert live.returncode in (0, 1, 2), live.stderr
    assert "Recorded this machine to" in live.stderr
    replay = subprocess.run([sys.executable, "-m", "ssdwizard", "--headless", "--report", "--format", "json",
                             "--machine", str(profile)], capture_output=True, text=True)
    live_report, replayed = json.loads(live.stdout), json.loads(replay.stdout)
    validate_report(replayed)
    assert replayed["steps"][0]["facts"] == live_report["steps"][0]["facts"]
    assert replayed["machine"]["hostname"] == live_report["machine"]["hostname"]
    assert replay.returncode == live.returncode


def test_record_without_lsblk_falls_back_to_sysfs_and_replays_the_same(tmp_path):
    # With PATH emptied no program is found: the disks come from sysfs, as on a minimal rescue system.
    profile = tmp_path / "recorded"
    env = {"PATH": str(tmp_path / "no-bin")}
    live = subprocess.run([sys.executable, "-m", "ssdwizard", "--record", str(profile), "--headless", "--format", "json"],
                          capture_output=True, text=True, env={**os.environ, **env})
    facts = json.loads(live.stdout)["steps"][0]
    assert any("lsblk is not installed" in f["message"] for f in facts["findings"])
    replay = subprocess.run([sys.executable, "-m", "ssdwizard", "--headless", "--format", "json", "--machine",
                             str(profile)], capture_output=True, text=True)
    assert json.loads(replay.stdout)["steps"][0]["facts"] == facts["facts"]
