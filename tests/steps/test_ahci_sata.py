"""The ahci and sata steps on the demo profiles, on this machine's recording, and with the
kernel log restricted."""

from __future__ import annotations

import shutil

from conftest import FIXTURES
from ssdwizard.data import PROFILES_DIR
from ssdwizard.steps import ahci, sata
from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Status
from ssdwizard.system import ProfileSystem


def probe(step, profile, chosen=None):
    return step.probe(ProbeContext(ProfileSystem(profile), chosen_disks=chosen))


def test_proxmox_node_has_one_ahci_controller_in_sata_mode():
    result = probe(ahci, PROFILES_DIR / "pve-ceph-node")
    assert result.status is Status.OK
    (controller,) = result.facts["controllers"]
    assert controller == {"pci": "0000:00:17.0", "mode": "SATA", "gbps": 6.0, "ports": controller["ports"],
                          "slots": 32, "flags": controller["flags"]}
    assert "ncq" in controller["flags"]
    assert result.facts["driver_loaded"] is True
    assert "AHCI vers 0001.0301" in result.findings[0].evidence[0].excerpt


def test_proxmox_node_links_run_at_full_speed():
    result = probe(sata, PROFILES_DIR / "pve-ceph-node")
    assert result.status is Status.OK
    assert result.facts["disks"] == [
        {"name": name, "controller_gbps": 6.0, "disk_max_gbps": 6.0, "link_gbps": 6.0} for name in ("sda", "sdb", "sdc")
    ]


def test_chosen_hdd_is_judged_too():
    result = probe(sata, PROFILES_DIR / "pve-ceph-node", chosen=("sdd",))
    assert [d["name"] for d in result.facts["disks"]] == ["sdd"]


def test_nvme_only_machine_skips_both_with_the_reason():
    for step, words in ((ahci, "AHCI does not apply"), (sata, "NVMe disks talk PCIe")):
        result = probe(step, PROFILES_DIR / "nvme-workstation")
        assert result.status is Status.SKIP and words in result.summary


def test_legacy_box_in_ide_mode_fails_ahci_and_warns_on_the_slow_link():
    result = probe(ahci, PROFILES_DIR / "legacy-ide")
    assert result.status is Status.FAIL
    assert result.facts["controllers"][0]["mode"] == "IDE"
    assert "Set the SATA mode to AHCI" in result.findings[0].advice
    link = probe(sata, PROFILES_DIR / "legacy-ide")
    assert link.status is Status.WARN
    assert link.facts["disks"] == [{"name": "sda", "controller_gbps": None, "disk_max_gbps": 6.0, "link_gbps": 3.0}]
    assert "3 Gbps, below the disk's 6 Gbps" in link.findings[0].message


def test_restricted_dmesg_falls_back_to_the_driver_in_sysfs(tmp_path):
    profile = tmp_path / "pve"
    shutil.copytree(PROFILES_DIR / "pve-ceph-node", profile, symlinks=True)
    restricted = (FIXTURES / "dmesg" / "local-restricted.stderr.txt").read_text()
    toml = (profile / "profile.toml").read_text()
    start = toml.index('argv = ["dmesg"]')
    end = toml.index("[[command]]", start) if "[[command]]" in toml[start:] else len(toml)
    toml = toml[:start] + f'argv = ["dmesg"]\nstdout_text = ""\nstderr_text = {restricted!r}\nexit = 1\n\n' + toml[end:]
    (profile / "profile.toml").write_text(toml)
    result = probe(ahci, profile)
    assert result.status is Status.OK
    assert result.facts["controllers"][0]["mode"] == "SATA" and result.facts["controllers"][0]["gbps"] is None
    assert any("restricted" in f.message for f in result.findings)
    # The link speed still comes from sysfs.
    assert probe(sata, profile).facts["disks"][0]["link_gbps"] == 6.0


def test_a_link_slower_than_both_ends_names_the_three_numbers(tmp_path):
    profile = tmp_path / "pve"
    shutil.copytree(PROFILES_DIR / "pve-ceph-node", profile, symlinks=True)
    ProfileSystem(profile).host_path("/sys/class/ata_link/link2/sata_spd").write_text("1.5 Gbps\n")
    result = probe(sata, profile)
    sdb = next(f for f in result.findings if f.subject == "sdb")
    assert result.status is Status.WARN and sdb.status is Status.WARN
    assert "controller 6 Gbps, disk 6 Gbps, link 1.5 Gbps" in sdb.message


def test_this_machines_virtio_disk_is_not_applicable():
    for step in (ahci, sata):
        assert probe(step, FIXTURES / "profiles" / "dev-vm-lsblk").status is Status.SKIP
