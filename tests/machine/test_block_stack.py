"""The one block-stack walker: over a profile's sysfs tree (partitions, holders, slaves, dm, md,
loop), and over this machine's real sysfs with loop devices, partitions on them and, where the
kernel has device-mapper, a linear dm target.

Every loop device and dm target made here is removed by its path or name in a ``finally``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from ssdwizard.machine.block_stack import Layer, Node, kind_word, queue_dir, read_layer, vg_lv, walk_down, walk_up
from ssdwizard.machine.context import ProbeContext
from ssdwizard.machine.inventory import focus_disks
from ssdwizard.machine.placement import probe_placement
from ssdwizard.model import Status
from ssdwizard.steps import trim
from ssdwizard.system import LiveSystem, ProfileSystem
from ssdwizard.active.trimtest import block_stack, first_blocking_layer

DISCARD = 2147450880
PCI = "/sys/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block"
VIRTUAL = "/sys/devices/virtual/block"


# ---- a profile's sysfs ------------------------------------------------------------------------------

def stacked_sysfs() -> tuple[dict[str, str], dict[str, str]]:
    """Two SSDs, laid out as the kernel does (real directories under /sys/devices, links in
    /sys/block, /sys/class/block, holders/ and slaves/):

    - sda2 → dm-0 (LVM pve-root) → dm-1 (dm-crypt cryptdata, opened without discards: 0);
    - sda1 + sdb1 → md0 (raid1) → dm-2 (LVM data-vol);
    - dm-3 and dm-4 hold each other: a damaged profile's loop of links.
    """
    files: dict[str, str] = {}
    links: dict[str, str] = {}
    whole = {"sda": (f"{PCI}/sda", "8:0"), "sdb": (f"{PCI.replace('ata1', 'ata2')}/sdb", "8:16"),
             "md0": (f"{VIRTUAL}/md0", "9:0"), "dm-0": (f"{VIRTUAL}/dm-0", "253:0"),
             "dm-1": (f"{VIRTUAL}/dm-1", "253:1"), "dm-2": (f"{VIRTUAL}/dm-2", "253:2"),
             "dm-3": (f"{VIRTUAL}/dm-3", "253:3"), "dm-4": (f"{VIRTUAL}/dm-4", "253:4")}
    parts = {"sda1": ("sda", "8:1"), "sda2": ("sda", "8:2"), "sdb1": ("sdb", "8:17")}
    for name, (real, dev) in whole.items():
        files[f"{real}/dev"] = dev + "\n"
        files[f"{real}/queue/discard_max_bytes"] = f"{0 if name == 'dm-1' else DISCARD}\n"
        links[f"/sys/block/{name}"] = real
        links[f"/sys/class/block/{name}"] = real
    for disk in ("sda", "sdb"):
        files[f"{whole[disk][0]}/size"] = "1953525168\n"
        files[f"{whole[disk][0]}/queue/rotational"] = "0\n"
    for name, (disk, dev) in parts.items():
        real = f"{whole[disk][0]}/{name}"
        files[f"{real}/dev"] = dev + "\n"
        files[f"{real}/partition"] = name[-1] + "\n"
        links[f"/sys/class/block/{name}"] = real
    for name, dm_name, uuid in (("dm-0", "pve-root", "LVM-Q7hVfz4Wk3eX"), ("dm-1", "cryptdata", "CRYPT-LUKS2-5d1e-cryptdata"),
                                ("dm-2", "data-vol", "LVM-Zr8kq2MvLw0Y"), ("dm-3", "loop-a", ""), ("dm-4", "loop-b", "")):
        files[f"{whole[name][0]}/dm/name"] = dm_name + "\n"
        files[f"{whole[name][0]}/dm/uuid"] = uuid + "\n"
    files[f"{whole['md0'][0]}/md/level"] = "raid1\n"

    def stack(lower: str, upper: str) -> None:
        lower_dir = whole[lower][0] if lower in whole else f"{whole[parts[lower][0]][0]}/{lower}"
        links[f"{lower_dir}/holders/{upper}"] = whole[upper][0]
        links[f"{whole[upper][0]}/slaves/{lower}"] = lower_dir

    for lower, upper in (("sda2", "dm-0"), ("dm-0", "dm-1"), ("sda1", "md0"), ("sdb1", "md0"), ("md0", "dm-2"),
                         ("dm-3", "dm-4"), ("dm-4", "dm-3")):
        stack(lower, upper)
    return files, links


@pytest.fixture
def stacked(make_profile) -> ProfileSystem:
    files, links = stacked_sysfs()
    return ProfileSystem(make_profile(commands=[], files=files, links=links))


def shape(node: Node) -> tuple:
    return (node.layer.kname, node.layer.kind, tuple(shape(n) for n in node.above))


@pytest.mark.parametrize("reader", ["system", "context"])
def test_walk_down_from_a_disk_finds_partitions_and_holders(stacked, reader):
    sysfs = stacked if reader == "system" else ProbeContext(stacked)
    tree = walk_down(sysfs, "sda")
    assert shape(tree) == ("sda", "disk", (
        ("sda1", "part", (("md0", "raid1", (("dm-2", "lvm", ()),)),)),
        ("sda2", "part", (("dm-0", "lvm", (("dm-1", "crypt", ()),)),)),
    ))
    layers = {layer.kname: layer for layer in tree.walk()}
    assert layers["sda2"].discard_max_bytes == DISCARD  # a partition's limit is its disk's
    assert layers["dm-1"].discard_max_bytes == 0
    assert (layers["sda2"].devnum, layers["dm-0"].devnum) == ("8:2", "253:0")
    assert (layers["dm-0"].label, layers["dm-0"].path) == ("pve-root", "/dev/mapper/pve-root")
    assert layers["dm-0"].paths == ("/dev/dm-0", "/dev/mapper/pve-root", "/dev/pve/root")
    # dm/uuid says cryptsetup made it: no /dev/VG/LV name is guessed from "cryptdata".
    assert layers["dm-1"].paths == ("/dev/dm-1", "/dev/mapper/cryptdata")
    assert layers["md0"].paths == ("/dev/md0",)


def test_walk_up_gives_every_path_to_the_disks(stacked):
    (crypt_path,) = walk_up(stacked, "/sys/class/block/dm-1")
    assert [(layer.kname, layer.kind) for layer in crypt_path] == [
        ("dm-1", "crypt"), ("dm-0", "lvm"), ("sda2", "part"), ("sda", "disk")]
    assert crypt_path[2].sysdir == f"{PCI}/sda/sda2" and crypt_path[2].discard_max_bytes == DISCARD
    raid = walk_up(stacked, "/sys/block/dm-2")
    assert [[layer.kname for layer in path] for path in raid] == [["dm-2", "md0", "sda1", "sda"],
                                                                 ["dm-2", "md0", "sdb1", "sdb"]]
    assert first_blocking_layer(walk_up(ProbeContext(stacked), "/sys/class/block/dm-1")).label == "cryptdata"


def test_a_loop_of_holder_or_slave_links_ends(stacked):
    assert shape(walk_down(stacked, "dm-3")) == ("dm-3", "dm", (("dm-4", "dm", ()),))
    assert [[layer.kname for layer in path] for path in walk_up(stacked, "/sys/block/dm-3")] == [["dm-3", "dm-4"]]


def test_the_layer_says_what_it_is_in_lsblk_words(stacked):
    assert [kind_word(k) for k in ("part", "crypt", "lvm", "dm", "mpath", "raid1", "md", "loop", "disk")] == [
        "partition", "dm-crypt", "LVM", "device-mapper", "multipath", "md RAID1", "md RAID", "loop", "disk"]
    assert read_layer(stacked, "/sys/block/dm-1").text == "dm-crypt cryptdata (dm-1)"
    assert Layer("sda", "sda", "disk", 0).text == "disk sda"  # built by hand, as the TRIM test's logic tests do
    assert queue_dir(stacked, "/sys/class/block/sda1") == f"{PCI}/sda/queue"
    assert queue_dir(stacked, f"{PCI}/sda/sda1") == f"{PCI}/sda/queue"
    assert vg_lv("ceph--0f6d-osd--block") == ("ceph-0f6d", "osd-block") and vg_lv("cryptdata") is None


def test_md_and_multipath_and_unnamed_dm(make_profile):
    """lsblk's TYPE rule for dm: dm/uuid's prefix in lower case, ``partN`` (kpartx) a partition."""
    files = {"/sys/block/md127/md/level": "raid5\n", "/sys/block/md1/dev": "9:1\n",
             "/sys/block/dm-7/dm/name": "mpatha\n", "/sys/block/dm-7/dm/uuid": "mpath-3600508b4000\n",
             "/sys/block/dm-8/dev": "253:8\n",
             "/sys/block/dm-9/dm/name": "mpatha1\n", "/sys/block/dm-9/dm/uuid": "part1-mpath-3600508b4000\n",
             "/sys/block/dm-10/dm/name": "vdo0\n", "/sys/block/dm-10/dm/uuid": "VDO-b2d5\n"}
    links = {"/sys/block/dm-9/slaves/dm-7": "/sys/block/dm-7", "/sys/class/block/dm-7": "/sys/block/dm-7"}
    sysfs = ProfileSystem(make_profile(commands=[], files=files, links=links))
    assert [read_layer(sysfs, f"/sys/block/{n}").kind for n in ("md127", "md1", "dm-7", "dm-8", "dm-9", "dm-10")] == [
        "raid5", "md", "mpath", "dm", "part", "vdo"]
    unnamed = read_layer(sysfs, "/sys/block/dm-8")
    assert (unnamed.label, unnamed.path, unnamed.paths) == ("dm-8", "/dev/dm-8", ("/dev/dm-8",))
    # A dm partition is below its multipath device (its slave), not below the folder it is in.
    assert [[layer.label for layer in path] for path in walk_up(sysfs, "/sys/block/dm-9")] == [["mpatha1", "mpatha"]]
    assert read_layer(sysfs, "/sys/block/dm-9").path == "/dev/mapper/mpatha1"


def test_a_loop_device_is_named_with_its_backing_file(make_profile):
    mountinfo = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    files = {"/sys/block/loop3/loop/backing_file": "/var/lib/images/disk.img\n",
             "/sys/block/loop3/queue/discard_max_bytes": "0\n", "/proc/self/mountinfo": mountinfo}
    sysfs = ProfileSystem(make_profile(commands=[], files=files))
    assert read_layer(sysfs, "/sys/block/loop3").backing_file == "/var/lib/images/disk.img"
    ((layer,),) = block_stack(sysfs, "/sys/block/loop3")
    assert layer.text == "loop loop3, backing file /var/lib/images/disk.img on ext4"


# ---- the callers, on that profile ---------------------------------------------------------------------

def test_placement_without_lsblk_credits_every_disk_below(stacked):
    placement = probe_placement(ProbeContext(stacked, chosen_disks=("sda", "sdb")))
    devices = {d.name: d for d in placement.devices}
    assert list(devices) == ["sda", "sda1", "md0", "data-vol", "sda2", "pve-root", "cryptdata", "sdb", "sdb1"]
    # md RAID1 on both disks, and the LV on it too (the walk is done per disk).
    assert devices["md0"].disks == ["sda", "sdb"] and devices["data-vol"].disks == ["sda", "sdb"]
    assert devices["pve-root"].specs == {"/dev/dm-0", "/dev/mapper/pve-root", "/dev/pve/root"}
    assert (devices["pve-root"].path, devices["pve-root"].devnum) == ("/dev/mapper/pve-root", "253:0")
    assert placement.device_for_spec("/dev/data/vol") is devices["data-vol"]


def test_trim_without_lsblk_names_the_dm_crypt_layer(stacked):
    ctx = ProbeContext(stacked, chosen_disks=("sda",))
    (sda,) = focus_disks(ctx)
    passthrough = trim.passthrough_for(ctx, sda)
    assert passthrough.reaches is False and passthrough.chain_text == "sda → sda2 → pve-root → cryptdata"
    result = trim.probe(ProbeContext(stacked, chosen_disks=("sda",)))
    stop = next(f for f in result.findings if "Discard stops" in f.message)
    assert stop.status is Status.WARN and "dm-crypt layer cryptdata" in stop.message
    assert "crypttab" in stop.advice and stop.evidence[0].source == "/sys/block/dm-1/queue/discard_max_bytes"


# ---- this machine's sysfs --------------------------------------------------------------------------

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="loop devices, partitions and dm targets need root")
SECTOR = 512


def mbr(*partitions: tuple[int, int]) -> bytes:
    """A DOS partition table: (first sector, sectors) per Linux partition."""
    table = bytearray(SECTOR)
    for index, (start, count) in enumerate(partitions):
        table[446 + 16 * index:462 + 16 * index] = struct.pack("<B3sB3sII", 0, bytes(3), 0x83, bytes(3), start, count)
    table[510:512] = b"\x55\xaa"
    return bytes(table)


def run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True, check=False)


@contextlib.contextmanager
def partitioned_loop(tmp_path: Path):
    """A loop device over an 8 MiB file with two partitions. The kernel reads the table with
    ``--partscan``; one built without the DOS partition parser is told by ``partx --add``."""
    backing = tmp_path / "disk.img"
    with open(backing, "wb") as handle:
        handle.truncate(8 * 1024 * 1024)
        handle.write(mbr((2048, 4096), (6144, 8192)))
    made = run("losetup", "--find", "--show", "--partscan", str(backing))
    if made.returncode != 0:
        pytest.skip(f"no loop device: {made.stderr.strip()}")
    device = made.stdout.strip()
    try:
        name = os.path.basename(device)
        if not os.path.exists(f"/sys/block/{name}/{name}p1"):
            if shutil.which("partx") is None:
                pytest.skip("the kernel did not read the partition table and partx is not installed")
            added = run("partx", "--add", device)
            if added.returncode != 0:
                pytest.skip(f"partx --add {device} failed: {added.stderr.strip()}")
        yield device, str(backing)
    finally:
        run("losetup", "--detach", device)


def devnum(path: str) -> str:
    rdev = os.stat(path).st_rdev
    return f"{os.major(rdev)}:{os.minor(rdev)}"


@needs_root
@pytest.mark.parametrize("reader", ["system", "context"])
def test_real_loop_device_with_partitions(tmp_path, reader):
    live = LiveSystem(state_dir=str(tmp_path / "state"))
    sysfs = live if reader == "system" else ProbeContext(live)
    with partitioned_loop(tmp_path) as (device, backing):
        name = os.path.basename(device)
        tree = walk_down(sysfs, name)
        assert shape(tree) == (name, "loop", ((f"{name}p1", "part", ()), (f"{name}p2", "part", ())))
        assert tree.layer.backing_file == backing and tree.layer.devnum == devnum(device)
        own = int(Path(f"/sys/block/{name}/queue/discard_max_bytes").read_text())
        for part in tree.above:
            assert part.layer.devnum == devnum(f"/dev/{part.layer.kname}")
            assert part.layer.discard_max_bytes == own
        (path,) = walk_up(sysfs, f"/sys/class/block/{name}p2")
        assert [(layer.kname, layer.kind) for layer in path] == [(f"{name}p2", "part"), (name, "loop")]
        assert path[1].sysdir == os.path.realpath(f"/sys/block/{name}")
        assert queue_dir(sysfs, path[0].sysdir) == f"{path[1].sysdir}/queue"
        assert_as_lsblk_says(device, tree)


def assert_as_lsblk_says(device: str, tree: Node) -> None:
    """lsblk's NAME/KNAME/TYPE/MAJ:MIN tree is the walk's, where lsblk is installed.

    Children are compared as sorted tuples: lsblk lists them in the order it reads sysfs,
    which is not stable (CI once saw loop0p2 before loop0p1), and the walk's order means
    nothing either."""
    if shutil.which("lsblk") is None:
        return
    shown = run("lsblk", "--json", "--output", "NAME,KNAME,TYPE,MAJ:MIN", device)
    assert shown.returncode == 0, shown.stderr

    def lsblk_shape(entry: dict) -> tuple:
        return (entry["kname"], entry["type"], entry["maj:min"], tuple(sorted(lsblk_shape(c) for c in entry.get("children", []))))

    def walk_shape(node: Node) -> tuple:
        return (node.layer.kname, node.layer.kind, node.layer.devnum, tuple(sorted(walk_shape(n) for n in node.above)))

    (entry,) = json.loads(shown.stdout)["blockdevices"]
    assert walk_shape(tree) == lsblk_shape(entry)


def test_this_machines_disks_walk_as_lsblk_shows_them():
    """Every device lsblk shows on each of this machine's disks, with its TYPE and MAJ:MIN, is
    in the walk (as a set: lsblk repeats a device it reaches twice). Loop devices are left out:
    other tests attach and detach them meanwhile."""
    if shutil.which("lsblk") is None:
        pytest.skip("lsblk is not installed")
    live = LiveSystem()
    disks = [n for n in sorted(os.listdir("/sys/block")) if not n.startswith(("loop", "ram"))]
    if not disks:
        pytest.skip("this machine has no disk in /sys/block")
    for disk in disks:
        shown = run("lsblk", "--json", "--output", "KNAME,TYPE,MAJ:MIN", f"/dev/{disk}")
        if shown.returncode != 0 or not shown.stdout.strip():
            continue

        def flat(entry: dict) -> set:
            return {(entry["kname"], entry["type"], entry["maj:min"])}.union(
                *(flat(c) for c in entry.get("children", [])))

        (entry,) = json.loads(shown.stdout)["blockdevices"]
        assert {(layer.kname, layer.kind, layer.devnum) for layer in walk_down(live, disk).walk()} == flat(entry)


def device_mapper_missing() -> str | None:
    """Why no dm target can be made here, or None."""
    if shutil.which("dmsetup") is None:
        return "dmsetup is not installed"
    if os.path.exists("/dev/mapper/control"):
        return None
    if shutil.which("modprobe") is None:
        return "the kernel has no device-mapper (no /dev/mapper/control) and modprobe is not installed to load dm_mod"
    loaded = run("modprobe", "dm_mod")
    if not os.path.exists("/dev/mapper/control"):
        why = loaded.stderr.strip() or f"exit {loaded.returncode}, still no /dev/mapper/control"
        return f"the kernel has no device-mapper: modprobe dm_mod: {why}"
    return None


@needs_root
def test_real_linear_dm_target_on_a_partition(tmp_path):
    missing = device_mapper_missing()
    if missing:
        pytest.skip(missing)
    live = LiveSystem(state_dir=str(tmp_path / "state"))
    target = f"ssdw-bst-{os.getpid()}"
    with partitioned_loop(tmp_path) as (device, _):
        name = os.path.basename(device)
        made = run("dmsetup", "create", target, "--table", f"0 4096 linear {device}p1 0")
        if made.returncode != 0:
            pytest.skip(f"dmsetup create failed: {made.stderr.strip()}")
        try:
            kname = os.path.basename(os.path.realpath(f"/dev/mapper/{target}"))
            if not os.path.exists(f"/sys/block/{kname}"):  # no udev: the node is dm-N itself
                kname = next(n for n in os.listdir("/sys/block")
                             if n.startswith("dm-") and Path(f"/sys/block/{n}/dm/name").read_text().strip() == target)
            tree = walk_down(live, name)
            (p1, _p2) = tree.above
            (dm,) = p1.above
            assert (dm.layer.kname, dm.layer.label, dm.layer.kind) == (kname, target, "dm")
            assert dm.layer.path == f"/dev/mapper/{target}"
            (path,) = walk_up(live, f"/sys/class/block/{kname}")
            assert [layer.kname for layer in path] == [kname, f"{name}p1", name]
        finally:
            run("dmsetup", "remove", target)
