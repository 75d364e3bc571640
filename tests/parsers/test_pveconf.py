"""Proxmox VM configs, storage.cfg and /proc/meminfo, on real files."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import FIXTURES
from ssdwizard.parsers import ParseError, meminfo, pveconf

PVE = FIXTURES / "pve"


def read(name: str) -> str:
    return (PVE / name).read_bytes().decode("utf-8")


# ------------------------------------------------------------------ VM configs


def test_real_windows_vm_disks_cdroms_efi_and_tpm():
    config = pveconf.parse_vm_config(read("qemu-halimbo-100.conf"), "/etc/pve/qemu-server/100.conf")
    assert config.vmid == 100
    assert config.name == "3050"
    assert config.problems == ()
    assert [d.key for d in config.drives] == ["efidisk0", "ide0", "ide2", "scsi0", "scsi1", "tpmstate0"]
    assert [d.key for d in config.disks] == ["efidisk0", "scsi0", "scsi1", "tpmstate0"]
    scsi0 = config.drives[3]
    assert (scsi0.storage, scsi0.volume, scsi0.line) == ("local-lvm", "vm-106-disk-1", 22)
    assert scsi0.options == (("discard", "on"), ("iothread", "1"), ("size", "80G"))
    assert scsi0.cache is None  # Proxmox's default: cache=none, the rbd cache is off
    assert config.drives[1].is_cdrom and config.drives[1].volume_id == "local:iso/virtio-win.iso"
    assert config.values["args"].startswith("-cpu 'host,hv_relaxed")
    assert config.snapshots == () and not config.pending


@pytest.mark.parametrize("name", ["qemu-204-snapshot.conf", "qemu-101-rollback.conf"])
def test_snapshot_sections_are_listed_not_counted(name):
    config = pveconf.parse_vm_config(read(name))
    assert [s.name for s in config.snapshots] == ["test"]
    assert config.snapshots[0].snaptime == 1234567890
    assert ("vmstate", "somestorage:state-volume") in config.snapshots[0].options
    assert [d.key for d in config.drives] == ["ide0", "ide2"]
    assert [d.key for d in config.disks] == ["ide0"]
    empty = config.drives[1]
    assert empty.volume_id == "none" and not empty.has_medium and empty.is_cdrom
    assert "machine" not in config.values  # only the snapshot has it
    assert config.problems == ()


def test_description_comment_and_current_disk_options():
    config = pveconf.parse_vm_config(read("qemu-101-rollback.conf"))
    assert config.description == " this is a description"
    assert config.drives[0].options == (("size", "32G"),)  # the snapshot's copy has discard=on


def test_efidisk_on_rbd_storage():
    config = pveconf.parse_vm_config(read("qemu-efidisk-on-rbd.conf"), "qemu-server/100.conf")
    (efi,) = config.disks
    assert (efi.key, efi.storage, efi.volume, efi.option("size")) == ("efidisk0", "rbd-store", "vm-100-disk-1", "128K")
    assert config.description == " TEST: Config with efi disk on RBD is very slow without cache - #3329"


def test_cache_modes_pending_special_sections_and_oddities():
    # Written in the format qemu-server writes (keys sorted, description first); not a capture.
    text = (
        "#web%20server\nboot: order=virtio0\ncdrom: none,media=cdrom\nname: web\n"
        "sata0: /dev/disk/by-id/ata-X,backup=0\nscsi1: file=ceph-vm:vm-101-disk-1,cache=writeback\n"
        "unused0: ceph-vm:vm-101-disk-9\n"
        "virtio0: ceph-vm:vm-101-disk-0,cache=writeback,discard=on,iothread=1,size=32G\r\n"
        "virtio1: ceph-vm:vm-101-disk-2,cache=unsafe,foo\nthis is not a config line\n"
        "\n[PENDING]\nvirtio2: ceph-vm:vm-101-disk-3\n\n[special:cloudinit]\nipconfig0: ip=dhcp\n"
    )
    config = pveconf.parse_vm_config(text)
    assert config.pending
    assert [d.key for d in config.drives] == ["ide2", "sata0", "scsi1", "virtio0"]
    assert config.drives[1].storage is None and config.drives[1].volume == "/dev/disk/by-id/ata-X"
    assert config.drives[2].volume_id == "ceph-vm:vm-101-disk-1" and config.drives[2].cache == "writeback"
    assert config.drives[3].option("size") == "32G"  # CR before LF is not part of the value
    assert config.unused == (("unused0", "ceph-vm:vm-101-disk-9"),)
    assert [number for number, _ in config.problems] == [9, 10]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_vm_config_text_gives_data(text):
    config = pveconf.parse_vm_config(text, "/etc/pve/qemu-server/123.conf")
    assert config.vmid == 123
    for drive in config.drives:
        assert drive.volume_id


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("a:,=/ none") + ["media=cdrom", "cache="]), max_size=20).map("".join))
def test_parse_drive_raises_only_parse_error(value):
    try:
        pveconf.parse_drive("scsi0", value)
    except ParseError:
        pass


# ------------------------------------------------------------------ storage.cfg


def test_real_storage_cfg_with_hand_edits():
    config = pveconf.parse_storage_cfg(read("storage-kilrainebc.cfg"))
    assert [(s.type, s.storage_id) for s in config.storages] == [
        ("dir", "local"), ("lvmthin", "ssd"), ("lvmthin", "nvme"),
        ("lvmthin", "hdd"), ("dir", "backup"), ("dir", "assets"),
    ]
    assert config.get("nvme").option("vgname") == "nvme"
    assert config.get("backup").option("prune-backups") == "keep-all=1"
    assert config.get("ssd").content == ("rootdir", "images")
    assert not any(s.uses_librbd for s in config.storages)
    assert config.problems == ()


@pytest.mark.parametrize("name, count", [("storage-lighteness.cfg", 7), ("storage-spongeyperson.cfg", 4)])
def test_more_real_storage_cfgs(name, count):
    config = pveconf.parse_storage_cfg(read(name))
    assert len(config.storages) == count and config.problems == ()


def test_zfspool_and_nfs_properties():
    config = pveconf.parse_storage_cfg(read("storage-lighteness.cfg"))
    assert config.get("hdd-8t").pool == "hdd-8t" and config.get("hdd-8t").option("nodes") == "pve"
    nfs = pveconf.parse_storage_cfg(read("storage-spongeyperson.cfg")).get("TrueNAS")
    assert (nfs.type, nfs.option("options"), nfs.option("export")) == ("nfs", "vers=4", "/mnt/NAS/Shared/Proxmox")


def test_rbd_storages_krbd_and_external_cluster():
    # In the format `pveceph pool create --add_storages` and the PVE storage docs write; not a capture.
    text = (
        "rbd: ceph-vm\n\tcontent images\n\tkrbd 0\n\tpool ceph-vm\n\n"
        "rbd: ceph-ct\n\tcontent rootdir\n\tkrbd 1\n\tpool ceph-vm\n\n"
        "# external cluster\nrbd: ceph-external\n\tmonhost 10.1.1.20 10.1.1.21 10.1.1.22\n\tpool ceph-external\n"
        "\tcontent images\n\tusername admin\n\tdisable\n\n"
        "cephfs: cephfs\n\tpath /mnt/pve/cephfs\n\tcontent backup,iso,vztmpl\n\tfs-name cephfs\n"
    )
    config = pveconf.parse_storage_cfg(text)
    vm, ct, external, fs = config.storages
    assert vm.uses_librbd and not vm.krbd and vm.monhost is None
    assert ct.krbd and not ct.uses_librbd
    assert external.monhost == "10.1.1.20 10.1.1.21 10.1.1.22" and external.username == "admin" and external.disabled
    assert fs.type == "cephfs" and not fs.uses_librbd
    assert pveconf.parse_storage_cfg("rbd: ceph\n\tcontent images\n").get("ceph").pool == "rbd"
    # A one-letter id fails Proxmox's storage-id format; the section is skipped.
    assert pveconf.parse_storage_cfg("rbd: x\n\tcontent images\n").storages == ()


def test_storage_cfg_like_proxmox_reads_it():
    text = (
        "dir: local\n\tpath /a\ndir: second\n\tpath /b\n\n"
        "lvm: bad\nnot indented\n\tvgname v\n\tvgname w\n\nDIR: Upper\n\tpath /c\n"
    )
    config = pveconf.parse_storage_cfg(text)
    # A header without an empty line before it is no header to SectionConfig.
    assert [s.storage_id for s in config.storages] == ["local", "bad", "Upper"]
    assert config.get("local").option("path") == "/a"
    assert config.get("bad").option("vgname") == "v"
    assert config.get("Upper").type == "dir"
    assert [number for number, _ in config.problems] == [3, 4, 7, 9]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_storage_cfg_text_gives_data(text):
    pveconf.parse_storage_cfg(text)


# ------------------------------------------------------------------ /proc/meminfo


def test_meminfo_of_this_machine():
    info = meminfo.parse(read("meminfo-this-machine.txt"))
    assert info.total_bytes == 24684092 * 1024
    assert info.available_bytes == 24159992 * 1024
    assert info.values["HugePages_Total"] == 0


def test_meminfo_of_the_demo_profile_and_old_kernels():
    profile = FIXTURES.parent.parent / "ssdwizard/data/profiles/pve-ceph-node/root/proc/meminfo"
    assert meminfo.parse(profile.read_text()).total_bytes > 0
    old = meminfo.parse("MemTotal:        2048000 kB\nMemFree:          100000 kB\n")
    assert old.available_bytes is None and old.free_bytes == 100000 * 1024
    with pytest.raises(ParseError):
        meminfo.parse("")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_meminfo_raises_only_parse_error(text):
    try:
        meminfo.parse(text)
    except ParseError:
        pass
