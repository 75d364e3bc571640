"""Step 5 on real captures: loop devices formatted here (ext4, ext3, swap, xfs, btrfs), the
moby Fedora mountinfo (SSD with LVM), and the bundled demo profiles."""

from __future__ import annotations

import pytest
from step_profiles import LOOP, context, loop_profile

from conftest import FIXTURES
from ssdwizard.data import PROFILES_DIR
from ssdwizard.steps import filesystem
from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Status
from ssdwizard.machine.placement import probe_placement
from ssdwizard.system import ProfileSystem


def by_target(result):
    return {m["target"]: m for m in result.facts["mounts"]}


def test_loop_capture_every_mount_with_its_type_disk_and_verdict(make_profile):
    result = filesystem.probe(context(loop_profile(make_profile)))
    mounts = by_target(result)
    assert set(mounts) == {"/mnt/ssdw/data", "/mnt/ssdw/old", "/mnt/ssdw/xfs", "/mnt/ssdw/btrfs",
                           "/mnt/ssdw/btrfs-data", "[SWAP]"}
    assert mounts["/mnt/ssdw/data"] == {"target": "/mnt/ssdw/data", "source": "/dev/sdb1", "fstype": "ext4",
                                        "disk": "sdb", "flash_friendly": True}
    assert mounts["/mnt/ssdw/old"]["flash_friendly"] is False
    # btrfs has an anonymous device number (0:39) in mountinfo: the source path ties it to sdc.
    assert mounts["/mnt/ssdw/btrfs-data"]["disk"] == "sdc"
    assert mounts["[SWAP]"]["source"] == "/dev/sdb3"
    assert {m["target"] for m in result.facts["mounts"] if m["disk"] == "vda"} == set()  # the host's root is not in focus


def test_ext3_is_a_warning_with_migration_advice(make_profile):
    result = filesystem.probe(context(loop_profile(make_profile)))
    assert result.status is Status.WARN
    ext3 = [f for f in result.findings if f.subject == "/mnt/ssdw/old"]
    assert len(ext3) == 1 and ext3[0].status is Status.WARN
    assert "migrate to ext4" in ext3[0].advice
    assert "no extents" in ext3[0].message  # the why, not only the what
    assert ext3[0].evidence[0].source == "/proc/self/mountinfo:22"
    assert "ext3 /dev/sdb2" in ext3[0].evidence[0].excerpt
    assert "/mnt/ssdw/old (ext3)" in result.summary


def test_btrfs_subvolume_mounts_are_one_filesystem(make_profile):
    result = filesystem.probe(context(loop_profile(make_profile)))
    btrfs = [f for f in result.findings if "btrfs on /dev/sdc" in f.message]
    assert len(btrfs) == 1
    assert "also mounted at /mnt/ssdw/btrfs-data" in btrfs[0].message
    assert btrfs[0].status is Status.OK


def test_swap_is_mentioned_not_judged(make_profile):
    result = filesystem.probe(context(loop_profile(make_profile)))
    swap = [f for f in result.findings if f.subject == "swap"]
    assert len(swap) == 1 and swap[0].status is Status.OK
    assert "not a filesystem" in swap[0].message and "/dev/sdb3" in swap[0].message


def test_only_the_chosen_disk(make_profile):
    result = filesystem.probe(context(loop_profile(make_profile), disks=("sdc",)))
    assert {m["disk"] for m in result.facts["mounts"]} == {"sdc"}
    assert result.status is Status.OK


def test_without_lsblk_sysfs_dev_numbers_and_source_paths_find_the_mounts(make_profile):
    # The real major:minor numbers of the capture (loop-ssd/capture/devs.txt, lsblk maj:min).
    sysfs = {"/sys/block/sdb/dev": "7:0\n", "/sys/block/sdb/sdb1/dev": "259:0\n", "/sys/block/sdb/sdb2/dev": "259:1\n",
             "/sys/block/sdb/sdb3/dev": "259:2\n", "/sys/block/sdb/sdb4/dev": "259:3\n", "/sys/block/sdc/dev": "7:1\n",
             "/sys/block/sdb/queue/rotational": "0\n", "/sys/block/sdc/queue/rotational": "0\n",
             "/sys/block/sdb/size": "1048576\n", "/sys/block/sdc/size": "524288\n"}
    result = filesystem.probe(context(loop_profile(make_profile, lsblk=None, extra_files=sysfs)))
    mounts = by_target(result)
    assert mounts["/mnt/ssdw/old"]["fstype"] == "ext3" and mounts["/mnt/ssdw/old"]["disk"] == "sdb"
    assert mounts["/mnt/ssdw/btrfs"]["disk"] == "sdc"
    assert mounts["[SWAP]"]["source"] == "/dev/sdb3"  # from /proc/swaps


def test_lvm_on_a_partition_via_sysfs_holders(make_profile):
    """moby's fedoraMountinfo: Fedora on an SSD with LVM (ssd-root--f20 as 253:1, ssd-virt with discard)."""
    text = (FIXTURES / "mountinfo" / "moby-fedora-mountinfo.txt").read_text()
    root = next(line for line in text.splitlines() if " / / " in line)
    major_minor = root.split()[2]
    sysfs = {"/sys/block/sda/dev": "8:0\n", "/sys/block/sda/sda2/dev": "8:2\n", "/sys/block/sda/queue/rotational": "0\n",
             "/sys/block/sda/size": "100\n", f"/sys/block/dm-{major_minor.split(':')[1]}/dev": major_minor + "\n",
             f"/sys/block/dm-{major_minor.split(':')[1]}/dm/name": "ssd-root--f20\n"}
    links = {f"/sys/block/sda/sda2/holders/dm-{major_minor.split(':')[1]}": "../../dm-x"}
    profile = make_profile(commands=[], files={"/proc/self/mountinfo": text, **sysfs}, links=links)
    result = filesystem.probe(ProbeContext(ProfileSystem(profile), chosen_disks=("sda",)))
    mounts = by_target(result)
    assert mounts["/"]["source"] == "/dev/mapper/ssd-root--f20"
    assert mounts["/"]["disk"] == "sda"


def test_no_focus_disk_is_a_skip(make_profile):
    result = filesystem.probe(context(loop_profile(make_profile), disks=()))
    assert result.status is Status.SKIP and "No SSD in focus" in result.summary


def test_nothing_mounted_is_a_skip_with_the_reason(make_profile):
    # This machine's own mountinfo, taken when none of the loop filesystems was mounted.
    mountinfo = (FIXTURES / "mountinfo" / "mountinfo-this-machine.txt").read_text()
    result = filesystem.probe(context(loop_profile(make_profile, mountinfo=mountinfo)))
    assert result.status is Status.SKIP
    assert "nothing on them is mounted" in result.summary and "sdb, sdc" in result.summary
    assert result.facts["mounts"] == [{"target": "[SWAP]", "source": "/dev/sdb3", "fstype": "swap", "disk": "sdb",
                                       "flash_friendly": None}]


def test_unreadable_mountinfo_falls_back_to_lsblk_mountpoints(make_profile):
    result = filesystem.probe(context(loop_profile(make_profile, extra_files={"/proc/self/mountinfo": False})))
    assert "/mnt/ssdw/old" in by_target(result)
    assert any(f.subject == "/proc/self/mountinfo" and f.status is Status.WARN for f in result.findings)


def test_unknown_type_says_so(make_profile):
    mountinfo = (LOOP / "mountinfo.txt").read_text().replace(" - xfs /dev/sdb4", " - nilfs2 /dev/sdb4")
    result = filesystem.probe(context(loop_profile(make_profile, mountinfo=mountinfo)))
    unknown = next(f for f in result.findings if f.subject == "/mnt/ssdw/xfs")
    assert unknown.status is Status.WARN and "no verdict" in unknown.message
    assert by_target(result)["/mnt/ssdw/xfs"]["flash_friendly"] is None


def test_placement_dedupes_a_thin_pool_listed_under_two_parents():
    ctx = ProbeContext(ProfileSystem(PROFILES_DIR / "pve-ceph-node"))
    names = [d.name for d in probe_placement(ctx).devices]
    assert names.count("pve-data-tpool") == 1


@pytest.mark.parametrize("name, targets, status", [
    ("pve-ceph-node", {"/", "/boot/efi", "[SWAP]"}, Status.OK),
    ("nvme-workstation", {"/", "/boot", "/home", "/run/media/luca_s/Data-2TB", "[SWAP]"}, Status.OK),
    ("legacy-ide", {"/", "[SWAP]"}, Status.OK),
])
def test_demo_profiles(name, targets, status):
    result = filesystem.probe(ProbeContext(ProfileSystem(PROFILES_DIR / name)))
    assert set(by_target(result)) == targets
    assert result.status is status
    assert all(m["flash_friendly"] for m in result.facts["mounts"] if m["fstype"] != "swap")


def test_pve_ceph_node_names_the_bluestore_osds_and_leaves_out_the_hdd():
    result = filesystem.probe(ProbeContext(ProfileSystem(PROFILES_DIR / "pve-ceph-node")))
    assert "/mnt/backup" not in by_target(result)  # on sdd, the HDD
    osd = [f for f in result.findings if "BlueStore" in f.message]
    assert {f.subject for f in osd} == {"sdb", "sdc"}
    assert by_target(result)["/"]["source"] == "/dev/mapper/pve-root"
