"""mountinfo: kernel output captured here and in util-linux/moby test data, and anything at all."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import FIXTURES
from ssdwizard.parsers import ParseError
from ssdwizard.parsers import mountinfo
from ssdwizard.parsers.fstab import encode

MOUNTINFO = FIXTURES / "mountinfo"
ALL = sorted(path.name for path in MOUNTINFO.glob("*.txt"))


def read(name: str) -> str:
    return (MOUNTINFO / name).read_bytes().decode("utf-8")


@pytest.mark.parametrize("name", ALL)
def test_every_fixture_round_trips_byte_for_byte(name):
    text = read(name)
    assert mountinfo.render(mountinfo.parse(text)) == text


def test_loop_devices_with_escaped_paths_agree_with_findmnt():
    """Captured by capture-loop.sh: ext4 on loop devices, paths with space, tab, newline, backslash."""
    table = mountinfo.parse(read("mountinfo-loop-escapes.txt"))
    found = json.loads((MOUNTINFO / "mountinfo-loop-escapes.findmnt.json").read_text())["filesystems"]
    by_id = {mount.mount_id: mount for mount in table.mounts}
    assert sorted(by_id) == sorted(row["id"] for row in found)
    for row in found:
        mount = by_id[row["id"]]
        assert mount.parent_id == row["parent"]
        assert mount.device == row["maj:min"]
        assert mount.root == row["fsroot"]
        assert mount.mount_point == row["target"]
        assert mount.fstype == row["fstype"]
        # findmnt shows a bind mount of a subdirectory as 'source[/root]'
        suffix = f"[{mount.root}]" if mount.root != "/" else ""
        assert mount.source + suffix == row["source"]
        assert ",".join(mount.options) == row["vfs-options"]
        assert ",".join(mount.super_options) == row["fs-options"]
        propagation = row["propagation"].split(",")
        assert (mount.shared is not None) == ("shared" in propagation)
        assert (mount.master is not None) == ("slave" in propagation)


def test_loop_mount_values():
    table = mountinfo.parse(read("mountinfo-loop-escapes.txt"))
    (ssd,) = table.find("/tmp/ssdw-mi/SSD data")
    assert ssd.text.split(" ")[4] == "/tmp/ssdw-mi/SSD\\040data"
    assert (ssd.source, ssd.fstype, ssd.options, ssd.major) == ("/dev/loop0", "ext4", ("rw", "noatime"), 7)
    assert ssd.has_option("noatime") and not ssd.has_option("discard")
    (tab,) = table.find("/tmp/ssdw-mi/tab\tdir")
    assert tab.super_options == ("ro", "commit=600") and tab.has_option("commit")
    (back,) = table.find("/tmp/ssdw-mi/back\\slash")
    assert back.source == "tmp fs"
    assert table.find("/tmp/ssdw-mi/new\nline")[0].device == "7:0"
    (sub,) = table.find("/tmp/ssdw-mi/sub root/")
    assert sub.root == "/sub dir"
    shared = table.find("/tmp/ssdw-mi/shared")[0]
    assert (shared.shared, shared.master, shared.optional_fields) == (1, None, ("shared:1",))
    slave = table.find("/tmp/ssdw-mi/slave")[0]
    assert (slave.shared, slave.master, slave.unbindable) == (None, 1, False)


def test_this_machine():
    table = mountinfo.parse(read("mountinfo-this-machine.txt"))
    root = table.visible("/")
    assert (root.fstype, root.source, root.device) == ("ext4", "/dev/vda", "254:0")
    assert "discard" in root.super_options
    assert all(mount.mount_id != mount.parent_id for mount in table.mounts)


def test_util_linux_test_file():
    table = mountinfo.parse(read("util-linux-mountinfo.txt"))
    assert len(table.mounts) == 34
    root = table.visible("/")
    assert (root.fstype, root.source, root.options) == ("ext3", "/dev/sda4", ("rw", "noatime"))
    assert "errors=continue" in root.super_options
    (deleted,) = table.find("/mnt/foo (deleted)")
    assert deleted.source == "/fooooo"
    (cifs,) = table.find("/mnt/sounds")
    assert "unc=\\\\foo.home\\bar" in cifs.super_options  # backslashes that are not \ooo escapes stay
    (foobar,) = table.find("/mnt/test/foobar")
    assert foobar.shared == 323


def test_stacked_mounts_visible_is_the_top_one():
    table = mountinfo.parse(read("util-linux-mountinfo.txt"))
    stack = table.find("/dev/hugepages")
    assert [(m.mount_id, m.fstype) for m in stack] == [(33, "autofs"), (38, "hugetlbfs")]
    assert table.visible("/dev/hugepages").fstype == "hugetlbfs"
    assert table.visible("/proc/sys/fs/binfmt_misc").fstype == "binfmt_misc"
    assert table.visible("/nowhere") is None


def test_empty_source_two_spaces_in_a_row():
    (*_, test) = mountinfo.parse(read("util-linux-mountinfo_nosrc.txt")).mounts
    assert (test.mount_point, test.fstype, test.source, test.super_options) == ("/mnt/test", "tmpfs", "", ("rw",))


def test_btrfs_subvolumes_with_ssd_option():
    table = mountinfo.parse(read("util-linux-mountinfo_btrfs.txt"))
    root = table.visible("/")
    assert (root.root, root.fstype, root.device) == ("/root", "btrfs", "259:3")
    assert root.has_option("ssd") and "subvol=/root" in root.super_options
    assert table.visible("/var/tmp").options == ("rw", "noatime", "nosuid", "nodev")


def test_moby_fedora_capture_without_final_newline_and_unescaped_cifs_options():
    text = read("moby-fedora-mountinfo.txt")
    assert not text.endswith("\n")
    table = mountinfo.parse(text)
    assert table.mounts[-1].ending == "" and table.mounts[0].ending == "\n"
    root = table.visible("/")
    assert (root.source, root.shared) == ("/dev/mapper/ssd-root--f20", 1)
    images = table.visible("/var/lib/libvirt/images")
    assert images.options == ("rw", "noatime", "nodiratime") and "discard" in images.super_options
    cifs = table.visible("/DATA/foo_bla_bla")
    assert cifs.source == "//foo/BLA BLA BLA/"
    # an old kernel printed spaces in this super option unescaped; the rest of the line is its value
    assert "unc=\\\\foo\\BLA BLA BLA" in cifs.super_options and cifs.super_options[-1] == "actimeo=1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("\n", "line 1 is empty"),
        (read("util-linux-mountinfo_nosrc.txt") + "\n", "line 8 is empty"),
        ("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 ext3 /dev/root rw\n", "no lone '-'"),
        ("36 35 98:0 /mnt1 /mnt2 rw,noatime - ext3 /dev/root\n", "expected fstype"),
        ("36 35 98-0 /mnt1 /mnt2 rw - ext3 /dev/root rw\n", "not major:minor"),
        ("36 x 98:0 /mnt1 /mnt2 rw - ext3 /dev/root rw\n", "parent id 'x'"),
        ("٣٦ 35 98:0 /mnt1 /mnt2 rw - ext3 /dev/root rw\n", "mount id"),
        ("36 35 98:0  /mnt2 rw - ext3 /dev/root rw\n", "the root is empty"),
        ("36 35 98:0 / /mnt2 rw  - ext3 /dev/root rw\n", "empty optional field"),
        ("36 35 98:0 / /a  rw - ext3 /dev/root rw\n", "mount options are empty"),
        ((FIXTURES / "fstab" / "fstab-06.txt").read_text(), "not a mountinfo line"),
        (read("mountinfo-this-machine.txt").replace(" ", "\t"), "not a mountinfo line"),
    ],
)
def test_what_the_kernel_never_writes_is_a_parse_error(text, message):
    with pytest.raises(ParseError, match=message) as caught:
        mountinfo.parse(text)
    assert caught.value.source == "/proc/self/mountinfo"


@settings(max_examples=500)
@given(st.text())
def test_any_text_gives_a_table_or_a_parse_error(text):
    try:
        table = mountinfo.parse(text)
    except ParseError:
        return
    assert mountinfo.render(table) == text


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from(" -:0123456789/abrw,\n\\")))
def test_mountinfo_like_text_gives_a_table_or_a_parse_error(text):
    try:
        table = mountinfo.parse(text)
    except ParseError:
        return
    assert mountinfo.render(table) == text


_path = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20).map(
    lambda s: "/" + s)
_word = st.text(alphabet=st.characters(blacklist_characters=" \t\n\\,", blacklist_categories=("Cs",)),
                min_size=1, max_size=10)


@settings(max_examples=300)
@given(st.integers(0, 10**6), st.integers(0, 10**6), _path, _path, _word, _word,
       st.lists(st.sampled_from(["shared:1", "master:7", "propagate_from:3", "unbindable"]), max_size=3))
def test_kernel_escaped_lines_decode_back_to_their_values(mid, pid, root, point, fstype, source, tags):
    line = " ".join([str(mid), str(pid), "8:1", encode(root), encode(point), "rw,noatime", *tags, "-",
                     fstype, encode(source), "rw,discard"]) + "\n"
    (mount,) = mountinfo.parse(line).mounts
    assert (mount.mount_id, mount.parent_id, mount.root, mount.mount_point) == (mid, pid, root, point)
    assert (mount.fstype, mount.source, mount.optional_fields) == (fstype, source, tuple(tags))
    assert mount.has_option("discard")
    assert mountinfo.parse(line).find(point) == (mount,)
