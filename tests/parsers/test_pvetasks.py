"""Proxmox task logs: both migration-log wordings, failures, UPIDs and the task index."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import FIXTURES, read_toml
from ssdwizard.parsers import ParseError
from ssdwizard.parsers import pvetasks
from ssdwizard.parsers.pvetasks import parse_migration_log, parse_size

TASKS = FIXTURES / "pvetasks"
LABELS = read_toml(TASKS / "labels.toml")["pve-migration"]
# A real UPID, quoted from a syslog 'end task' line (see pvetasks/SOURCES.md).
REAL_UPID = "UPID:pve-nd03:0001D301:15925672:69E05EBF:qmigrate:802:admin01@pve:"


def read(name: str) -> str:
    return (TASKS / name).read_bytes().decode("utf-8")


@pytest.mark.parametrize("name", sorted(LABELS))
def test_logs_match_the_corpus_labels(name):
    label = LABELS[name]
    log = parse_migration_log(read(f"{name}.txt"))
    assert log.format == label["format"]
    assert log.status == label["status"]
    assert log.target_node == label["target_node"]
    assert log.vmid == label.get("vmid")
    assert log.target_ip == label.get("target_ip")
    assert log.duration_s == label.get("duration_s")
    assert log.downtime_ms == label.get("downtime_ms")
    if "speed_mb_s" in label:
        assert log.speed_mib_s == pytest.approx(label["speed_mb_s"])
        value, unit = log.speed_text.split()
        assert (float(value), unit) == (label["speed_value"], label["speed_unit"])
    else:
        assert log.speed_mib_s is None
    if "total_bytes" in label:
        assert log.total_bytes == label["total_bytes"]
    if "total_vm_state" in label:
        assert log.total_bytes == parse_size(label["total_vm_state"])
    if "transferred_vm_state" in label:
        assert log.transferred_bytes == parse_size(label["transferred_vm_state"])
    if "migration_type" in label:
        assert log.migration_type == label["migration_type"]
    if "error" in label:
        assert log.error == label["error"]
    if label.get("dedicated_migration_network"):
        assert log.dedicated_address == label["target_ip"]


def test_old_speed_is_mib_per_second_as_printed():
    log = parse_migration_log(read("pve-migration-02.txt"))
    assert log.speed_text == "64.00 MB/s" and log.speed_mib_s == 64.0
    assert [line.number for line in log.evidence_for("speed")] == [15]
    # The last progress line before the summary: a lower bound of what crossed the wire.
    assert log.transferred_bytes == 1059940218


def test_new_format_takes_the_final_transferred_figure():
    log = parse_migration_log(read("pve-migration-06.txt"))
    assert log.transferred_bytes == round(11.7 * 2**30)
    assert log.migration_uri == "unix:/run/qemu-server/20057.migrate" and log.migration_type == "secure"
    assert log.started_by_ha and log.task_status == "OK"


def test_insecure_old_log_goes_straight_to_the_target_address():
    log = parse_migration_log(read("notes-insecure-vm116.txt"))
    assert (log.format, log.status, log.vmid, log.target_node) == ("old", "ok", 116, "nodo4")
    assert (log.migration_type, log.migration_address) == ("insecure", "10.0.2.14")
    assert (log.speed_mib_s, log.downtime_ms, log.duration_s) == (323.37, 262, 39)
    assert (log.transferred_bytes, log.total_bytes) == (7115710846, 6451433472)


def test_the_same_cluster_was_five_times_faster_without_the_tunnel():
    secure = parse_migration_log(read("pve-migration-02.txt"))
    insecure = parse_migration_log(read("notes-insecure-vm116.txt"))
    assert insecure.speed_mib_s / secure.speed_mib_s > 5


def test_aborted_migration_splits_summary_and_cause():
    log = parse_migration_log(read("pve-migration-10.txt"))
    assert log.error == "migration aborted"
    assert log.error_detail == "Can't connect to destination address using public key"
    assert log.task_status == 'migration aborted"'  # the paste's stray quote is kept
    assert (log.target_node, log.target_ip) == ("kla-ac-prox-06", "10.35.50.16")


def test_failure_without_task_line_is_an_error_on_the_remote_node():
    log = parse_migration_log(read("pve-migration-08.txt"))
    assert log.status == "error" and log.task_status is None
    assert log.errors == ("online migrate failure - remote command failed with exit code 255",)


@pytest.mark.parametrize(
    "uri,kind,address",
    [
        ("port 60000", "secure", None),
        ("localhost:60000", "secure", None),
        ("tcp:localhost:60000", "secure", None),
        ("unix:/run/qemu-server/101.migrate", "secure", None),
        ("10.0.2.14:60000", "insecure", "10.0.2.14"),
        ("tcp:10.0.0.2:60000", "insecure", "10.0.0.2"),
        ("tcp:[fd00::2]:60000", "insecure", "fd00::2"),
    ],
)
def test_transport_from_the_migration_uri(uri, kind, address):
    # URI forms from qemu-server QemuMigrate over the versions ("port N" logged as two words).
    text = f"2024-05-01 10:00:00 starting online/live migration on {uri}\nTASK OK\n"
    log = parse_migration_log(text)
    if uri.startswith("port"):
        assert log.migration_uri == "port"
    assert (log.migration_type, log.migration_address) == (kind, address)


@pytest.mark.parametrize(
    "text,bytes_",
    [("1082789888", 1082789888), ("457.0 MiB", 457 * 2**20), ("1.2 GiB", round(1.2 * 2**30)), ("100.0 B", 100)],
)
def test_sizes(text, bytes_):
    assert parse_size(text) == bytes_


@pytest.mark.parametrize("text", ["", "1.5", "12 MB", "GiB", "-3 KiB"])
def test_bad_sizes_are_parse_errors(text):
    with pytest.raises(ParseError):
        parse_size(text)


def test_speed_in_gib_per_second_is_converted():
    log = parse_migration_log("2026-01-01 10:00:00 average migration speed: 1.0 GiB/s - downtime 41 ms\n")
    assert log.speed_mib_s == 1024.0 and log.format == "new"


def test_upid_and_its_log_path():
    upid = pvetasks.parse_upid(REAL_UPID)
    assert (upid.node, upid.pid, upid.starttime, upid.type, upid.vmid, upid.user) == (
        "pve-nd03", 0x1D301, 0x69E05EBF, "qmigrate", 802, "admin01@pve"
    )
    # pve-common: substr($starttime_hex, 7, 1) -> the last hex digit, as written.
    assert upid.log_path == f"/var/log/pve/tasks/F/{REAL_UPID}"


@pytest.mark.parametrize(
    "text",
    ["UPID:pve:1:2:3:qmigrate:1:root@pam:", "UPID:pve-nd03:0001D301:15925672:69E05EBF:qmigrate:802:admin01@pve", ""],
)
def test_bad_upids_are_parse_errors(text):
    with pytest.raises(ParseError):
        pvetasks.parse_upid(text)


def test_index_lines_in_the_format_pve_common_writes():
    index = pvetasks.parse_index(
        f"{REAL_UPID} 69E05ED6 OK\n"
        "UPID:pve-nd03:0001DF27:1592DDB9:69E06019:qmstart:802:root@pam: 69E0601B OK\n"
        f"{REAL_UPID.replace('69E05EBF', '69E06100')} 69E06110 migration aborted\n"
        "UPID:pve-nd03:0001DF27:1592DD\n"
    )
    assert [entry.upid.type for entry in index.entries] == ["qmigrate", "qmstart", "qmigrate"]
    assert [entry.outcome for entry in index.migrations] == ["ok", "error"]
    assert index.entries[0].endtime - index.entries[0].upid.starttime == 0x17
    assert index.skipped == ((4, "UPID:pve-nd03:0001DF27:1592DD"),)
    assert [entry.upid.starttime for entry in pvetasks.migrations_from(index.entries)] == [0x69E06100, 0x69E05EBF]


def test_active_list_has_running_tasks():
    active = pvetasks.parse_active(f"{REAL_UPID} 1\n{REAL_UPID} 1 69E05ED6 WARNINGS: 2\n")
    assert [entry.outcome for entry in active.entries] == ["running", "warning"]
    assert active.entries[0].saved is True


def test_text_that_is_no_index_is_a_parse_error():
    with pytest.raises(ParseError):
        pvetasks.parse_index("hello world\n")


def test_text_that_is_no_migration_log_is_a_parse_error():
    with pytest.raises(ParseError):
        parse_migration_log("Nov 24 12:26:41 copying disk images\n")


@given(st.text(max_size=400))
def test_any_text_gives_data_or_a_parse_error(text):
    for parse in (parse_migration_log, pvetasks.parse_index, pvetasks.parse_active, pvetasks.parse_upid, parse_size):
        try:
            parse(text)
        except ParseError:
            pass


REAL_LINES = read("pve-migration-06.txt").splitlines() + read("pve-migration-02.txt").splitlines()
ODD_LINES = [
    "TASK ERROR: x",
    "ERROR: migration aborted (duration 99:99:99): y",
    "migration status: active (transferred 1.5, remaining 2), total 3)",
]


@given(st.lists(st.sampled_from(REAL_LINES + ODD_LINES), max_size=30))
def test_shuffled_real_lines_give_data_or_a_parse_error(lines):
    try:
        parse_migration_log("\n".join(lines))
    except ParseError:
        pass
