"""The disks step on the demo profiles, this machine's recordings, and adapted real inputs."""

from __future__ import annotations

import json
import shutil

from conftest import FIXTURES
from ssdwizard.data import PROFILES_DIR
from ssdwizard.steps import disks
from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Status
from ssdwizard.machine.inventory import focus_disks
from ssdwizard.system import ProfileSystem


def run(profile, chosen=None):
    ctx = ProbeContext(ProfileSystem(profile), chosen_disks=chosen)
    return disks.probe(ctx), ctx


def by_name(result):
    return {d["name"]: d for d in result.facts["disks"]}


def test_proxmox_node_inventory():
    result, ctx = run(PROFILES_DIR / "pve-ceph-node")
    facts = by_name(result)
    assert list(facts) == ["sda", "sdb", "sdc", "sdd"]
    sda = facts["sda"]
    # The full ATA firmware, not lsblk's four-character SCSI revision ("2B6Q").
    assert (sda["model"], sda["firmware"], sda["transport"]) == ("Samsung SSD 860 EVO 500GB", "RVT02B6Q", "sata")
    assert (sda["ssd"], sda["rotational"], sda["trim_supported"]) == (True, False, True)
    assert (sda["sata_max_gbps"], sda["sata_link_gbps"], sda["size_bytes"]) == (6.0, 6.0, 500107862016)
    assert sda["quirks"] == ["noncqtrim", "zeroaftertrim", "noncqonati", "nolpmonati"]
    assert sda["scheduler"] == "mq-deadline" and "none" in sda["schedulers"]
    assert (facts["sdd"]["ssd"], facts["sdd"]["trim_supported"]) == (False, False)
    assert [d.name for d in focus_disks(ctx)] == ["sda", "sdb", "sdc"]
    assert result.status is Status.OK and "3 SSD, 1 HDD" in result.summary


def test_nvme_workstation_reads_firmware_from_nvme_cli_and_smartctl():
    result, _ = run(PROFILES_DIR / "nvme-workstation")
    facts = by_name(result)
    assert facts["nvme0n1"]["firmware"] == "11170101" and facts["nvme1n1"]["firmware"] == "002C"
    assert all(d["transport"] == "nvme" and d["ssd"] and d["trim_supported"] for d in facts.values())
    assert all(d["sata_max_gbps"] is None and d["quirks"] is None for d in facts.values())


def test_legacy_box_has_a_sata_iii_ssd_on_a_3_gbps_link():
    result, _ = run(PROFILES_DIR / "legacy-ide")
    sda = by_name(result)["sda"]
    assert (sda["sata_max_gbps"], sda["sata_link_gbps"]) == (6.0, 3.0)


def test_chosen_disks_become_the_focus():
    result, ctx = run(PROFILES_DIR / "pve-ceph-node", chosen=("sdd", "sdb"))
    assert [d.name for d in focus_disks(ctx)] == ["sdb", "sdd"]
    # The same words whether --disk or the wizard's disk choice chose them (a probe cannot tell).
    [focus] = [f for f in result.findings if f.subject == "focus"]
    assert focus.message == "The later steps focus on sdb, sdd (your choice)."
    assert "--disk NAME[,NAME]" in focus.advice and "disk choice" in focus.advice


def test_virtio_disk_with_rotational_1_is_flagged():
    result, ctx = run(FIXTURES / "profiles" / "dev-vm-lsblk")
    assert result.status is Status.WARN
    flagged = [f for f in result.findings if f.status is Status.WARN]
    assert len(flagged) == 1 and "rotational=1 on a virtual (virtio) disk" in flagged[0].message
    assert by_name(result)["vda"]["ssd"] is None
    assert [d.name for d in focus_disks(ctx)] == ["vda"]


def test_sysfs_fallback_gives_the_same_inventory_as_lsblk(tmp_path):
    profile = tmp_path / "pve"
    shutil.copytree(PROFILES_DIR / "pve-ceph-node", profile, symlinks=True)
    toml = (profile / "profile.toml").read_text().replace('argv = ["lsblk", "--json", "--bytes", "--output-all"]',
                                                           'argv = ["lsblk-not-here"]')
    # sdd sleeps in the demo, so only lsblk names its full model; woken, hdparm does too.
    toml = toml.replace('"-n", "standby", "/dev/sdd"]', '"-n", "standby", "/dev/sdd-awake"]')
    (profile / "profile.toml").write_text(toml)
    fallback, _ = run(profile)
    original, _ = run(PROFILES_DIR / "pve-ceph-node")
    keys = ("name", "size_bytes", "rotational", "ssd", "transport", "trim_supported", "scheduler", "firmware", "model")
    assert [{k: d[k] for k in keys} for d in fallback.facts["disks"]] == \
           [{k: d[k] for k in keys} for d in original.facts["disks"]]
    assert any("lsblk is not installed" in f.message for f in fallback.findings)


def usb_bridge_profile(make_profile):
    """This machine's real lsblk entry for its disk, adapted into a USB-attached SSD whose
    bridge reports rotational=1 (the JMicron JMS578 case of the corpus lsblk-04 sample)."""
    lsblk = json.loads((FIXTURES / "lsblk" / "vm-virtio-zram-output-all.json").read_text())
    entry = next(d for d in lsblk["blockdevices"] if d["name"] == "vda")
    entry.update(name="sdb", kname="sdb", path="/dev/sdb", model="Samsung SSD 870 EVO 1TB", tran="usb",
                 subsystems="block:scsi:usb:pci", rota=True, rev="2B6Q")
    return make_profile(commands=[{"argv": ["lsblk", "--json", "--bytes", "--output-all"],
                                   "stdout": json.dumps({"blockdevices": [entry]})}])


def test_usb_bridge_reporting_a_flash_disk_as_rotating_is_flagged(make_profile):
    result, ctx = run(usb_bridge_profile(make_profile))
    warning = next(f for f in result.findings if f.status is Status.WARN)
    assert "USB-SATA bridges often report every disk as rotating" in warning.message
    assert by_name(result)["sdb"]["ssd"] is True
    assert [d.name for d in focus_disks(ctx)] == ["sdb"]


def test_known_firmware_bug_is_a_warning(make_profile):
    lsblk = json.loads((FIXTURES / "lsblk" / "vm-virtio-zram-output-all.json").read_text())
    entry = next(d for d in lsblk["blockdevices"] if d["name"] == "vda")
    entry.update(name="sda", kname="sda", path="/dev/sda", model="M4-CT128M4SSD2", rev="0009", tran="sata",
                 subsystems="block:scsi:pci", rota=False)
    profile = make_profile(commands=[{"argv": ["lsblk", "--json", "--bytes", "--output-all"],
                                      "stdout": json.dumps({"blockdevices": [entry]})}])
    result, _ = run(profile)
    assert result.status is Status.WARN
    assert any("5184 hours" in w for w in by_name(result)["sda"]["firmware_warnings"])


def test_a_machine_without_disks_is_a_skip(make_profile):
    result, _ = run(make_profile())
    assert result.status is Status.SKIP and result.facts == {"disks": []}
