"""ceph.conf: real files round-trip byte for byte, read as Ceph reads them, and edit one line."""

from __future__ import annotations

import difflib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, read_toml
from ssdwizard.parsers import ParseError, cephconf, cephdump
from ssdwizard.parsers.cephconf import CommentLine, InvalidLine, SectionHeader, Setting

CEPH = FIXTURES / "cephconf"
LABELS = read_toml(CEPH / "labels.toml")["ceph-conf"]
ALL = sorted(path.name for path in CEPH.glob("*.txt"))


def read(name: str) -> str:
    return (CEPH / name).read_bytes().decode("utf-8")


def changed_lines(before: str, after: str) -> list[str]:
    diff = difflib.unified_diff(before.splitlines(True), after.splitlines(True), n=0)
    return [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]


# ------------------------------------------------------------------ real files


@pytest.mark.parametrize("name", ALL)
def test_every_fixture_round_trips_byte_for_byte(name):
    text = read(name)
    assert cephconf.render(cephconf.parse(text)) == text


@pytest.mark.parametrize("name", sorted(LABELS))
def test_rbd_settings_match_the_corpus_labels(name):
    label = LABELS[name]
    document = cephconf.parse(read(f"{name}.txt"))
    assert document.problems == ()
    found = {
        option: value.raw for option, value in cephconf.effective(document).items() if value.setting is not None
    }
    assert found == label["rbd"]
    sections = {value.section for value in cephconf.effective(document).values() if value.setting is not None}
    assert sections == (set() if label["rbd_section"] == "none" else {label["rbd_section"]})
    if "client_keyring" in label:
        assert document.get("client", "keyring").value == label["client_keyring"]


def test_spaced_keys_normalise_like_ceph():
    # ceph-conf-08 is the PVE 5 layout: "auth client required", tab + space indentation.
    document = cephconf.parse(read("ceph-conf-08.txt"))
    assert document.get("global", "auth_client_required").value == "cephx"
    assert document.get("global", "osd journal size").raw_key == "\t osd journal size "
    assert document.sections == ("global", "osd", "mon.node1", "mon.node3", "mon.node2")
    assert document.get("mon.node3", "mon addr").value == "192.168.1.4:6789"


def test_comments_inside_sections_and_client_crash_is_not_client():
    document = cephconf.parse(read("ceph-conf-10.txt"))
    assert sum(isinstance(line, CommentLine) for line in document.lines) == 4
    assert document.get("client", "keyring").value == "/etc/pve/priv/$cluster.$name.keyring"
    assert document.get("client.crash", "keyring").value == "/etc/pve/ceph/$cluster.$name.keyring"
    assert document.section_settings("mon.pve01") == ()
    assert document.get("global", "mon_host").value == "192.168.202.121 192.168.202.179"


def test_msgr2_bracket_value_is_a_value_not_a_section():
    document = cephconf.parse(read("ceph-conf-06.txt"))
    assert document.get("global", "mon_host").value == "[v2:100.64.163.40:3300/0,v1:100.64.163.40:6789/0]"


# ------------------------------------------------------------------ Ceph's parser rules
# The next inputs are Ceph's own test strings from src/test/confutils.cc (simple_conf_2, conf3,
# escaping_conf_1/2, illegal_conf2/3/4, dup_key_config_1), so the expected values are Ceph's.

CEPH_SIMPLE_CONF_2 = (
    "[mds.a]\n\tlog dir = special_mds_a\n[mds]\n\tlog sym history = 100\n"
    "\tlog dir = out # after a comment, anything # can ### happen ;;; right?\n"
    "\tlog per instance = true\n        profiling logger = true\n"
    "\tprofiling                 logger dir = log\n\tchdir = \"\"\n        pid file\t=\tfoo2\n"
    "[osd0]\n        keyring   =       osd_keyring          ; osd's keyring\n\n           \n"
    "[global]\n\t# I like pound signs as comment markers.\n"
    "\t; Do you like pound signs as comment markers?\n"
    "        keyring = shenanigans          ; The keyring of a leprechaun\n\n"
    "\t# Let's just have a line with a lot of whitespace and nothing else.\n"
    "                         \n        lockdep = 1\n"
)


def test_ceph_simple_conf_2():
    document = cephconf.parse(CEPH_SIMPLE_CONF_2)
    assert document.render() == CEPH_SIMPLE_CONF_2
    assert document.problems == ()
    assert document.get("osd0", "keyring").value == "osd_keyring"
    assert document.get("mds", "pid file").value == "foo2"
    assert document.get("mds", "log dir").value == "out"
    assert document.get("mds", "profiling logger dir").value == "log"
    assert document.get("mds", "chdir").value == ""
    assert document.get("global", "keyring").value == "shenanigans"


def test_ceph_line_continuations():
    text = (
        "[global]\n\tlog file = /quite/a/long/path\\\n/for/a/log/file\n"
        "\tpid file = \\\n                           spork\\\n\n[mon] #nothing here \n"
    )
    document = cephconf.parse(text)
    assert document.render() == text
    assert document.get("global", "log file").value == "/quite/a/long/path/for/a/log/file"
    assert document.get("global", "pid file").value == "spork"
    assert document.get("global", "pid file").last_number == 6  # "spork\\" joins the empty line 6
    assert document.sections == ("global", "mon")
    assert document.problems == ()


def test_ceph_escapes_and_quotes():
    text = (
        '[global]\n\tlog file = the \\"scare quotes\\"\n\tpid file = a \\\npid file\n'
        '[mon]\n\tkeyring = "nested \\"quotes\\""\n'
    )
    document = cephconf.parse(text)
    assert document.get("global", "log file").value == 'the "scare quotes"'
    assert document.get("global", "pid file").value == "a pid file"
    assert document.get("mon", "keyring").value == 'nested "quotes"'
    other = cephconf.parse('[apple \\]\\[]\n\tlog file = floppy disk\n[mon]\n\tkeyring = "backslash\\\\"\n')
    assert other.sections == ("apple ][", "mon")
    assert other.get("mon", "keyring").value == "backslash\\"


@pytest.mark.parametrize(
    "text, line",
    [
        ("[global\n\tlog file = foo\n[osd0]\n        keyring = osd_keyring          ; osd's keyring\n", 1),
        ("[global]\n        who_what_where\n[osd0]\n        keyring = osd_keyring          ; osd's keyring\n", 2),
        ('[global]\n        keyring = "unterminated quoted string\n[osd0]\n        keyring = osd_keyring\n', 2),
        ("[global]\n  [osd]\n\tx = 1\n", 2),
        ('[global]\n\tx = "a" b\n', 2),
        ("[global]\n\tx = 1", 2),
    ],
)
def test_what_ceph_rejects_is_listed_and_kept(text, line):
    document = cephconf.parse(text)
    assert document.render() == text
    assert document.problems and document.problems[0][0] == line


# ------------------------------------------------------------------ files Ceph refuses
# tests/fixtures/cephconf/refused/: ceph-conf-02 (pveceph init) with two rbd lines, then one break
# each, hand-derived (see SOURCES.md there). The door decodes undecodable bytes as U+FFFD.

REFUSED = CEPH / "refused"


def read_refused(name: str) -> str:
    return (REFUSED / name).read_bytes().decode("utf-8", errors="replace")


def test_the_base_of_the_refused_files_is_read():
    document = cephconf.parse(read_refused("accepted-base.conf"))
    assert document.refusal is None and document.problems == ()
    assert cephconf.effective(document)["rbd_cache_size"].value == 64 << 20


@pytest.mark.parametrize(
    "name, line, words",
    [
        ("no-final-newline.conf", 15, "does not end with a newline"),
        ("invalid-utf8.conf", 11, "not valid UTF-8"),
        ("indented-header.conf", 12, "header is indented"),
        ("text-after-quote.conf", 15, "text after the closing quote: 'M'"),
        ("no-equals.conf", 14, "no '='"),
    ],
)
def test_each_form_ceph_refuses_names_its_line(name, line, words):
    text = read_refused(name)
    document = cephconf.parse(text)
    assert document.render() == text
    assert document.refusal is not None
    number, reason = document.refusal
    assert (number, words in reason) == (line, True), document.refusal
    assert document.problems == (document.refusal,)  # one break, one problem


def test_the_utf8_check_comes_before_the_grammar():
    # Ceph runs check_utf8 on the whole buffer before parsing: a later bad byte is what it reports,
    # not the earlier line without '='.
    document = cephconf.parse("[global]\n\tfoo\n# caf\ufffd\n")
    assert document.refusal == (3, "bytes that are not valid UTF-8; Ceph checks the whole file first and rejects it")
    assert [n for n, _ in document.problems] == [3, 2]
    # check_utf8 also refuses the noncharacters U+FFFE/U+FFFF and surrogates (surrogateescape).
    assert cephconf.parse("[global]\nx = \ufffe\n").refusal[0] == 2
    assert cephconf.parse("[global]\nx = \udce9\n").refusal[0] == 2


def test_valid_utf8_is_accepted():
    # ceph-conf-10 has a Cyrillic comment (valid UTF-8, two bytes a letter).
    text = read("ceph-conf-10.txt")
    assert any(ord(ch) > 127 for ch in text)
    assert cephconf.parse(text).refusal is None


@pytest.mark.parametrize(
    "text",
    [
        # ceph-conf-04: comment lines and empty lines before the first header.
        "# You must place the following entries \n# if you want\n\n\n[client]\nrbd_cache = true\n",
        # An indented comment before the first header (the skipper takes blanks before '#').
        "   ; note\n[global]\nx = 1\n",
        # Lines of blanks inside a section, after a header and after a setting.
        "[global]\n   \n\tx = 1\n \t \n[client]\n\ty = 2\n",
        # Quoted values, with a comment after them; an empty quoted value.
        "[client]\n\tkeyring = \"/etc/pve/priv/$cluster.$name.keyring\"   # quoted\n\tx = ''\n",
        # The last line a comment without a newline: the skipper takes it before the end.
        "[global]\n\tx = 1\n# the end",
        # A header with a comment after it; a continued value.
        "[global] ; main\n\tlog file = /a\\\n/b\n",
        # One setting on line 1 and nothing else but blank and comment lines (filed under [global]).
        "log dir = barfoo\n   \n# c\n",
        "",
    ],
)
def test_accepted_edge_cases(text):
    assert cephconf.parse(text).refusal is None


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("  \n[global]\nx = 1\n", 1, "a line of blanks before the first [section]"),
        ("# c\n\t\n[global]\n", 2, "a line of blanks before the first [section]"),
        ("\nlog dir = barfoo\n", 2, "before the first [section]"),   # a lone setting not on line 1
        ("# c\nlog dir = barfoo\n", 2, "before the first [section]"),
        ("log dir = barfoo\n[global]\n", 1, "before the first [section]"),
        ("[global]\n\tx = 1\n[client]", 3, "does not end with a newline"),
        ("[global]\n\tx = 1 # comment", 2, "does not end with a newline"),
        ("[global]\n\tx = 1\n   ", 3, "does not end with a newline"),
        ("[global] x\n", 1, "text after the section header"),
        ("[client]\n\tkeyring = 'k' ; c\n\tx = \"1\" 2\n", 3, "text after the closing quote"),
    ],
)
def test_more_forms_ceph_refuses(text, line, words):
    document = cephconf.parse(text)
    assert document.render() == text
    assert document.refusal is not None and document.refusal[0] == line and words in document.refusal[1]


def test_blanks_inside_the_brackets_are_accepted_but_noted():
    document = cephconf.parse("[ client ]\n\trbd cache size = 64M\n")
    assert document.refusal is None
    assert document.notes == ((1, "the section name ' client ' has blanks inside the brackets; Ceph keeps them, "
                                  "so this is not the section [client]"),)
    assert cephconf.effective(document)["rbd_cache_size"].setting is None


def test_last_occurrence_wins_and_repeated_sections_merge():
    document = cephconf.parse("[mds.a]\n        log_file = 1\n        log_file = 3\n[client]\nx = 1\n[mds.a]\ny = 2\n")
    assert document.get("mds.a", "log file").value == "3"
    assert document.get("mds.a", "log file").number == 3
    assert [s.key for s in document.section_settings("mds.a")] == ["log_file", "log_file", "y"]


def test_lone_setting_without_section_is_global():
    # confutils.cc trivial_conf_3: "log dir = barfoo\n" reads as [global] log dir.
    assert cephconf.parse("log dir = barfoo\n").get("global", "log dir").value == "barfoo"
    assert cephconf.parse('log dir = "barbaz"\n').get("global", "log_dir").value == "barbaz"
    two = cephconf.parse("a = 1\nb = 2\n")
    assert two.get("global", "a") is None and len(two.problems) == 2


# ------------------------------------------------------------------ effective values


CLUSTER = """[global]
\trbd cache size = 16M
\trbd_cache = false
[client]
\trbd_cache = true
\trbd cache max dirty = 24MiB   ; comment
\trbd-cache-target-dirty = 8M
[client.admin]
\trbd_cache_size = 64 MB
\trbd_cache_max_dirty_age = 2
"""


def test_effective_follows_ceph_precedence_and_reports_the_line():
    values = cephconf.effective(cephconf.parse(CLUSTER))
    assert values["rbd_cache"].value is True and values["rbd_cache"].section == "client"
    assert values["rbd_cache"].line == 5
    assert values["rbd_cache_max_dirty"].value == 24 * 2**20
    assert values["rbd_cache_max_dirty_age"].value == 2.0
    # [client.admin] has the key, so Ceph stops there even though the value is invalid:
    # the default applies, not [global]'s 16M.
    assert values["rbd_cache_size"].section == "client.admin"
    assert values["rbd_cache_size"].value is None and "unit" in values["rbd_cache_size"].error
    # Dashes are not normalised in a file: Ceph never reads this line.
    assert values["rbd_cache_target_dirty"].setting is None
    ignored = cephconf.ignored_settings(cephconf.parse(CLUSTER))
    assert [(s.number, s.option) for s in ignored] == [(7, "rbd_cache_target_dirty")]
    other = cephconf.effective(cephconf.parse(CLUSTER), client_name="client.vmuser")
    assert other["rbd_cache_size"].value == 16 * 2**20 and other["rbd_cache_size"].section == "global"


@pytest.mark.parametrize(
    "text, value",
    [
        ("67108864", 67108864), ("64M", 64 << 20), ("64Mi", 64 << 20), ("64MB", 64 << 20),
        ("64MiB", 64 << 20), ("64K", 64 << 10), ("1G", 1 << 30), ("512B", 512), ("0", 0), ("+5", 5),
    ],
)
def test_sizes_as_strict_iecstrtoll(text, value):
    assert cephconf.parse_size(text) == value


@pytest.mark.parametrize("text", ["", "64 MB", "64m", "64k", "1.5G", "-1", "64MiBs", "64Bi", "64iB", "M", "64X", "16E"])
def test_sizes_ceph_rejects(text):
    with pytest.raises(ParseError):
        cephconf.parse_size(text)


@pytest.mark.parametrize(
    "text, value",
    [("true", True), ("TRUE", True), ("False", False), ("1", True), ("0", False), ("2", True), ("-1", True)],
)
def test_booleans_as_strict_strtob(text, value):
    assert cephconf.parse_bool(text) is value


@pytest.mark.parametrize("text", ["yes", "no", "on", "", "1.0", "truee"])
def test_booleans_ceph_rejects(text):
    with pytest.raises(ParseError):
        cephconf.parse_bool(text)


def test_numbers_and_durations():
    assert cephconf.parse_float("2") == 2.0
    assert cephconf.parse_float("0.5") == 0.5
    assert cephconf.parse_float("1e1") == 10.0
    for bad in ("2s", "", "1_0", "one"):
        with pytest.raises(ParseError):
            cephconf.parse_float(bad)
    assert cephconf.parse_uint("5K") == 5000
    with pytest.raises(ParseError):
        cephconf.parse_uint("5B")
    assert cephconf.parse_value("rbd_cache_policy", "writeback") == "writeback"
    with pytest.raises(ParseError):
        cephconf.parse_value("rbd_cache_policy", "fast")


# ------------------------------------------------------------------ editing


@pytest.mark.parametrize("name", ALL)
def test_setting_a_new_client_key_adds_exactly_one_line(name):
    text = read(name)
    document = cephconf.parse(text)
    new = document.with_value("client", "rbd_cache_size", "67108864")
    changes = changed_lines(text, new)
    after = cephconf.parse(new)
    assert cephconf.effective(after)["rbd_cache_size"].value == 67108864
    if "client" in document.sections:
        assert len(changes) == 1 and changes[0].startswith("+") and "rbd_cache_size = 67108864" in changes[0]
    else:
        assert [c.strip() for c in changes if c.strip() != "+"] == ["+[client]", "+\trbd_cache_size = 67108864"]
    assert after.problems == ()


def test_changing_an_existing_key_keeps_its_spelling_spacing_and_comment():
    text = "[client]\r\n    rbd   cache size   =  32M   ; the guide says 64\r\n\trbd_cache = true\r\n"
    new = cephconf.set_value(cephconf.parse(text), "client", "rbd_cache_size", "64M")
    assert new == "[client]\r\n    rbd   cache size   =  64M   ; the guide says 64\r\n\trbd_cache = true\r\n"
    quoted = '[client]\n\trbd_cache = "false"\n'
    new = cephconf.set_value(cephconf.parse(quoted), "client", "rbd cache", "true")
    assert new == '[client]\n\trbd_cache = "true"\n'


def test_the_winning_duplicate_is_the_one_changed():
    text = "[client]\nrbd_cache = false\nrbd_cache = false\n"
    new = cephconf.set_value(cephconf.parse(text), "client", "rbd_cache", "true")
    assert new == "[client]\nrbd_cache = false\nrbd_cache = true\n"


def test_appending_keeps_crlf_and_repairs_a_missing_final_newline():
    text = "[global]\r\n\tfsid = x\r\n[client]\r\n  keyring = k"
    new = cephconf.set_value(cephconf.parse(text), "client", "rbd_cache", "true")
    assert new == "[global]\r\n\tfsid = x\r\n[client]\r\n  keyring = k\r\n  rbd_cache = true\r\n"


def test_a_dashed_line_is_not_changed_a_real_one_is_added():
    text = "[client]\n\trbd-cache-size = 64M\n"
    new = cephconf.set_value(cephconf.parse(text), "client", "rbd_cache_size", "64M")
    assert new == text + "\trbd_cache_size = 64M\n"


def test_edits_refuse_values_that_would_need_escaping():
    document = cephconf.parse("[client]\n")
    for bad in ("", " 64M", "a#b", "a;b", "a\nb", 'a"b'):
        with pytest.raises(ValueError):
            document.with_value("client", "rbd_cache_size", bad)


# ------------------------------------------------------------------ config dump


def test_config_dump_real_output():
    entries = cephdump.parse((CEPH / "config-dump-quattor.json").read_text())
    assert len(entries) == 25
    assert entries[0] == cephdump.ConfigEntry("global", "auth_client_required", "cephx", "advanced", False, "")
    assert {e.section for e in entries} == {"global", "mgr", "mon", "osd", "mds"}
    chosen = cephdump.for_client(entries)
    assert chosen["osd_pool_default_size"].value == "3"
    assert "mon_allow_pool_delete" not in chosen  # a [mon] option does not reach a client
    assert not any(name.startswith("rbd_cache") for name in chosen)


def test_config_dump_precedence_and_masks():
    common = '"name":"rbd_cache_size","level":"advanced","can_update_at_runtime":true'
    text = (
        f'[{{"section":"global",{common},"value":"16777216","mask":""}},'
        f'{{"section":"client",{common},"value":"67108864","mask":""}},'
        f'{{"section":"client",{common},"value":"1","mask":"host:pve2",'
        '"location_type":"host","location_value":"pve2"}]'
    )
    entries = cephdump.parse(text)
    assert cephdump.for_client(entries)["rbd_cache_size"].value == "67108864"
    assert cephdump.for_client(entries, host="pve2")["rbd_cache_size"].value == "1"


@pytest.mark.parametrize(
    "text", ["", "{}", "[1]", '[{"name":"x"}]', "not json", '[{"section":"a","name":"b","value":[1]}]']
)
def test_config_dump_rejects_other_text(text):
    with pytest.raises(ParseError):
        cephdump.parse(text)


# ------------------------------------------------------------------ properties

_CONFIG_ALPHABET = st.lists(
    st.sampled_from(list("[]=#;\\\"' \t\r\nabcK0123456789.-_") + ["rbd cache size", "[client]", "64M", "\n"]),
    max_size=40,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(_CONFIG_ALPHABET | st.text(max_size=60))
def test_any_text_round_trips_and_reading_never_crashes(text):
    document = cephconf.parse(text)
    assert document.render() == text
    document.problems
    for value in cephconf.effective(document).values():
        assert value.error is None or value.value is None
    for line in document.lines:
        if isinstance(line, (Setting, SectionHeader, InvalidLine)):
            assert line.raw in text


@settings(max_examples=300, deadline=None)
@given(_CONFIG_ALPHABET, st.sampled_from(["client", "global", "client.admin"]))
def test_an_edit_changes_only_its_own_entry(text, section):
    document = cephconf.parse(text)
    new = document.with_value(section, "rbd cache size", "64M")
    after = cephconf.parse(new)
    assert after.get(section, "rbd_cache_size").value == "64M"
    before_other = [l.raw for l in document.lines if not isinstance(l, Setting) or l.key != "rbd_cache_size"]
    after_other = [l.raw for l in after.lines if not isinstance(l, Setting) or l.key != "rbd_cache_size"]
    # Every other line survives in order; only headers/blank lines may be added (new section).
    assert all(raw in new for raw in before_other if raw.endswith("\n"))
    assert len(after_other) >= len(before_other)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20))
def test_value_parsers_raise_only_parse_error(text):
    for parser in (cephconf.parse_size, cephconf.parse_bool, cephconf.parse_float, cephconf.parse_uint):
        try:
            parser(text)
        except ParseError:
            pass


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_config_dump_raises_only_parse_error(text):
    try:
        cephdump.parse(text)
    except ParseError:
        pass
