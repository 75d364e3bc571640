"""fstab: real files round-trip byte for byte, and a one-option edit changes exactly one line."""

from __future__ import annotations

import difflib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, read_toml
from ssdwizard.parsers import fstab
from ssdwizard.parsers.fstab import BlankLine, CommentLine, FstabEntry, UnparsedLine

FSTAB = FIXTURES / "fstab"
LABELS = read_toml(FIXTURES / "corpus-labels.toml")["fstab"]
ALL = sorted(path.name for path in FSTAB.glob("*.txt"))
LABELLED = sorted(LABELS)  # fstab-02 ... fstab-10, byte-exact copies of the corpus files


def read(name: str) -> str:
    # Bytes, then decode: no newline translation, so CR and missing final newlines survive.
    return (FSTAB / name).read_bytes().decode("utf-8")


def changed_lines(before: str, after: str) -> list[str]:
    """The +/- lines of a line diff; the apply layer shows the admin exactly this."""
    diff = difflib.unified_diff(before.splitlines(True), after.splitlines(True), n=0)
    return [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]


@pytest.mark.parametrize("name", ALL)
def test_every_fixture_round_trips_byte_for_byte(name):
    text = read(name)
    assert fstab.render(fstab.parse(text)) == text


@pytest.mark.parametrize("name", LABELLED)
def test_entries_match_the_corpus_labels(name):
    document = fstab.parse(read(f"{name}.txt"))
    want = LABELS[name]["entries"]
    got = document.entries
    assert len(got) == len(want)
    for entry, label in zip(got, want):
        assert entry.spec == label["spec"]
        assert entry.file == label["file"]
        assert entry.vfstype == label["vfstype"]
        assert entry.options == tuple(label["options"].split(","))
        assert entry.dump == label["freq"]
        assert entry.pass_ == (None if label["passno"] == "missing" else label["passno"])
    types = {entry.vfstype for entry in got}
    assert ("swap" in types) == LABELS[name]["has_swap"]
    assert ("tmpfs" in types) == LABELS[name]["has_tmpfs"]
    assert any(entry.has_option("discard") for entry in got) == LABELS[name]["has_discard"]
    assert any(entry.has_option("bind") for entry in got) == LABELS[name]["has_bind"]
    assert document.unparsed == ()


def test_damaged_paste_keeps_its_five_field_lines_as_entries():
    # fstab-10: the separator between options and dump vanished ('defaults0       2'). The
    # labels' malformed_lines says 12, but their own entries and the file have 13 such lines.
    entries = fstab.parse(read("fstab-10.txt")).entries
    damaged = [entry for entry in entries if entry.options == ("defaults0",)]
    missing = [label for label in LABELS["fstab-10"]["entries"] if label["passno"] == "missing"]
    assert len(damaged) == len(missing) == 13
    assert all(entry.pass_ is None and len(entry.tokens) == 5 for entry in damaged)


def test_commented_out_discard_line_is_a_comment_not_an_entry():
    document = fstab.parse(read("fstab-08.txt"))
    btrfs = [line for line in document.lines if "discard=async" in line.text]
    assert len(btrfs) == 1 and isinstance(btrfs[0], CommentLine)
    assert all(entry.vfstype != "btrfs" for entry in document.entries)


def test_quoted_uuid_spec_is_kept_literally_and_unquoted_as_a_tag():
    (home,) = fstab.parse(read("fstab-02.txt")).find("/home")
    assert home.spec == 'UUID="4b9febb7-e830-4b64-b0ed-e61bfa6fa370"'
    assert home.spec_tag == ("UUID", "4b9febb7-e830-4b64-b0ed-e61bfa6fa370")
    (usb,) = fstab.parse(read("fstab-02.txt")).find("/media/usb0")
    assert usb.spec_tag is None


def test_spec_tags_in_real_files():
    tags = {entry.file: entry.spec_tag for entry in fstab.parse(read("fstab-04.txt")).entries}
    assert tags["/boot"] == ("UUID", "38CB-2DEE")
    assert tags["/dati"] is None  # /dev/disk/by-label/dati is a path, not a LABEL= tag
    assert tags["/tmp"] is None


def test_util_linux_test_file_four_field_lines_leading_comment_and_trailing_slash():
    document = fstab.parse(read("util-linux-fstab.comment.txt"))
    assert isinstance(document.lines[1], CommentLine)  # ' # this is a leading comment'
    assert isinstance(document.lines[3], BlankLine)
    (nfs,) = document.find("/mnt/remote")
    assert (nfs.spec, nfs.vfstype, nfs.options, nfs.dump, nfs.pass_) == (
        "foo.com:/mnt/share", "nfs", ("noauto",), None, None)
    (cifs,) = document.find("/mnt/gogogo")
    assert cifs.options == ("user=SRGROUP/baby", "noauto")
    (foo,) = document.find("/any/foo")  # written '/any/foo/' in the file
    assert foo.file == "/any/foo/" and foo.mount_point == "/any/foo"
    assert [entry.file for entry in document.find("/")] == ["/"]


def test_this_machines_fstab_has_no_entries():
    document = fstab.parse(read("fstab-this-machine.txt"))
    assert document.entries == ()
    assert [type(line) for line in document.lines] == [CommentLine]  # '# UNCONFIGURED FSTAB FOR BASE SYSTEM'


# --- changing one option ---------------------------------------------------------------------


def every_entry():
    for name in ALL:
        for entry in fstab.parse(read(name)).entries:
            yield pytest.param(name, entry.number, id=f"{name}:{entry.number}")


@pytest.mark.parametrize(("name", "number"), list(every_entry()))
def test_one_option_change_alters_exactly_that_line(name, number):
    text = read(name)
    document = fstab.parse(text)
    entry = document.lines[number - 1]
    options = [option for option in entry.options if option not in ("relatime", "atime")] + ["noatime"]
    if list(entry.options) == options:
        options = options[:-1] + ["nodiratime"]
    new_text = document.replace_options(entry, options)
    diff = changed_lines(text, new_text)
    assert diff == ["-" + entry.raw, "+" + entry.with_options(options)]
    reparsed = fstab.parse(new_text)
    assert fstab.render(reparsed) == new_text
    changed = reparsed.lines[number - 1]
    assert isinstance(changed, FstabEntry)
    assert changed.options == tuple(options)
    assert (changed.spec, changed.file, changed.vfstype, changed.dump, changed.pass_) == (
        entry.spec, entry.file, entry.vfstype, entry.dump, entry.pass_)
    # the blanks before the options column and the dump/pass spelling are untouched
    assert changed.gaps[:4] == entry.gaps[:4] and changed.tokens[4:] == entry.tokens[4:]
    assert all(a == b for i, (a, b) in enumerate(zip(document.lines, reparsed.lines)) if i != number - 1)


@pytest.mark.parametrize(("name", "number"), list(every_entry()))
def test_same_options_give_back_the_same_line(name, number):
    entry = fstab.parse(read(name)).lines[number - 1]
    assert entry.with_options(entry.options) == entry.raw


def test_tabs_are_kept_as_they_are():
    (root,) = fstab.parse(read("fstab-04.txt")).find("/")
    assert root.text == "UUID=553de6fa-6595-47ea-ac40-54cd6e5abd68\t/         \text4      \trw,relatime\t0 1"
    assert root.with_options(["rw", "noatime"]) == (
        "UUID=553de6fa-6595-47ea-ac40-54cd6e5abd68\t/         \text4      \trw,noatime\t0 1\n")


def test_aligned_columns_stay_aligned_when_spaces_allow():
    (root,) = fstab.parse(read("fstab-10.txt")).find("/")
    dump_column = root.text.index("0       1")
    shorter = root.with_options(["errors=remount-ro", "noatime"])
    assert shorter.index("0       1") == dump_column
    longer = root.with_options(list(root.options) + ["noatime"])  # 8 characters longer, the gap was 6
    assert "user_xattr,noatime 0       1" in longer  # the gap shrinks to one blank, never to none


def test_single_space_separators_stay_single():
    (root,) = fstab.parse(read("fstab-08.txt")).find("/")
    assert root.with_options(["rw", "noatime"]) == root.raw.replace("rw,async,noatime 0 1", "rw,noatime 0 1")


def test_crlf_file_round_trips_and_edits_keep_crlf():
    text = read("fstab-02.txt").replace("\n", "\r\n")
    document = fstab.parse(text)
    assert fstab.render(document) == text
    lf = fstab.parse(read("fstab-02.txt"))
    assert [(e.spec, e.file, e.options, e.dump, e.pass_) for e in document.entries] == [
        (e.spec, e.file, e.options, e.dump, e.pass_) for e in lf.entries]
    (root,) = document.find("/")
    assert root.ending == "\r\n" and root.with_options(["defaults", "noatime"]).endswith(" 0       1\r\n")


def test_missing_final_newline_round_trips_and_the_last_line_stays_without_one():
    text = read("fstab-04.txt")
    assert text.endswith("\n")
    text = text[:-1]
    document = fstab.parse(text)
    assert fstab.render(document) == text
    last = document.lines[-1]
    assert isinstance(last, FstabEntry) and last.ending == ""
    new_text = document.replace_options(last, ["rw", "nosuid"])
    assert new_text == text.replace("rw,nodev,nosuid,size=16G 0 0", "rw,nosuid 0 0")


def test_octal_escapes_are_decoded_in_values_and_kept_raw_in_the_text():
    # fstab(5): a space in a mount point is written \040; libmount decodes \011 \012 \134 alike.
    line = "LABEL=SSD\\040data /mnt/SSD\\040data\\011tab\\134back ext4 noatime,x-gvfs-name=My\\040SSD 0 2\n"
    (entry,) = fstab.parse(line).entries
    assert entry.spec == "LABEL=SSD data"
    assert entry.file == "/mnt/SSD data\ttab\\back"
    assert entry.options == ("noatime", "x-gvfs-name=My SSD")
    assert entry.tokens[1] == "/mnt/SSD\\040data\\011tab\\134back"
    assert fstab.parse(line).find("/mnt/SSD data\ttab\\back") == (entry,)
    # the unchanged option keeps its raw spelling, the new one is escaped
    assert entry.with_options(["x-gvfs-name=My SSD", "commit=600", "x-note=a b"]) == (
        "LABEL=SSD\\040data /mnt/SSD\\040data\\011tab\\134back ext4 "
        "x-gvfs-name=My\\040SSD,commit=600,x-note=a\\040b 0 2\n")
    assert entry.with_options(entry.options) == line


def test_quoted_option_values_keep_their_commas():
    (entry,) = fstab.parse('/dev/sdb1 /srv ext4 context="system_u:object_r:tmp_t:s0:c127,c456",noatime 0 2\n').entries
    assert entry.options == ('context="system_u:object_r:tmp_t:s0:c127,c456"', "noatime")


def test_lines_mount_cannot_read_are_kept_verbatim_with_a_reason():
    text = (
        "/dev/sda1 /\n"  # 2 fields
        "/dev/sda2 /a ext4 defaults 0 2 extra\n"  # 7 fields
        "/dev/sda3 /b ext4 defaults zero 2\n"  # dump not a number
        "/dev/sda4 /c ext4 defaults 0 ²\n"  # a digit Python's int() would take, libmount would not
        "   \t \n"
        "\t# indented comment\n"
    )
    document = fstab.parse(text)
    assert fstab.render(document) == text
    kinds = [type(line) for line in document.lines]
    assert kinds == [UnparsedLine] * 4 + [BlankLine, CommentLine]
    assert [line.reason for line in document.unparsed] == [
        "2 fields, an entry needs 4 to 6",
        "7 fields, an entry has at most 6",
        "dump field 'zero' is not a number",
        "pass field '²' is not a number",
    ]
    assert document.entries == ()


def test_replace_options_refuses_what_is_not_an_entry():
    document = fstab.parse(read("fstab-02.txt"))
    with pytest.raises(ValueError, match="not a mount entry"):
        document.replace_options(1, ["noatime"])
    with pytest.raises(ValueError, match="no line"):
        document.replace_options(999, ["noatime"])
    (root,) = document.find("/")
    with pytest.raises(ValueError, match="cannot be empty"):
        root.with_options([])
    (stale,) = fstab.parse(document.replace_options(root, ["defaults"])).find("/")
    with pytest.raises(ValueError, match="stale"):
        document.replace_options(stale, ["noatime"])


def test_empty_text_is_an_empty_fstab():
    assert fstab.parse("").lines == () and fstab.render(fstab.parse("")) == ""


# --- properties ------------------------------------------------------------------------------


@settings(max_examples=400)
@given(st.text())
def test_any_text_round_trips_byte_for_byte(text):
    assert fstab.render(fstab.parse(text)) == text


@settings(max_examples=200)
@given(st.text(alphabet=st.sampled_from(" \t\r\n#,=\\0123/abcUID\"")))
def test_any_fstab_like_text_round_trips(text):
    assert fstab.render(fstab.parse(text)) == text


_blanks = st.text(alphabet=" \t", min_size=1, max_size=4)
_field = st.text(alphabet=st.characters(blacklist_characters=" \t\n\r#", blacklist_categories=("Cs",)),
                 min_size=1, max_size=12)
_option = st.text(alphabet=st.characters(blacklist_characters=',"', blacklist_categories=("Cs",)),
                  min_size=1, max_size=10)


@st.composite
def fstab_lines(draw):
    fields = [draw(_field) for _ in range(3)] + [draw(_field)] + [
        str(draw(st.integers(0, 9))) for _ in range(draw(st.integers(0, 2)))]
    gaps = [draw(st.sampled_from(["", " ", "\t"]))] + [draw(_blanks) for _ in fields[1:]] + [
        draw(st.sampled_from(["", " ", "  \t"]))]
    text = gaps[0] + "".join(f + g for f, g in zip(fields, gaps[1:]))
    return text + draw(st.sampled_from(["\n", "\r\n", ""]))


@settings(max_examples=300)
@given(fstab_lines(), st.lists(_option, min_size=1, max_size=5))
def test_new_options_read_back_and_nothing_else_moves(line, options):
    document = fstab.parse("# head\n" + line if line.endswith("\n") else line)
    entry = document.entries[-1]
    new_line = entry.with_options(options)
    (reparsed,) = fstab.parse(new_line).entries
    assert reparsed.options == tuple(options)
    assert reparsed.tokens[:3] == entry.tokens[:3] and reparsed.tokens[4:] == entry.tokens[4:]
    assert reparsed.gaps[:4] == entry.gaps[:4] and reparsed.ending == entry.ending
