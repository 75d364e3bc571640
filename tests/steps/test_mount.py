"""Step 6 on real captures: the loop-device filesystems (fstab written for them, live mountinfo
captured), the fstab corpus, and the bundled demo profiles."""

from __future__ import annotations

import pytest
from step_profiles import LOOP, context, loop_profile

from conftest import FIXTURES
from ssdwizard.data import PROFILES_DIR
from ssdwizard.steps import mount
from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Status
from ssdwizard.system import ProfileSystem


def about(result, subject_part: str, text: str):
    return [f for f in result.findings if subject_part in f.subject and text in f.message]


def test_facts_list_the_fstab_lines_and_live_options(make_profile):
    result = mount.probe(context(loop_profile(make_profile)))
    specs = [e["spec"] for e in result.facts["fstab"]]
    # UUID=, LABEL=, a /dev path, PARTUUID= and a second LABEL= all resolve through lsblk's columns.
    assert specs == ["UUID=eacd632d-0994-4fdd-bcf9-aecaa2cdbe90", "LABEL=oldroot", "/dev/sdb3",
                     "PARTUUID=ccbe7d07-4ba3-c54d-bb01-27673659d443", "UUID=ef8338ef-a4c3-41e6-aaf6-329985976a49",
                     "LABEL=ssdbtrfs"]
    assert result.facts["fstab"][0] == {"line": 3, "spec": "UUID=eacd632d-0994-4fdd-bcf9-aecaa2cdbe90",
                                        "file": "/mnt/ssdw/data", "vfstype": "ext4",
                                        "options": ["noatime", "discard", "commit=600"], "dump": 0, "pass": 2,
                                        "disk": "sdb", "focus": True}
    assert all(e["focus"] for e in result.facts["fstab"])  # sdb and sdc are both in focus
    live = {m["target"]: m["options"] for m in result.facts["mounts"]}
    assert live["/mnt/ssdw/data"] == ["rw", "relatime", "discard", "commit=600"]
    assert "/" not in live  # the host's root on vda is not a focus disk


def test_commit_600_warns_about_ten_minutes(make_profile):
    result = mount.probe(context(loop_profile(make_profile)))
    [commit] = about(result, "/mnt/ssdw/data", "commit=600")
    assert commit.status is Status.WARN
    assert "up to 10 minutes of changes can be lost on power loss" in commit.message
    assert [e.source for e in commit.evidence] == ["/etc/fstab:3", "/proc/self/mountinfo:21"]
    assert "commit=600" in commit.evidence[1].excerpt


def test_changed_in_fstab_but_not_remounted(make_profile):
    result = mount.probe(context(loop_profile(make_profile)))
    [diff] = about(result, "/mnt/ssdw/data", "asks for access time 'noatime', the live mount has 'relatime'")
    assert diff.status is Status.WARN and "mount -o remount /mnt/ssdw/data" in diff.advice
    # Where fstab and the live mount agree, nothing is reported.
    assert not about(result, "/mnt/ssdw/xfs", "asks for")


def test_discard_on_ext4_and_xfs_prefers_the_timer_and_says_its_state(make_profile):
    result = mount.probe(context(loop_profile(make_profile, timer_state="disabled")))
    discards = about(result, "", "Continuous 'discard'")
    assert {f.subject for f in discards} == {"/mnt/ssdw/data", "/mnt/ssdw/xfs"}
    assert all(f.status is Status.WARN for f in discards)
    assert all("fstrim.timer is disabled: enable it first" in f.advice for f in discards)
    enabled = mount.probe(context(loop_profile(make_profile, timer_state="enabled")))
    assert all("fstrim.timer is enabled, so removing 'discard' loses nothing" in f.advice
               for f in about(enabled, "", "Continuous 'discard'"))


def test_btrfs_plain_discard_is_flagged_once_per_filesystem(make_profile):
    result = mount.probe(context(loop_profile(make_profile)))
    [btrfs] = about(result, "/mnt/ssdw/btrfs", "discard=sync")
    assert btrfs.status is Status.WARN and btrfs.subject == "/mnt/ssdw/btrfs, /mnt/ssdw/btrfs-data"
    assert "6.2" in btrfs.message


def test_btrfs_async_discard_is_fine(make_profile):
    mountinfo = (LOOP / "mountinfo.txt").read_text().replace("btrfs /dev/sdc rw,discard,", "btrfs /dev/sdc rw,discard=async,")
    fstab = (LOOP / "fstab").read_text().replace("btrfs  discard   ", "btrfs  defaults  ")
    result = mount.probe(context(loop_profile(make_profile, mountinfo=mountinfo, fstab=fstab)))
    assert not about(result, "/mnt/ssdw/btrfs", "discard=sync")
    [ok] = about(result, "/mnt/ssdw/btrfs", "asynchronously")
    assert ok.status is Status.OK


def test_noatime_is_recommended_where_missing(make_profile):
    result = mount.probe(context(loop_profile(make_profile)))
    [old] = about(result, "/mnt/ssdw/old", "relatime")
    assert "noatime" in old.advice and old.status is Status.OK
    [xfs] = about(result, "/mnt/ssdw/xfs", "noatime")
    assert xfs.message == "/mnt/ssdw/xfs is mounted noatime."
    assert "noatime recommended on 3" in result.summary


def test_strictatime_is_a_warning(make_profile):
    mountinfo = (LOOP / "mountinfo.txt").read_text().replace("/mnt/ssdw/old rw,relatime", "/mnt/ssdw/old rw")
    result = mount.probe(context(loop_profile(make_profile, mountinfo=mountinfo)))
    [strict] = about(result, "/mnt/ssdw/old", "mounted with strictatime")
    assert strict.status is Status.WARN


def test_nothing_trims_when_no_discard_and_timer_disabled(make_profile):
    result = mount.probe(context(loop_profile(make_profile, timer_state="disabled")))
    [none] = [f for f in result.findings if f.subject == "fstrim.timer"]
    assert none.status is Status.WARN and "/mnt/ssdw/old" in none.message
    assert "/mnt/ssdw/data" not in none.message  # it has discard


def test_no_systemd_advises_cron(make_profile):
    result = mount.probe(context(loop_profile(make_profile, timer_state="no-systemd")))
    assert all("cron" in f.advice for f in about(result, "", "Continuous 'discard'"))


def test_specs_fall_back_to_the_mount_point_when_lsblk_has_no_uuids(make_profile):
    # The raw capture: no udev in the container, so lsblk printed null UUIDs and labels.
    result = mount.probe(context(loop_profile(make_profile, lsblk="lsblk-no-udev.json")))
    files = [e["file"] for e in result.facts["fstab"]]
    assert files == ["/mnt/ssdw/data", "/mnt/ssdw/old", "none", "/mnt/ssdw/xfs", "/mnt/ssdw/btrfs",
                     "/mnt/ssdw/btrfs-data"]  # /dev/sdb3 still resolves by path


def test_no_fstab_is_a_reasoned_warning(make_profile):
    result = mount.probe(context(loop_profile(make_profile, extra_files={"/etc/fstab": False})))
    [missing] = [f for f in result.findings if f.subject == "/etc/fstab"]
    assert missing.status is Status.WARN and "systemd .mount units" in missing.message
    assert result.facts["fstab"] == []
    assert about(result, "/mnt/ssdw/data", "commit=600")  # the live options are still judged


def test_broken_fstab_lines_are_findings_not_a_crash(make_profile):
    # A truncated paste (two fields) and a dump column that is not a number: mount(8) rejects both.
    broken = (LOOP / "fstab").read_text() + "/dev/sdb9 /mnt/ssdw/broken\nLABEL=ssddata /mnt/x ext4 defaults zero 2\n"
    result = mount.probe(context(loop_profile(make_profile, fstab=broken)))
    bad = [f for f in result.findings if f.subject.startswith("/etc/fstab:")]
    assert [f.subject for f in bad] == ["/etc/fstab:9", "/etc/fstab:10"]
    assert all(f.status is Status.WARN and "findmnt --verify" in f.advice for f in bad)
    assert "2 fields" in bad[0].message and "'zero' is not a number" in bad[1].message
    assert len(result.facts["fstab"]) == 6  # the good lines still count


def test_foreign_and_binary_fstabs_do_not_crash(make_profile):
    # Corpus fstab-10 belongs to another machine: none of its lines names a focus filesystem
    # (or any disk here), so every line is listed, on no disk and out of focus.
    other = mount.probe(context(loop_profile(make_profile, fstab=(FIXTURES / "fstab" / "fstab-10.txt").read_text())))
    assert other.facts["fstab"]
    assert all(e["disk"] is None and e["focus"] is False for e in other.facts["fstab"])
    assert about(other, "/mnt/ssdw/data", "no line in /etc/fstab")
    binary = mount.probe(context(loop_profile(make_profile, fstab="\x00\x01\x02 \x00\x00\x00\n\x7fELF\x00")))
    assert binary.status is Status.WARN
    assert binary.facts["fstab"] == []
    assert [f.subject for f in binary.findings if f.subject.startswith("/etc/fstab")] == ["/etc/fstab:1", "/etc/fstab:2"]


def test_read_only_remount_after_errors_is_reported(make_profile):
    mountinfo = (LOOP / "mountinfo.txt").read_text().replace("/mnt/ssdw/old rw,relatime", "/mnt/ssdw/old ro,relatime")
    result = mount.probe(context(loop_profile(make_profile, mountinfo=mountinfo)))
    [ro] = about(result, "/mnt/ssdw/old", "read-only")
    assert ro.status is Status.WARN and "dmesg" in ro.advice


def test_no_focus_disk_is_a_skip(make_profile):
    result = mount.probe(context(loop_profile(make_profile), disks=()))
    assert result.status is Status.SKIP and result.facts == {"fstab": [], "mounts": []}


def test_fedora_lvm_vg_lv_spec_and_discard(make_profile):
    """moby's fedoraMountinfo (an SSD with LVM; /dev/mapper/ssd-virt mounted with discard) and an
    fstab naming the volumes as /dev/VG/LV."""
    text = (FIXTURES / "mountinfo" / "moby-fedora-mountinfo.txt").read_text()
    lines = {line.split()[4]: line for line in text.splitlines()}
    root_dev, virt_dev = lines["/"].split()[2], next(v for k, v in lines.items() if "ssd-virt" in v).split()[2]
    virt_target = next(k for k, v in lines.items() if "ssd-virt" in v)
    files = {"/proc/self/mountinfo": text, "/sys/block/sda/dev": "8:0\n", "/sys/block/sda/sda2/dev": "8:2\n",
             "/sys/block/sda/queue/rotational": "0\n", "/sys/block/sda/size": "100\n",
             "/etc/fstab": f"/dev/ssd/root-f20 / ext4 defaults 1 1\n/dev/ssd/virt {virt_target} ext4 discard 1 2\n"}
    links = {}
    for number, (dev, name) in enumerate(((root_dev, "ssd-root--f20"), (virt_dev, "ssd-virt"))):
        kname = f"dm-{dev.split(':')[1]}"
        files[f"/sys/block/{kname}/dev"] = dev + "\n"
        files[f"/sys/block/{kname}/dm/name"] = name + "\n"
        links[f"/sys/block/sda/sda2/holders/{kname}"] = f"../../../{kname}"
    profile = make_profile(commands=[], files=files, links=links)
    result = mount.probe(ProbeContext(ProfileSystem(profile), chosen_disks=("sda",)))
    assert [e["spec"] for e in result.facts["fstab"]] == ["/dev/ssd/root-f20", "/dev/ssd/virt"]
    assert about(result, virt_target, "Continuous 'discard' on ext4")
    # systemctl is not in this profile: treated as not installed, and said so.
    assert all("cron" in f.advice for f in about(result, virt_target, "Continuous 'discard'"))


@pytest.mark.parametrize("name, status, fstab_files", [
    ("pve-ceph-node", Status.WARN, ["/", "/boot/efi", "none"]),
    ("nvme-workstation", Status.OK, ["/", "/home", "/boot", "none", "/run/media/luca_s/Data-2TB"]),
    ("legacy-ide", Status.WARN, ["/", "none"]),
])
def test_demo_profiles(name, status, fstab_files):
    result = mount.probe(ProbeContext(ProfileSystem(PROFILES_DIR / name)))
    assert result.status is status
    assert [e["file"] for e in result.facts["fstab"] if e["focus"]] == fstab_files
    # pve: the HDD's line is listed but not ours
    assert "/mnt/backup" not in [e["file"] for e in result.facts["fstab"] if e["focus"]]
    timer = [f for f in result.findings if f.subject == "fstrim.timer"]
    assert len(timer) == 1
    assert (timer[0].status is Status.OK) == (name == "nvme-workstation")  # only there is the timer enabled
