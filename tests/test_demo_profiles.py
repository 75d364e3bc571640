"""Every bundled demo profile replays into a report that keeps the JSON contract."""

from __future__ import annotations

import json

import pytest

from schema import validate_report
from ssdwizard.cli import main
from ssdwizard.data import DEFAULT_DEMO, demo_profiles

DEMOS = [p.name for p in demo_profiles()]


def test_the_three_demo_machines_are_bundled_default_first():
    assert DEMOS[0] == DEFAULT_DEMO
    assert {"pve-ceph-node", "nvme-workstation", "legacy-ide"} <= set(DEMOS)


@pytest.mark.parametrize("name", DEMOS)
def test_demo_report_validates_and_exit_code_matches_its_status(capsys, name):
    code = main(["--headless", "--report", "--format", "json", "--demo", name])
    report = json.loads(capsys.readouterr().out)
    validate_report(report)
    assert report["machine"]["profile"] == name
    assert code == {"ok": 0, "skip": 0, "warn": 1, "fail": 2, "error": 3}[report["status"]]
    assert all(step["status"] != "error" for step in report["steps"]), [s["summary"] for s in report["steps"]]


@pytest.mark.parametrize("name", DEMOS)
def test_demo_text_and_markdown_reports_render(capsys, name):
    for fmt in ("text", "markdown"):
        main(["--headless", "--format", fmt, "--demo", name])
        out = capsys.readouterr().out
        assert "Disks" in out and "Traceback" not in out


def test_the_legacy_box_fails_on_ahci():
    assert main(["--headless", "--format", "json", "--demo", "legacy-ide", "--steps", "ahci"]) == 2
