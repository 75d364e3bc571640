"""The report in its three formats, and the JSON contract (DESIGN §3.2)."""

from __future__ import annotations

import json

from conftest import FIXTURES
from schema import validate_report
from ssdwizard.report import Machine, Report, render_markdown, render_text, to_dict
from ssdwizard.runner import run_steps
from ssdwizard.steps import STEPS
from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Evidence, Finding, Status, StepResult
from ssdwizard.system import ProfileSystem


def dev_vm_report() -> Report:
    ctx = ProbeContext(ProfileSystem(FIXTURES / "profiles" / "dev-vm-lsblk"))
    return Report(Machine("vm", "6.18", "vm"), tuple(run_steps(STEPS, ctx)))


def test_json_report_follows_schema_1():
    report = to_dict(dev_vm_report())
    validate_report(json.loads(json.dumps(report)))
    assert report["status"] == "warn"


def test_the_checker_catches_a_broken_report():
    broken = to_dict(dev_vm_report())
    broken["steps"][0]["facts"]["disks"][0].pop("firmware")
    try:
        validate_report(broken)
    except AssertionError as exc:
        assert "firmware" in str(exc)
    else:
        raise AssertionError("a disk without firmware passed")


def test_text_report_aligns_columns_and_falls_back_to_ascii():
    result = StepResult("disks", "Disks", Status.WARN, "2 disks", (
        Finding(Status.OK, "sda", "Samsung SSD 860 EVO", "", (Evidence("lsblk", '{"name": "sda"}'),)),
        Finding(Status.WARN, "nvme0n1", "rotational=1", "Set it to 0.", ()),
    ))
    report = Report(Machine("pve1", "6.8", None), (result,))
    fancy = render_text(report, unicode=True)
    plain = render_text(report, unicode=False)
    assert "✔ sda      Samsung SSD 860 EVO" in fancy
    assert "⚠ nvme0n1  rotational=1" in fancy
    assert "→ Set it to 0." in fancy
    assert plain.isascii()
    assert "+ sda      Samsung SSD 860 EVO" in plain and "! nvme0n1  rotational=1" in plain
    assert "-> Set it to 0." in plain
    assert "Overall: ! warn" in plain
    # The overview's columns line up: the summary starts at the same column in every row.
    rows = [line for line in plain.splitlines() if line.startswith(" 1  ")]
    assert rows == [" 1  Disks  ! warn   2 disks"]


def test_markdown_report_has_a_table_and_the_evidence():
    text = render_markdown(dev_vm_report())
    assert "| 1 | Disks | ⚠ warn |" in text
    assert "Evidence from `lsblk --json --bytes --output-all`" in text
    assert text.startswith("# ssdwizard report: vm")
