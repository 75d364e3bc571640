"""The health step on the demo profiles and on real smartctl captures put in a demo's place."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from conftest import FIXTURES
from ssdwizard.data import PROFILES_DIR
from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Status
from ssdwizard.steps import health
from ssdwizard.system import ProfileSystem

SMARTCTL = FIXTURES / "smartctl"


class CountingSystem(ProfileSystem):
    def __init__(self, profile):
        super().__init__(profile)
        self.runs: Counter = Counter()

    def run(self, argv, timeout=None):
        self.runs[tuple(argv)] += 1
        return super().run(argv, timeout)


def probe(profile: Path):
    system = CountingSystem(profile)
    return health.probe(ProbeContext(system)), system


def pve_with_sda(tmp_path: Path, document: dict | str) -> Path:
    """The pve demo with sda's smartctl reply replaced (a real capture, or one changed as said)."""
    profile = tmp_path / "pve"
    shutil.copytree(PROFILES_DIR / "pve-ceph-node", profile, symlinks=True)
    text = document if isinstance(document, str) else json.dumps(document)
    (profile / "commands" / "smartctl-x-sda.json").write_text(text)
    return profile


def findings_of(result, subject: str):
    return [f for f in result.findings if f.subject == subject]


def facts_of(result, name: str) -> dict:
    return next(d for d in result.facts["disks"] if d["name"] == name)


def test_pve_demo_reads_the_awake_disk_and_leaves_the_sleeping_one_asleep():
    result, system = probe(PROFILES_DIR / "pve-ceph-node")
    assert result.status is Status.OK
    (sda,) = findings_of(result, "sda")
    assert sda.message.startswith("Healthy: SMART passed, 19 % of the rated life used, 33.2 TB written "
                                  "(11 % of the rated 300.0 TB)")
    assert facts_of(result, "sda")["rated_endurance_bytes"] == 300 * 10**12
    (sdd,) = findings_of(result, "sdd")
    assert sdd.message.startswith("Asleep (STANDBY)")
    assert facts_of(result, "sdd")["power_mode"] == "STANDBY" and facts_of(result, "sdd")["smart_passed"] is None
    # hdparm's IDENTIFY could spin it up: never sent to the sleeping disk, sent to the others
    assert system.runs[("hdparm", "-I", "/dev/sdd")] == 0
    assert system.runs[("hdparm", "-I", "/dev/sda")] == 1
    assert result.facts["smartd"] == "enabled"
    assert "asleep: sdd" in result.summary


def test_reallocated_sectors_warn(tmp_path):
    result, _ = probe(pve_with_sda(tmp_path, (SMARTCTL / "ST3500418AS_12-realloc304.json").read_text()))
    messages = [f.message for f in findings_of(result, "sda")]
    assert any(m.startswith("304 reallocated sectors") for m in messages), messages
    assert result.status is Status.WARN
    assert facts_of(result, "sda")["reallocated_sectors"] == 304
    assert not any(m.startswith("Healthy") for m in messages)


def test_vendor_wear_attribute_warns_at_85_percent(tmp_path):
    result, _ = probe(pve_with_sda(tmp_path, (SMARTCTL / "smartctl-16.txt").read_text()))
    (wear,) = [f for f in findings_of(result, "sda") if "rated endurance" in f.message]
    assert wear.status is Status.WARN and wear.message == "85 % of the rated endurance used."
    assert "233 Media_Wearout_Indicator value 15" in wear.evidence[0].excerpt
    assert facts_of(result, "sda")["percentage_used"] == 85


def changed(name: str, *edits: tuple[tuple[str, ...], object]) -> dict:
    """A real capture with the named fields changed, for states no public capture shows."""
    data = json.loads((SMARTCTL / name).read_text())
    for path, value in edits:
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return data


def test_failed_overall_health_fails(tmp_path):
    data = changed("samsung-860evo-500gb-sat-x.json", (("smart_status", "passed"), False))
    result, _ = probe(pve_with_sda(tmp_path, data))
    assert result.status is Status.FAIL
    assert any(f.status is Status.FAIL and "FAILED" in f.message for f in findings_of(result, "sda"))


def test_cable_crc_errors_are_blamed_on_the_cable(tmp_path):
    data = json.loads((SMARTCTL / "samsung-860evo-500gb-sat-x.json").read_text())
    for page in data["ata_device_statistics"]["pages"]:
        for row in page.get("table", []):
            if row["name"] == "Number of Interface CRC Errors":
                row["value"] = 12
    result, _ = probe(pve_with_sda(tmp_path, data))
    (crc,) = [f for f in findings_of(result, "sda") if "CRC" in f.message]
    assert crc.status is Status.WARN and "cable" in crc.message and crc.message.startswith("12 interface CRC errors")


def test_hot_disk_warns_against_its_own_limit(tmp_path):
    data = changed("samsung-860evo-500gb-sat-x.json", (("temperature", "current"), 71))
    result, _ = probe(pve_with_sda(tmp_path, data))
    (hot,) = [f for f in findings_of(result, "sda") if "°C" in f.message and f.status is Status.WARN]
    assert "the disk's own limit (70 °C)" in hot.message


def nvme_workstation(tmp_path: Path, data: dict) -> Path:
    profile = tmp_path / "nvme"
    shutil.copytree(PROFILES_DIR / "nvme-workstation", profile, symlinks=True)
    (profile / "commands" / "smartctl-nvme1n1.json").write_text(json.dumps(data))
    return profile


def test_nvme_critical_warning_and_spare_fail(tmp_path):
    data = changed("intel-660p-ssdpeknw010t8-nvme-a.json",
                   (("nvme_smart_health_information_log", "critical_warning"), 1),
                   (("nvme_smart_health_information_log", "available_spare"), 5),
                   (("nvme_smart_health_information_log", "percentage_used"), 103),
                   (("nvme_smart_health_information_log", "media_errors"), 7))
    data["smartctl"]["argv"] = ["smartctl", "--json", "-x", "-n", "standby", "/dev/nvme1n1"]
    result, _ = probe(nvme_workstation(tmp_path, data))
    found = {f.message: f.status for f in findings_of(result, "nvme1n1")}
    assert found["NVMe critical warning: available spare has fallen below the threshold."] is Status.FAIL
    # the spare finding is the critical warning's bit 0: said once
    assert not any(m.startswith("Available spare") for m in found)
    assert any(m.startswith("103 % of the rated endurance used") and s is Status.WARN for m, s in found.items())
    assert any(m.startswith("7 NVMe media errors") for m in found)
    assert result.status is Status.FAIL


def test_nvme_workstation_smartd_found_under_its_other_name_and_disabled():
    result, system = probe(PROFILES_DIR / "nvme-workstation")
    assert system.runs[("systemctl", "is-enabled", "smartmontools.service")] == 1
    assert system.runs[("systemctl", "is-enabled", "smartd.service")] == 1
    assert result.facts["smartd"] == "disabled"
    (smartd,) = findings_of(result, "smartd")
    assert smartd.status is Status.WARN and "systemctl enable --now smartmontools" in smartd.advice


def test_debian_smartd_alias_is_not_taken_for_the_unit():
    """On Debian smartd.service is an alias ('alias', exit 0): the real unit is asked first."""
    result, system = probe(PROFILES_DIR / "pve-ceph-node")
    assert system.runs[("systemctl", "is-enabled", "smartd.service")] == 0


@pytest.mark.parametrize("demo", ["legacy-ide", "vm-virtio"])
def test_no_smart_data_skips_and_asks_nothing_of_systemd(demo):
    result, system = probe(PROFILES_DIR / demo)
    assert result.status is Status.SKIP
    assert result.facts["smartd"] is None
    assert not any(argv[:2] == ("systemctl", "is-enabled") and "smart" in argv[2] for argv in system.runs)


def test_a_profile_recorded_with_the_old_smartctl_argv_is_still_read(tmp_path):
    profile = tmp_path / "old"
    shutil.copytree(PROFILES_DIR / "pve-ceph-node", profile, symlinks=True)
    toml = profile / "profile.toml"
    toml.write_text(toml.read_text().replace('argv = ["smartctl", "--json", "-x", "-n", "standby", "/dev/sda"]',
                                             'argv = ["smartctl", "--json", "-x", "/dev/sda"]'))
    result, system = probe(profile)
    assert system.runs[("smartctl", "--json", "-x", "/dev/sda")] == 1
    assert facts_of(result, "sda")["percentage_used"] == 19
