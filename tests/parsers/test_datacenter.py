"""datacenter.cfg: real files round-trip byte for byte; the migration edit changes only its lines."""

from __future__ import annotations

import difflib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import FIXTURES, read_toml
from ssdwizard.parsers import datacenter
from ssdwizard.parsers.datacenter import BlankLine, PropertyLine, UnparsedLine

DATACENTER = FIXTURES / "datacenter"
LABELS = read_toml(DATACENTER / "labels.toml")["datacenter-cfg"]
ALL = sorted(path.name for path in DATACENTER.glob("*.txt"))


def read(name: str) -> str:
    return (DATACENTER / name).read_bytes().decode("utf-8")


def changed_lines(before: str, after: str) -> list[str]:
    diff = difflib.unified_diff(before.splitlines(True), after.splitlines(True), n=0)
    return [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]


@pytest.mark.parametrize("name", ALL)
def test_every_fixture_round_trips_byte_for_byte(name):
    text = read(name)
    assert datacenter.render(datacenter.parse(text)) == text


# The corpus labels say what the file's author meant. datacenter-cfg-04's migration line has a
# blank after the comma, which pve-cluster rejects (the label's notes foresee it): Proxmox drops
# the line and migrates with its defaults. The label stays the corpus's; this test says so.
PVE_DROPS = {"datacenter-cfg-04": ("secure", None)}


@pytest.mark.parametrize("name", sorted(LABELS))
def test_migration_settings_match_the_corpus_labels(name):
    label = LABELS[name]
    document = datacenter.parse(read(f"{name}.txt"))
    assert (document.migration is not None) == label["migration_configured"]
    meant = document.migration
    if name in PVE_DROPS:
        assert meant.rejected is not None and document.effective_migration is None
        assert (meant.type, meant.network or "") == (label["migration_type"], label["migration_network"])
        assert (document.migration_type, document.migration_network) == PVE_DROPS[name]
    else:
        assert meant is None or meant.rejected is None
        assert document.migration_type == label["migration_type"]
        assert (document.migration_network or "") == label["migration_network"]
    values = document.values()
    for key in ("keyboard", "webauthn"):
        if key in label:
            assert values[key] == label[key]
    if "bwlimit_migration_kib_s" in label:
        assert values["bwlimit"] == f"migration={label['bwlimit_migration_kib_s']}"
    assert document.unparsed == ()


def test_gui_written_file_starts_with_the_empty_description_line():
    document = datacenter.parse(read("datacenter-cfg-02.txt"))
    assert isinstance(document.lines[0], BlankLine)
    assert document.migration is None and document.legacy_unsecure is None


def test_blank_after_the_comma_is_rejected_so_the_defaults_apply():
    # parse_property_string takes ' network' as the key: "invalid key in comma-separated list
    # property"; parse_config then deletes the whole migration key.
    document = datacenter.parse(read("datacenter-cfg-04.txt"))
    migration = document.migration
    assert (migration.type, migration.network) == ("insecure", "192.168.155.0/24")  # as meant
    assert len(migration.problems) == 1 and "' network'" in migration.problems[0]
    assert "' network'" in migration.rejected
    assert document.effective_migration is None
    assert (document.migration_type, document.migration_network) == ("secure", None)


def test_clean_property_string_has_no_problems():
    document = datacenter.parse(read("datacenter-cfg-06.txt"))
    assert document.migration.problems == () and document.migration.rejected is None
    assert document.effective_migration == document.migration
    assert (document.migration_type, document.migration_network) == ("insecure", "172.16.1.0/24")


@pytest.mark.parametrize(
    "name,why",
    [
        ("datacenter-cfg-04.txt", "blank around the key ' network'"),
        ("handmade-rejected-no-type.txt", "no type"),
        ("handmade-rejected-remark.txt", "a remark '# dedicated migration network'"),
    ],
)
def test_rejected_line_falls_back_to_secure_over_the_cluster_network(name, why):
    document = datacenter.parse(read(name))
    assert document.migration is not None and why in document.migration.rejected
    assert document.effective_migration is None
    assert (document.migration_type, document.migration_network) == ("secure", None)
    assert document.values()["bwlimit" if "handmade" in name else "keyboard"]  # the rest still counts


def test_remark_is_read_off_for_what_was_meant():
    migration = datacenter.parse(read("handmade-rejected-remark.txt")).migration
    assert (migration.type, migration.network) == ("insecure", "172.16.1.0/24")
    assert len(migration.problems) == 1


@pytest.mark.parametrize(
    "value",
    [
        "type=insecure,network=10.1.2.0/24",
        "insecure,network=10.1.2.0/24",  # the default key: a bare value is the type
        "network=10.1.2.0/24,type=insecure",
        "type=insecure,,network=10.1.2.0/24",  # empty parts are skipped
        "type=insecure, ,network=10.1.2.0/24",  # so are parts of blanks only
        "type=insecure,network=10.1.2.0/24,",
        "type=secure",
        "secure",
        "type=insecure,network=fd00:10::/64",
        "type=insecure,network=10.1.2.3/8",  # host bits may be set; 8 is the smallest prefix
    ],
)
def test_values_proxmox_accepts(value):
    migration = datacenter.parse_migration(value)
    assert migration.problems == () and migration.rejected is None


@pytest.mark.parametrize(
    "line",
    [
        "migration:type=insecure,network=10.1.2.0/24",
        "migration:   type=insecure,network=10.1.2.0/24",  # blanks after the colon are skipped
        "  migration: type=insecure,network=10.1.2.0/24 \t",  # the line is stripped first
        "migration:\tinsecure,network=10.1.2.0/24",
    ],
)
def test_blanks_around_the_line_and_after_the_colon_are_accepted(line):
    document = datacenter.parse(f"keyboard: de\n{line}\n")
    assert document.migration.rejected is None
    assert (document.migration_type, document.migration_network) == ("insecure", "10.1.2.0/24")


@pytest.mark.parametrize(
    "value,why",
    [
        ("network=10.1.2.0/24", "no type"),
        ("type=insecure, network=10.1.2.0/24", "blank around the key"),
        ("type=insecure ,network=10.1.2.0/24", "blank around the value"),
        ("type= insecure", "blank around the value"),
        ("type =insecure", "blank around the key"),
        ("type=insecure,network=10.1.2.0/24 # ring 1", "a remark"),
        ("insecure # no ssh", "a remark"),
        ("type=insecure,network=10.0.0.0/7", "not a CIDR"),
        ("type=insecure,network=10.1.2.0/24/1", "not a CIDR"),
        ("insecure,secure", "duplicate key"),
    ],
)
def test_values_proxmox_rejects_say_why(value, why):
    migration = datacenter.parse_migration(value)
    assert migration.rejected is not None and why in migration.rejected


def test_rejected_line_leaves_the_deprecated_key_in_charge():
    # parse_datacenter_config: with migration dropped, migration->{type} is undefined, so
    # migration_unsecure fills in; no "Ignore 'migration_unsecure'" warning.
    document = datacenter.parse("migration_unsecure: 1\nmigration: type=secure, network=10.1.2.0/24\n")
    assert document.migration.rejected is not None
    assert (document.migration_type, document.migration_network) == ("insecure", None)
    assert not document.legacy_ignored


def test_deprecated_key_alone_means_insecure():
    document = datacenter.parse(read("notes-datacenter-migration-unsecure.txt"))
    assert document.migration is None
    assert document.legacy_unsecure is True and document.legacy_ignored is False
    assert document.migration_type == "insecure" and document.migration_network is None


def test_migration_type_wins_over_the_deprecated_key():
    document = datacenter.parse("migration_unsecure: 1\nmigration: type=secure\n")
    assert document.migration_type == "secure" and document.legacy_ignored


def test_deprecated_key_fills_in_when_migration_sets_no_type():
    # pve-cluster only ignores migration_unsecure when migration has a type; a migration value
    # without one is rejected whole (type is required), so its network goes too.
    document = datacenter.parse("migration: network=10.1.0.0/24\nmigration_unsecure: yes\n")
    assert document.migration_type == "insecure" and not document.legacy_ignored
    assert document.migration_network is None


def test_default_key_form_is_the_type():
    migration = datacenter.parse_migration("insecure,network=10.0.0.0/24")
    assert (migration.type, migration.network, migration.problems) == ("insecure", "10.0.0.0/24", ())


@pytest.mark.parametrize(
    "value",
    ["type=fast", "network=10.0.0.0", "network=nonsense/8", "speed=1", "type=secure,type=insecure", "=x"],
)
def test_values_proxmox_rejects_are_flagged(value):
    assert datacenter.parse_migration(value).problems
    assert datacenter.parse_migration(value).rejected


def test_edit_rewrites_the_migration_line_in_place():
    before = read("datacenter-cfg-06.txt")
    after = datacenter.parse(before).with_migration("insecure", "10.20.0.0/24")
    assert changed_lines(before, after) == [
        "-migration: type=insecure,network=172.16.1.0/24\n",
        "+migration: type=insecure,network=10.20.0.0/24\n",
    ]


def test_edit_fixes_the_blank_after_the_comma_and_nothing_else():
    before = read("datacenter-cfg-04.txt")
    document = datacenter.parse(before)
    after = document.with_migration("insecure", document.migration.network)  # what was meant
    assert changed_lines(before, after) == [
        "-migration: type=insecure, network=192.168.155.0/24\n",
        "+migration: type=insecure,network=192.168.155.0/24\n",
    ]
    fixed = datacenter.parse(after)
    assert fixed.migration.rejected is None
    assert (fixed.migration_type, fixed.migration_network) == ("insecure", "192.168.155.0/24")


def test_edit_appends_when_there_is_no_migration_line():
    before = read("datacenter-cfg-02.txt")
    after = datacenter.parse(before).with_migration("insecure", "192.168.86.0/24")
    assert after == before + "migration: type=insecure,network=192.168.86.0/24\n"


def test_edit_replaces_the_deprecated_key_where_it_stood():
    before = read("notes-datacenter-migration-unsecure.txt")
    after = datacenter.parse(before).with_migration("insecure", "10.0.2.0/24")
    assert after == "migration: type=insecure,network=10.0.2.0/24\n"


def test_edit_removes_every_deprecated_line_and_keeps_the_rest():
    before = "# notes\r\nkeyboard: de\r\nmigration_unsecure: 1\r\n  migration:\tinsecure  \r\nmigration_unsecure: 0"
    after = datacenter.parse(before).with_migration("insecure", "10.9.0.0/16")
    assert after == "# notes\r\nkeyboard: de\r\n  migration:\ttype=insecure,network=10.9.0.0/16  \r\n"
    assert datacenter.parse(after).migration_type == "insecure"


def test_edit_gives_a_missing_final_newline_before_appending():
    after = datacenter.parse("keyboard: de").with_migration("secure", None)
    assert after == "keyboard: de\nmigration: type=secure\n"


@pytest.mark.parametrize("kind,network", [("fast", None), ("insecure", "10.0.0.0"), ("insecure", "10.0.0.0/24,x=1")])
def test_edit_refuses_values_proxmox_would_reject(kind, network):
    with pytest.raises(ValueError):
        datacenter.parse("").with_migration(kind, network)


def test_lines_proxmox_ignores_are_kept_as_unparsed():
    document = datacenter.parse("keyboard de\nmigration: secure\n")
    assert isinstance(document.lines[0], UnparsedLine)
    assert isinstance(document.lines[1], PropertyLine) and document.migration_type == "secure"


def test_later_line_wins():
    document = datacenter.parse("migration: type=secure\nmigration: type=insecure\n")
    assert document.migration_type == "insecure" and document.get("migration").number == 2


@given(st.text(max_size=300))
def test_any_text_round_trips_and_never_raises(text):
    document = datacenter.parse(text)
    assert document.render() == text
    document.migration_type, document.migration_network, document.legacy_ignored
    if document.migration is not None and document.migration.rejected:
        assert document.migration_network is None
    after = document.with_migration("insecure", "10.0.0.0/24")
    assert datacenter.parse(after).migration_type == "insecure"


# ---- bwlimit ------------------------------------------------------------------------------------

def test_the_real_bwlimit_line_limits_migrations_in_kib_s():
    config = datacenter.parse((FIXTURES / "datacenter" / "datacenter-cfg-06.txt").read_text())
    assert config.bwlimit == datacenter.Bwlimit({"migration": 500000.0})
    assert config.migration_bwlimit_kib_s == 500000.0


@pytest.mark.parametrize("value, expected", [
    ("default=100000", 100000.0),                   # migration falls back to default
    ("migration=2000,default=100000", 2000.0),      # its own limit wins
    ("restore=5000", None),                         # no limit for migrations
    ("migration=0", 0.0),                           # 0: no limit (the step says so)
    ("migration=1e5,,", 100000.0),                  # empty parts are skipped
])
def test_bwlimit_takes_migration_else_default(value, expected):
    assert datacenter.parse(f"bwlimit: {value}\n").migration_bwlimit_kib_s == expected


@pytest.mark.parametrize("value, problem", [
    ("500000", "no key"), ("speed=5", "unknown key"), ("migration=fast", "not a number"),
    ("migration=-1", "0 or more"), ("migration=nan", "0 or more"), ("migration=1,migration=2", "duplicate"),
])
def test_a_bwlimit_proxmox_rejects_limits_nothing(value, problem):
    config = datacenter.parse(f"bwlimit: {value}\n")
    assert config.bwlimit is not None and problem in "; ".join(config.bwlimit.problems)
    assert config.migration_bwlimit_kib_s is None
