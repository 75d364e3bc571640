"""The knowledge tables in ssdwizard/data load, every row carries a source, every pattern
compiles, and a few lookups that the steps rely on give the kernel's / drivedb's answer."""

from __future__ import annotations

import re
from fnmatch import translate
from typing import Any

import pytest

from ssdwizard.data import DATA_DIR, load_table
from ssdwizard.knowledge import firmware_warnings_for, libata_quirks_for

# table name -> the array of rows in it that must each carry a source
TABLES: dict[str, tuple[str, ...]] = {
    "flash_models": ("model",),
    "libata_quirks": ("quirk", "entry"),
    "firmware_warnings": ("warning",),
    "filesystems": ("filesystem",),
    "mount_options": ("option",),
    "schedulers": ("scheduler", "alias"),
    "wear_attributes": ("attribute",),
    "endurance": ("model",),
}

# ata_quirk_names[] in drivers/ata/libata-core.c (v6.18): the names dmesg prints
KERNEL_QUIRK_NAMES = {
    "diagnostic", "nodma", "noncq", "maxsec128", "brokenhpa", "disable", "hpasize", "ivb",
    "stuckerr", "bridgeok", "atapimod16dma", "firmwarewarn", "1.5gbps", "nosetxfer",
    "brokenfpdmaaa", "dumpid", "maxseclba48", "atapidmadir", "noncqtrim", "nolpm", "wdbrokenlpm",
    "zeroaftertrim", "nodmalog", "notrim", "maxsec1024", "maxtrim128m", "noncqonati", "nolpmonati",
    "noiddevlog", "nologdir", "nofua",
}


def rows(table: str, key: str) -> list[dict[str, Any]]:
    return load_table(table)[key]


def libata_lookup(model: str, firmware: str) -> list[str] | None:
    """The quirks the kernel applies: first entry whose globs match wins (ata_dev_quirks())."""
    entry = libata_quirks_for(model, firmware)
    return None if entry is None else list(entry.quirks)


def firmware_warnings(model: str, firmware: str) -> list[dict[str, Any]]:
    return [{"warning": w.warning, "advice": w.advice} for w in firmware_warnings_for(model, firmware)]


def test_every_row_in_every_table_file_has_a_source() -> None:
    """Also covers tables added later: every array of tables in data/*.toml needs sources."""
    stems = {path.stem for path in DATA_DIR.glob("*.toml")}
    assert set(TABLES) <= stems
    for stem in stems:
        for key, value in load_table(stem).items():
            if isinstance(value, list) and value and all(isinstance(row, dict) for row in value):
                for row in value:
                    assert str(row.get("source", "")).strip(), f"{stem}.{key}: {row}"


@pytest.mark.parametrize(("table", "key"), [(t, k) for t, keys in TABLES.items() for k in keys])
def test_rows_have_a_source(table: str, key: str) -> None:
    table_rows = rows(table, key)
    assert table_rows, f"{table}.{key} is empty"
    for row in table_rows:
        assert isinstance(row.get("source"), str) and row["source"].strip(), row


def test_libata_rows_use_kernel_names_and_known_quirks() -> None:
    described = {row["name"] for row in rows("libata_quirks", "quirk")}
    assert described <= KERNEL_QUIRK_NAMES
    for entry in rows("libata_quirks", "entry"):
        assert entry["model"] and entry["meaning"]
        assert set(entry["quirks"]) <= described, entry
        for glob in (entry["model"], entry["firmware"]):
            re.compile(translate(glob))


@pytest.mark.parametrize(("model", "firmware", "expected"), [
    ("Samsung SSD 860 EVO 500GB", "RVT04B6Q", ["noncqtrim", "zeroaftertrim", "noncqonati", "nolpmonati"]),
    ("Samsung SSD 840 EVO 250GB", "EXT0DB6Q", ["noncqtrim", "zeroaftertrim", "nodmalog"]),
    ("Samsung SSD 840 PRO Series", "DXM06B0Q", ["noncqtrim", "zeroaftertrim"]),
    ("Crucial_CT256M550SSD1", "MU01", ["noncqtrim", "zeroaftertrim"]),
    ("Crucial_CT256M550SSD1", "MU02", ["zeroaftertrim"]),
    ("Crucial_CT512MX100SSD1", "MU02", ["zeroaftertrim", "nolpm"]),
    ("Micron_M500IT_MTFDDAK240MBD", "MU01", ["noncqtrim", "zeroaftertrim"]),
    ("SAMSUNG MZ7LH960HAJR-00005", "HXT7404Q", ["noncqtrim", "zeroaftertrim", "noncqonati", "nolpmonati"]),
    ("M88V29-512GB", "", ["notrim"]),
    ("SanDisk SD8SB8U128G1122", "X4120000", ["maxtrim128m"]),
    ("INTEL SSDSC2MH120A2", "PWG2", []),
    ("INTEL SSDSC2BB480G4", "D2010355", ["zeroaftertrim"]),
    ("WDC WDS500G2B0A-00SM50", "X61130WD", None),
])
def test_libata_lookup(model: str, firmware: str, expected: list[str] | None) -> None:
    assert libata_lookup(model, firmware) == expected


def test_firmware_patterns_compile() -> None:
    for row in rows("firmware_warnings", "warning"):
        re.compile(row["model"])
        if row["firmware"]:
            re.compile(row["firmware"])
        assert row["warning"] and row["advice"]


@pytest.mark.parametrize(("model", "firmware", "hits"), [
    ("M4-CT512M4SSD2", "0009", 1),   # before 0309: 5184-hour hang
    ("M4-CT512M4SSD2", "0309", 0),   # fixed
    ("INTEL SSDSA2M040G2GC", "2CV102HD", 1),
    ("INTEL SSDSA2M080G2GC", "2CV102J8", 0),
    ("INTEL SSDSA2CW160G3", "4PC10302", 1),
    ("INTEL SSDSA2CW160G3", "4PC10362", 0),
    ("Samsung SSD 840 EVO 250GB", "EXT0BB6Q", 1),
    ("Samsung SSD 840 EVO 250GB", "EXT0DB6Q", 0),
    ("VO0480JFDGT", "HPD7", 1),
    ("VO0480JFDGT", "HPD8", 0),
    ("MO1600JVYPR", "HPD6", 1),
    ("Samsung SSD 870 EVO 1TB", "SVT02B6Q", 0),
])
def test_firmware_warning_lookup(model: str, firmware: str, hits: int) -> None:
    assert len(firmware_warnings(model, firmware)) == hits


def test_flash_model_patterns_compile() -> None:
    for row in rows("flash_models", "model"):
        re.compile(row["pattern"], re.IGNORECASE)


def test_filesystems() -> None:
    table = {row["fstype"]: row for row in rows("filesystems", "filesystem")}
    for fstype in ("ext4", "xfs", "btrfs", "f2fs", "zfs"):
        assert table[fstype]["flash_friendly"] is True
    for fstype in ("ext2", "ext3", "reiserfs"):
        assert table[fstype]["flash_friendly"] is False
        assert table[fstype]["advice"]
    assert all(isinstance(row["flash_friendly"], bool) for row in table.values())


def test_mount_options() -> None:
    verdicts = {"recommend", "prefer-alternative", "warn", "avoid"}
    table = rows("mount_options", "option")
    for row in table:
        assert row["verdict"] in verdicts, row
        assert row["fstypes"] and row["why"] and row["advice"]
    by_key = {(row["option"], fstype): row["verdict"] for row in table for fstype in row["fstypes"]}
    assert by_key[("noatime", "*")] == "recommend"
    assert by_key[("discard", "ext4")] == "prefer-alternative"
    assert by_key[("discard", "btrfs")] == "avoid"
    assert by_key[("commit=", "ext4")] == "warn"
    assert by_key[("nobarrier", "xfs")] == "avoid"


def test_schedulers() -> None:
    recommended = {(row["transport"], row["medium"]): row["recommended"] for row in rows("schedulers", "scheduler")}
    assert recommended[("nvme", "ssd")] == "none"
    assert recommended[("sata", "ssd")] == "mq-deadline"
    assert recommended[("virtio", "*")] == "none"
    aliases = {row["name"]: row["means"] for row in rows("schedulers", "alias")}
    assert aliases == {"deadline": "mq-deadline", "noop": "none", "cfq": "bfq"}
    blk_mq = {"none", "mq-deadline", "bfq", "kyber"}
    for row in rows("schedulers", "scheduler"):
        assert row["recommended"] in blk_mq and set(row["also_fine"]) <= blk_mq
