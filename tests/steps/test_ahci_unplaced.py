"""The ahci step with a SATA disk whose controller cannot be told from sysfs (issue 13).

Such a disk is not a controller: it used to make a nameless one ("2 SATA controllers: mode
unknown" on a machine whose kernel log names one). The kernel log is tests/fixtures/dmesg/
dmesg-12.txt (source in its SOURCES.md): one AHCI controller, 0000:00:11.0 in SATA mode, with
an ADATA SU800 on ata1. The sysfs trees are assembled in the kernel's layout: sda hangs on
0000:00:11.0; sdb's /sys/block entry is no link (a recording that lacks it), sdc's leads through
a hypervisor's virtual bus with no PCI device on the way.
"""

from __future__ import annotations

from conftest import FIXTURES
from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Status
from ssdwizard.steps import ahci
from ssdwizard.system import ProfileSystem

DMESG_ONE_AHCI = (FIXTURES / "dmesg" / "dmesg-12.txt").read_text()
RESTRICTED = (FIXTURES / "dmesg" / "local-restricted.stderr.txt").read_text()
PCI = "0000:00:11.0"
SDA = f"/sys/devices/pci0000:00/{PCI}/ata1/host0/target0:0:0/0:0:0:0/block/sda"
SDC = ("/sys/devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0004:00/VMBUS:00/f8b3781b-1e82-4818-a1c3-63d806ec15bb"
       "/host2/target2:0:0/2:0:0:0/block/sdc")


def _disk_files(block: str) -> dict[str, str]:
    return {f"{block}/size": "250069680\n", f"{block}/queue/rotational": "0\n"}


def _profile(make_profile, *disks: str, dmesg: str = DMESG_ONE_AHCI, dmesg_exit: int = 0):
    """No lsblk (not installed): the disks come from /sys/block, as the step's inventory reads them."""
    files: dict[str, str] = {}
    links: dict[str, str] = {}
    if "sda" in disks:
        files.update(_disk_files(SDA))
        links["/sys/block/sda"] = "../devices/pci0000:00/0000:00:11.0/ata1/host0/target0:0:0/0:0:0:0/block/sda"
        links[f"/sys/devices/pci0000:00/{PCI}/driver"] = "../../../bus/pci/drivers/ahci"
    if "sdb" in disks:
        files.update(_disk_files("/sys/block/sdb"))
    if "sdc" in disks:
        files.update(_disk_files(SDC))
        links["/sys/block/sdc"] = ".." + SDC.removeprefix("/sys")
    dmesg_command = ({"argv": ["dmesg"], "stdout": dmesg} if dmesg_exit == 0
                     else {"argv": ["dmesg"], "stderr": dmesg, "exit": dmesg_exit})
    return make_profile(commands=[dmesg_command], files=files, links=links)


def probe(profile):
    return ahci.probe(ProbeContext(ProfileSystem(profile)))


def test_a_disk_without_a_pci_path_is_not_a_second_controller(make_profile):
    result = probe(_profile(make_profile, "sda", "sdb"))
    assert result.summary == "1 SATA controller: SATA mode; the controller of sdb could not be told"
    assert [c["pci"] for c in result.facts["controllers"]] == [PCI]
    assert result.status is Status.OK
    controller, sdb = result.findings
    assert (controller.status, controller.subject) == (Status.OK, PCI)
    assert "(disks: sda)" in controller.message and "sdb" not in controller.message
    assert (sdb.status, sdb.subject) == (Status.SKIP, "sdb")
    assert sdb.message.startswith("sdb: its controller could not be told (no device link in sysfs)")
    assert sdb.evidence[0].source == "/sys/block/sdb"


def test_the_only_disk_unplaced_leaves_the_controller_dmesg_names(make_profile):
    result = probe(_profile(make_profile, "sdc"))
    assert result.summary == "1 SATA controller: SATA mode; the controller of sdc could not be told"
    assert result.facts["controllers"] == [{"pci": PCI, "mode": "SATA", "gbps": 6.0, "ports": 8, "slots": 32,
                                            "flags": result.facts["controllers"][0]["flags"]}]
    assert result.status is Status.OK
    controller, sdc = result.findings
    assert controller.subject == PCI and "runs in AHCI mode" in controller.message
    assert (sdc.status, sdc.subject) == (Status.SKIP, "sdc")
    assert "its controller could not be told (no PCI path in sysfs)" in sdc.message and PCI in sdc.message
    assert "VMBUS:00" in sdc.evidence[0].excerpt
    assert not any(f.subject == "controller" for f in result.findings)


def test_every_disk_on_its_controller_reads_as_before(make_profile):
    result = probe(_profile(make_profile, "sda"))
    assert result.summary == "1 SATA controller: SATA mode"
    assert result.status is Status.OK
    (controller,) = result.findings
    assert controller.subject == PCI and controller.message.endswith("(disks: sda).")
    assert [c["pci"] for c in result.facts["controllers"]] == [PCI]
    assert result.facts["driver_loaded"] is True


def test_no_disk_placed_and_no_controller_known_skips_without_inventing_one(make_profile):
    result = probe(_profile(make_profile, "sdb", "sdc", dmesg=RESTRICTED, dmesg_exit=1))
    assert result.status is Status.SKIP
    assert result.summary == "No SATA controller could be told (no PCI path in sysfs for sdb, sdc)"
    assert result.facts["controllers"] == []
    assert [(f.status, f.subject) for f in result.findings[:2]] == [(Status.SKIP, "sdb"), (Status.SKIP, "sdc")]
    assert all(f.status is not Status.FAIL and f.status is not Status.WARN for f in result.findings)
