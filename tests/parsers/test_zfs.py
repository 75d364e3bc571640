"""OpenZFS output and Debian's periodic trim: real pastes and the real scripts (see SOURCES.md)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import FIXTURES
from ssdwizard.parsers import ParseError, zfs
from ssdwizard.parsers.zfs import PeriodicTrimInput

ZFS = FIXTURES / "zfs"
GIB = 1 << 30


def read(name: str) -> str:
    return (ZFS / name).read_bytes().decode("utf-8")


# ------------------------------------------------------------------ zpool get


def test_zpool_get_tab_form_gives_exact_bytes():
    pools = zfs.parse_zpool_get(read("zpool-get-Hp-all-krystal-go-zfs.tsv"))
    assert list(pools) == ["my-test-pool"]
    pool = pools["my-test-pool"]
    assert (pool.health, pool.autotrim, pool.ashift) == ("ONLINE", False, 0)
    assert (pool.size_bytes, pool.allocated_bytes, pool.free_bytes) == (352321536, 34917580, 317718528)
    assert pool.exact_sizes is True
    assert pool.get("fragmentation") == "27%"
    assert pool.properties[-1] == zfs.ZpoolProperty("feature@async_destroy", "enabled", "local")
    assert len(pool.properties) == 19
    # Not printed, so None: not "auto", not "off".
    assert pool.periodic_trim is None and pool.periodic_scrub is None


def test_zpool_get_tab_form_several_pools():
    pools = zfs.parse_zpool_get(read("zpool-get-Hp-list-krystal-go-zfs.tsv"))
    assert list(pools) == ["my-test-pool", "my-other-pool", "test-pool2"]
    assert pools["my-other-pool"].health == "DEGRADED"
    assert pools["test-pool2"].size_bytes == 10737418240
    # Only size, capacity, health, guid were asked for: the rest is None, not a default.
    assert pools["test-pool2"].autotrim is None and pools["test-pool2"].ashift is None


def test_zpool_get_table_form_converts_nicenum_sizes():
    pools = zfs.parse_zpool_get(read("zpool-get-all-otus-vagrant.txt"))
    otus = pools["otus"]
    assert (otus.health, otus.autotrim, otus.ashift) == ("ONLINE", False, 0)
    assert otus.size_bytes == 480 * (1 << 20)
    assert otus.free_bytes == 478 * (1 << 20)
    assert otus.allocated_bytes == round(2.09 * (1 << 20))
    assert otus.exact_sizes is False
    assert otus.get("guid") == "6554193320433390805"
    assert otus.get("feature@zstd_compress") == "disabled"
    assert otus.values["altroot"] == "-"
    assert [p.source for p in otus.properties[:3]] == ["-", "-", "default"]


def test_zpool_get_user_properties_and_locale_comma():
    # The user-property rows and the comma decimal are inline: a Debian user property on a
    # pool (OpenZFS >= 2.2) and the "1,81T" of openzfs/zfs#10229's de_DE paste.
    text = (
        "NAME      PROPERTY                  VALUE  SOURCE\n"
        "datapool  size                      1,81T  -\n"
        "datapool  autotrim                  on     local\n"
        "datapool  org.debian:periodic-trim  enable local\n"
        "datapool  org.debian:periodic-scrub -      -\n"
    )
    pool = zfs.parse_zpool_get(text)["datapool"]
    assert pool.autotrim is True
    assert pool.periodic_trim == "enable"
    assert pool.periodic_scrub is None
    assert pool.size_bytes == round(1.81 * (1 << 40))


@pytest.mark.parametrize("text", ["", "\n\n", "no pools available\n", "NAME  PROPERTY  VALUE  SOURCE\n"])
def test_zpool_get_empty_outputs(text):
    assert zfs.parse_zpool_get(text) == {}


@pytest.mark.parametrize(
    "text",
    ["cannot open 'tank': no such pool\n", "<html><body>502</body></html>", "a\tb\n"],
)
def test_zpool_get_garbage_is_a_parse_error(text):
    with pytest.raises(ParseError):
        zfs.parse_zpool_get(text)


def test_zpool_get_truncated_tab_capture_keeps_complete_rows():
    text = read("zpool-get-Hp-all-krystal-go-zfs.tsv")
    cut = text[: text.index("autotrim") + 5]  # "...\tload_guid\t…\t-\nmy-test-pool\tautot"
    pool = zfs.parse_zpool_get(cut)["my-test-pool"]
    assert pool.autotrim is None
    assert pool.get("load_guid") == "6932209575452951892"


# ------------------------------------------------------------------ zpool status


def test_status_t_annotations_and_special_section():
    pools = zfs.parse_zpool_status(read("zpool-status-t-zedhook-special.txt"))
    status = pools["test"]
    # The paste's pool: line and tree root disagree (edited by its author); both are kept.
    assert status.config_root == "primary"
    assert status.state == "ONLINE"
    assert status.scan == "scrub repaired 0B in 03:49:05 with 0 errors on Sun Apr  3 05:49:29 2022"
    assert status.errors == "No known data errors"
    assert status.groups == ("mirror-0", "mirror-1", "mirror-2")
    hdd = status.leaves[0]
    assert hdd.name == "/dev/disk/by-id/ata-ST18000NM000J-2TV103_00000000-part1"
    assert (hdd.group, hdd.section, hdd.state) == ("mirror-0", None, "ONLINE")
    assert (hdd.read_errors, hdd.write_errors, hdd.checksum_errors, hdd.slow_ios) == (0, 0, 0, 0)
    assert (hdd.trim_state, hdd.trim_percent, hdd.trim_when) == ("unsupported", None, None)
    assert hdd.remark == "(uninitialized)  (trim unsupported)"
    ssd = status.leaves[-1]
    assert (ssd.group, ssd.section) == ("mirror-2", "special")
    assert (ssd.trim_state, ssd.trim_percent) == ("complete", 100)
    assert ssd.trim_when == "Mon 04 Apr 2022 12:00:46 AM EDT"
    assert [leaf.section for leaf in status.leaves] == [None] * 4 + ["special"] * 2
    assert len(status.data_leaves) == 4


def test_status_t_untrimmed_file_vdev():
    status = zfs.parse_zpool_status(read("zpool-status-t-zedhook-untrimmed.txt"))["test"]
    (leaf,) = status.leaves
    assert (leaf.name, leaf.group, leaf.trim_state) == ("/home/matt/tmp/zfs.img", None, "untrimmed")
    assert status.scan.endswith("on Tue Apr  5 16:05:49 2022")


def test_status_logs_and_cache_sections():
    status = zfs.parse_zpool_status(read("zpool-status-v-ubuntuforums-logs-cache.txt"))["datapool"]
    assert status.groups == ("raidz2-0",)
    assert [leaf.group for leaf in status.data_leaves] == ["raidz2-0"] * 5
    log, cache = status.leaves[-2:]
    assert (log.name, log.section, log.group) == ("nvme-Samsung_SSD_970_EVO_2TB_S464NB0KB10521K-part2", "logs", None)
    assert (cache.name, cache.section) == ("nvme-Samsung_SSD_970_EVO_2TB_S464NB0KB10521K-part1", "cache")
    # Plain `zpool status` prints no trim annotation while no trim runs.
    assert {leaf.trim_state for leaf in status.leaves} == {None}
    assert {leaf.remark for leaf in status.leaves} == {None}


def test_status_three_pools_with_wrapped_status_and_action():
    pools = zfs.parse_zpool_status(read("zpool-status-ubuntuforums-three-pools.txt"))
    assert list(pools) == ["bpool", "hpool", "rpool"]
    bpool = pools["bpool"]
    assert bpool.status == (
        "One or more features are enabled on the pool despite not being\n"
        "requested by the 'compatibility' property."
    )
    assert bpool.action.endswith("/etc/zfs/compatibility.d or /usr/share/zfs/compatibility.d.")
    assert bpool.scan is None and pools["hpool"].status is None
    assert [leaf.name for leaf in pools["rpool"].leaves] == [
        "ata-Samsung_SSD_870_EVO_500GB_S6PXNM0W701966L-part4",
        "ata-Samsung_SSD_870_EVO_500GB_S6PXNS0W517316H-part4",
    ]
    assert all(leaf.group == "mirror-0" for pool in pools.values() for leaf in pool.leaves)


def test_status_paste_that_lost_its_indentation_still_groups_the_raidz():
    status = zfs.parse_zpool_status(read("zpool-status-flattened-paste-remnants.txt"))["Remnants"]
    assert status.state == "ONLINE"
    assert len(status.leaves) == 9
    assert {leaf.group for leaf in status.leaves} == {"raidz2-0"}
    assert status.leaves[2].name == "ata-Samsung_SSD_870_QVO_2TB_S5VWNJ0R910332E"


def test_status_trim_in_progress_forms():
    # The strings print_status_trim() formats (cmd/zpool/zpool_main.c), on lines of the
    # untrimmed fixture's shape; the dates are strftime("%c") examples.
    base = read("zpool-status-t-zedhook-untrimmed.txt")
    forms = {
        "(12% trimmed, started at Sun 10 Jan 2021 10:00:00 AM CET)": ("in_progress", 12, "Sun 10 Jan 2021 10:00:00 AM CET"),
        "(40% trimmed, suspended, started at Sun 10 Jan 2021 10:00:00 AM CET)": ("suspended", 40, "Sun 10 Jan 2021 10:00:00 AM CET"),
        "(trimming)": ("in_progress", None, None),
    }
    for annotation, expected in forms.items():
        text = base.replace("(untrimmed)", annotation)
        (leaf,) = zfs.parse_zpool_status(text)["test"].leaves
        assert (leaf.trim_state, leaf.trim_percent, leaf.trim_when) == expected


def test_status_nested_and_toplevel_vdevs_by_indent():
    # Shape of zpool_main.c output: a replacing-0 inside mirror-0, then a lone top-level disk.
    text = (
        "  pool: tank\n state: DEGRADED\nconfig:\n\n"
        "\tNAME             STATE     READ WRITE CKSUM\n"
        "\ttank             DEGRADED     0     0     0\n"
        "\t  mirror-0       DEGRADED     0     0     0\n"
        "\t    sda          ONLINE       0     0     0\n"
        "\t    replacing-1  DEGRADED     0     0     0\n"
        "\t      sdb        FAULTED      3    1K     0  too many errors\n"
        "\t      sdc        ONLINE       0     0     0  (resilvering)\n"
        "\t  sdd            ONLINE       0     0     0\n"
        "\tspares\n"
        "\t  sde            AVAIL   \n"
        "\nerrors: No known data errors\n"
    )
    status = zfs.parse_zpool_status(text)["tank"]
    by_name = {leaf.name: leaf for leaf in status.leaves}
    assert [by_name[n].group for n in ("sda", "sdb", "sdc", "sdd")] == ["mirror-0"] * 3 + [None]
    assert (by_name["sdb"].read_errors, by_name["sdb"].write_errors) == (3, 1024)
    assert by_name["sdb"].remark == "too many errors"
    assert (by_name["sde"].section, by_name["sde"].state, by_name["sde"].read_errors) == ("spares", "AVAIL", None)


@pytest.mark.parametrize("text", ["", "no pools available\n", "all pools are healthy\n"])
def test_status_empty_outputs(text):
    assert zfs.parse_zpool_status(text) == {}


def test_status_garbage_and_truncation():
    with pytest.raises(ParseError):
        zfs.parse_zpool_status("zsh: command not found: zpool\n")
    text = read("zpool-status-v-ubuntuforums-logs-cache.txt")
    cut = zfs.parse_zpool_status(text[: text.index("logs")])["datapool"]
    assert len(cut.leaves) == 5 and cut.errors is None


# ------------------------------------------------------------------ zfs get


def test_zfs_get_table_with_spaced_values_and_indent():
    props = zfs.parse_zfs_get(read("zfs-get-all-remnants-proxmox.txt"))
    remnants = props["Remnants"]
    assert remnants["creation"] == "Sat Feb 15 17:48 2025"
    assert remnants["compression"] == "lz4"
    assert remnants["special_small_blocks"] == "0"
    assert len(remnants) == 72
    (dataset,) = zfs.parse_zfs_datasets(read("zfs-get-all-remnants-proxmox.txt")).values()
    assert dataset == zfs.DatasetProperties(
        name="Remnants", type="filesystem", atime=True, relatime=True,
        recordsize_bytes=131072, volblocksize_bytes=None, compression="lz4",
    )
    assert dataset.updates_atime_on_read is False


def test_zfs_get_zvol():
    zvol = zfs.parse_zfs_datasets(read("zfs-get-all-zvol-kvm1.txt"))["zfspool/kvm1"]
    assert (zvol.type, zvol.volblocksize_bytes, zvol.recordsize_bytes) == ("volume", 8192, None)
    assert (zvol.atime, zvol.relatime, zvol.updates_atime_on_read) == (None, None, None)
    assert zfs.parse_zfs_get(read("zfs-get-all-zvol-kvm1.txt"))["zfspool/kvm1"]["creation"] == "Thu Feb  6  1:13 2014"


def test_zfs_get_tab_form():
    # Derived, not captured: the Remnants rows re-joined with tabs as `zfs get -Hp -o
    # name,property,value,source` prints them (-p turns 128K into 131072).
    text = "Remnants\ttype\tfilesystem\t-\nRemnants\trecordsize\t131072\tdefault\nRemnants\tatime\toff\tlocal\n"
    dataset = zfs.parse_zfs_datasets(text)["Remnants"]
    assert (dataset.atime, dataset.relatime, dataset.recordsize_bytes) == (False, None, 131072)
    assert dataset.updates_atime_on_read is False
    assert zfs.parse_zfs_get("Remnants\tatime\ton\n") == {"Remnants": {"atime": "on"}}


def test_zfs_get_garbage():
    assert zfs.parse_zfs_get("") == {}
    with pytest.raises(ParseError):
        zfs.parse_zfs_get("cannot open 'nope': dataset does not exist\n")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("131072", 131072), ("128K", 131072), ("0B", 0), ("-", None), ("none", None), ("1.5x", None), (None, None)],
)
def test_parse_human_size(value, expected):
    assert zfs.parse_human_size(value) == expected


# ------------------------------------------------------------------ ARC


def test_arcstats_node_exporter_fixture():
    arc = zfs.parse_arcstats(read("arcstats-node-exporter.txt"))
    assert arc.size_bytes == 1603939792
    assert arc.target_bytes == 1643208777
    assert arc.min_bytes == 33554432
    assert arc.max_bytes == 8367976448
    assert arc.values["arc_sys_free"] == 261496832
    assert len(arc.fields) == 91  # the kstat header's ndata field says 91


def test_arcstats_garbage():
    for text in ("", "cat: /proc/spl/kstat/zfs/arcstats: No such file or directory\n"):
        with pytest.raises(ParseError):
            zfs.parse_arcstats(text)


def test_zfs_arc_max():
    assert zfs.parse_zfs_arc_max(read("zfs_arc_max-16GiB.txt")) == zfs.ZfsArcMax(17179869184)
    assert zfs.parse_zfs_arc_max("0\n").is_default
    assert not zfs.parse_zfs_arc_max(read("zfs_arc_max-16GiB.txt")).is_default
    for text in ("", "-1\n", "16G\n", "١٢\n"):
        with pytest.raises(ParseError):
            zfs.parse_zfs_arc_max(text)


@pytest.mark.parametrize(
    ("ram", "version", "expected"),
    [
        (32 * GIB, (2, 2, 7), 16 * GIB),          # half of RAM
        (32 * GIB, (2, 3, 1), 31 * GIB),          # RAM - 1 GiB beats 5/8 (20 GiB)
        (2 * GIB, (2, 3, 0), 2 * GIB * 5 // 8),   # 5/8 (1.25 GiB) beats RAM - 1 GiB
        (512 << 20, (2, 3), 320 << 20),           # below 1 GiB: max(5/8, arc_c_min)
        (32 << 20, (2, 1), 32 << 20),             # tiny: the 32 MiB arc_c_min floor
    ],
)
def test_default_arc_max(ram, version, expected):
    assert zfs.default_arc_max_bytes(ram, version) == expected


# ------------------------------------------------------------------ Debian's cron and trim script


def test_cron_file_schedules():
    cron = zfs.parse_zfsutils_cron(read("cron.d-zfsutils-linux-trim-and-scrub.txt"))
    assert cron.trim_runs
    assert cron.trim.line_number == 4
    assert (cron.trim.minute, cron.trim.hour, cron.trim.day_of_month, cron.trim.user) == ("24", "0", "1-7", "root")
    assert cron.trim.weekday_test == 0
    assert cron.trim.description == "00:24 on the first Sunday of the month"
    assert cron.scrub.description == "00:24 on the second Sunday of the month"
    assert len(cron.jobs) == 2
    grep = zfs.parse_zfsutils_cron(read("cron.d-zfsutils-linux-ubuntuforums-grep.txt"))
    assert grep.trim.line_number == 3 and grep.trim.command == cron.trim.command


def test_cron_file_without_trim_line():
    cron = zfs.parse_zfsutils_cron(read("cron.d-zfsutils-linux-openzfs-788adb6-scrub-only.txt"))
    assert cron.trim is None and not cron.trim_runs
    assert cron.scrub.command.startswith("[ $(date +\\%w) -eq 0 ]")


def test_cron_trim_line_commented_out():
    text = read("cron.d-zfsutils-linux-trim-and-scrub.txt").replace("\n24 0 1-7", "\n#24 0 1-7")
    cron = zfs.parse_zfsutils_cron(text)
    assert cron.trim is not None and not cron.trim.enabled and not cron.trim_runs
    assert cron.trim.description == "00:24 on the first Sunday of the month"
    assert cron.scrub.enabled
    # "# TRIM the first Sunday of every month." is a comment, not a commented-out job.
    assert all(job.line_number != 3 for job in cron.jobs)


def test_trim_script_kinds():
    assert zfs.debian_trim_script_kind(read("debian-trim-script-pop-os-08e30d2.sh")) == "periodic-trim"
    assert zfs.debian_trim_script_kind(read("debian-trim-script-pop-os-177ce28-unconditional.sh")) == "all-pools"
    assert zfs.debian_trim_script_kind(read("cron.d-zfsutils-linux-trim-and-scrub.txt")) is None


def test_the_script_text_has_the_case_the_decision_implements():
    # If Debian changes the rule, this fixture-backed check and debian_trim_decision must change.
    script = read("debian-trim-script-pop-os-08e30d2.sh")
    assert "\t\tdisable);;\n" in script
    assert '\t\tenable)\ttrim_if_not_already_trimming "${pool}" ;;\n' in script
    assert '\t\t-|auto)\tpool_is_nvme_only "${pool}" && trim_if_not_already_trimming "${pool}" ;;\n' in script
    assert '[ "$(get_transp "$dev")" = "nvme" ] || return' in script
    assert "awk -F'\\t' '$1 == \"ONLINE\" {print $2}'" in script


@pytest.mark.parametrize(
    ("value", "nvme", "health", "trims"),
    [
        (None, False, "ONLINE", False),      # unset = auto, SATA pool: the stock-install finding
        (None, True, "ONLINE", True),
        ("-", True, "ONLINE", True),
        ("auto", False, "ONLINE", False),
        ("auto", None, "ONLINE", None),
        ("enable", False, "ONLINE", True),
        ("disable", True, "ONLINE", False),
        ("Enable", True, "ONLINE", False),   # case-sensitive: illegal value, skipped
        ("enable", True, "DEGRADED", False),
        ("enable", True, None, False),
    ],
)
def test_debian_trim_decision(value, nvme, health, trims):
    assert zfs.debian_trim_decision(value, nvme_only=nvme, health=health).trims is trims


def test_nvme_only_is_vacuous_for_no_devices():
    assert zfs.nvme_only([]) is True
    assert zfs.nvme_only(["nvme", "nvme"]) is True
    assert zfs.nvme_only(["nvme", "sata"]) is False
    assert zfs.nvme_only(["nvme", None]) is False


def test_debian_periodic_trim_pools_with_real_cron_and_scripts():
    pools = {
        "rpool": PeriodicTrimInput(periodic_trim=None, nvme_only=False, health="ONLINE"),
        "fast": PeriodicTrimInput(periodic_trim="auto", nvme_only=True, health="ONLINE"),
        "tank": PeriodicTrimInput(periodic_trim="enable", nvme_only=False, health="DEGRADED"),
    }
    cron = read("cron.d-zfsutils-linux-trim-and-scrub.txt")
    script = read("debian-trim-script-pop-os-08e30d2.sh")
    verdicts = zfs.debian_periodic_trim_pools(pools, cron_text=cron, script_text=script)
    assert {pool: v.trims for pool, v in verdicts.items()} == {"rpool": False, "fast": True, "tank": False}
    assert "not every disk is NVMe" in verdicts["rpool"].reason

    old = zfs.debian_periodic_trim_pools(pools, script_text=read("debian-trim-script-pop-os-177ce28-unconditional.sh"))
    assert {pool: v.trims for pool, v in old.items()} == {"rpool": True, "fast": True, "tank": False}

    scrub_only = zfs.debian_periodic_trim_pools(pools, cron_text=read("cron.d-zfsutils-linux-openzfs-788adb6-scrub-only.txt"))
    assert {v.trims for v in scrub_only.values()} == {False}

    commented = zfs.debian_periodic_trim_pools(pools, cron_text=cron.replace("\n24 0 1-7", "\n# 24 0 1-7"))
    assert {v.trims for v in commented.values()} == {False}
    assert "commented out (line 4" in commented["fast"].reason


# ------------------------------------------------------------------ never an unexpected exception

_ALPHABET = st.sampled_from(
    list("abcNAMEPROPERTYVALUESOURCE \t\n:-()%0123456789KMGT,.#*/\\")
    + ["pool:", "state:", "config:", "errors:", "mirror-0", "logs", "trimmed", "NAME STATE", "\u0663", "\r"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=80).map("".join))
def test_parsers_raise_only_parse_error(text):
    for parse in (
        zfs.parse_zpool_get, zfs.parse_zpool_status, zfs.parse_zfs_get, zfs.parse_zfs_datasets,
        zfs.parse_arcstats, zfs.parse_zfs_arc_max, zfs.parse_zfsutils_cron,
    ):
        try:
            parse(text)
        except ParseError:
            pass


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(p.name for p in ZFS.glob("zpool-status*"))), st.integers(min_value=0, max_value=2000))
def test_truncated_status_captures_parse(name, cut):
    text = read(name)[:cut]
    try:
        result = zfs.parse_zpool_status(text)
    except ParseError:
        return
    assert all(isinstance(status, zfs.ZpoolStatus) for status in result.values())
