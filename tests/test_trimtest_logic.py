"""The TRIM test's pure parts: pattern, extent checks, classification, verdicts, the stack walk,
and the merge into the trim step. The real runs on loop devices are in test_active_devices.py."""

from __future__ import annotations

import pytest

from ssdwizard.active.iops import percentile
from ssdwizard.model import Status, StepResult
from ssdwizard.system import CommandResult, Extent
from ssdwizard.active.trimtest import (
    MIN_FILE_BYTES,
    UNIT,
    Layer,
    Pattern,
    Piece,
    TrimTestPlan,
    TrimTestRefused,
    Verdict,
    classify,
    first_blocking_layer,
    judge,
    pieces_from_extents,
    reading_of,
    rzat_of,
    with_trim_test,
)

MIB = 1024 * 1024


PLAIN_STACK = ((Layer("sda1", "sda1", "part", 4096), Layer("sda", "sda", "disk", 4096)),)


def plan(stack=PLAIN_STACK):
    return TrimTestPlan("/mnt", "ext4", "/dev/sda1", (8, 1), "/dev/sda1", stack, 4096, 2**31, MIN_FILE_BYTES,
                        "/mnt/.ssdwizard-trimtest-x", "0123456789abcdef")


def counts(**values):
    return {"zeros": 0, "0xff": 0, "unchanged": 0, "other": 0, **values}


OK_TRIM = CommandResult(("fstrim",), 0, "/mnt: 16 MiB (16777216 bytes) trimmed\n")
FAILED_TRIM = CommandResult(("fstrim",), 1, "", "fstrim: /mnt: the discard operation is not supported\n")


def test_the_pattern_is_unique_per_unit_and_run_and_never_zeros_or_ones():
    a, b = Pattern("aaaa"), Pattern("bbbb")
    assert a.unit(0) != a.unit(1) != b.unit(1)
    assert len(a.unit(7)) == UNIT and b"block 000000000007" in a.unit(7)
    assert a.bytes_at(UNIT - 10, 20) == (a.unit(0) + a.unit(1))[UNIT - 10:UNIT + 10]
    assert set(a.unit(3)) - {0, 0xFF}


def test_classify_counts_each_unit_by_what_it_holds():
    pattern = Pattern("n")
    expected = pattern.bytes_at(0, 4 * UNIT)
    data = bytes(UNIT) + b"\xff" * UNIT + expected[2 * UNIT:3 * UNIT] + b"x" * UNIT
    found = counts()
    classify(data, expected, 0, found)
    assert found == counts(zeros=UNIT, **{"0xff": UNIT}, unchanged=UNIT, other=UNIT)


def test_classify_splits_units_at_file_offsets_not_at_the_read():
    pattern = Pattern("n")
    expected = pattern.bytes_at(1024, UNIT)  # a piece that starts 1 KiB into a unit (1 KiB fs blocks)
    data = bytes(3072) + expected[3072:]
    found = counts()
    classify(data, expected, 1024, found)
    assert found == counts(zeros=3072, unchanged=1024)


def test_reading_names_the_trimmed_class_and_ignores_untrimmed_edges():
    assert reading_of(counts(unchanged=10)) == "unchanged"
    assert reading_of(counts(zeros=10)) == "zeros"
    assert reading_of(counts(zeros=10, unchanged=2)) == "zeros"
    assert reading_of(counts(**{"0xff": 4})) == "0xff"
    assert reading_of(counts(zeros=3, **{"0xff": 4})) == "other"


@pytest.mark.parametrize("flag, words", [(0x2, "unknown"), (0x4, "delalloc"), (0x8, "encoded"), (0x200, "inline"),
                                         (0x800, "unwritten"), (0x2000, "shared"), (0x80, "encrypted")])
def test_an_extent_whose_bytes_are_not_plainly_on_the_device_is_refused(flag, words):
    with pytest.raises(TrimTestRefused, match=words):
        pieces_from_extents([Extent(0, 4096, MIB, flag | 0x1)], MIB)


def test_extents_become_pieces_and_a_hole_is_refused():
    assert pieces_from_extents([Extent(MIB, 9 * MIB, MIB, 1), Extent(0, 5 * MIB, MIB, 0)], 2 * MIB) == (
        Piece(0, 5 * MIB, MIB), Piece(MIB, 9 * MIB, MIB))
    with pytest.raises(TrimTestRefused, match="holes"):
        pieces_from_extents([Extent(0, 4096, MIB, 1)], 2 * MIB)


def test_the_lowest_blocking_layer_is_named_walking_up_from_the_disk():
    crypt = Layer("dm-0", "cryptroot", "crypt", 0)
    lvm = Layer("dm-1", "pve-root", "lvm", 0)
    stack = ((lvm, crypt, Layer("sda2", "sda2", "part", 2**31), Layer("sda", "sda", "disk", 2**31)),)
    assert first_blocking_layer(stack) is crypt
    assert first_blocking_layer(((Layer("sda1", "sda1", "part", 0), Layer("sda", "sda", "disk", 0)),)).kind == "disk"
    assert first_blocking_layer(plan().stack) is None


@pytest.mark.parametrize("rzat, reading, fstrim, stack, verdict", [
    (True, counts(zeros=MIB), OK_TRIM, None, Verdict.WORKS),
    (None, counts(zeros=MIB - 4096, unchanged=4096), OK_TRIM, None, Verdict.WORKS),
    (False, counts(**{"0xff": MIB}), OK_TRIM, None, Verdict.WORKS),
    (True, counts(**{"0xff": MIB}), OK_TRIM, None, Verdict.FAILED),
    (False, counts(unchanged=MIB), OK_TRIM, None, Verdict.INCONCLUSIVE),
    (None, counts(unchanged=MIB), OK_TRIM, None, Verdict.INCONCLUSIVE),
    (True, counts(unchanged=MIB), OK_TRIM, None, Verdict.DID_NOT_REACH),
    (None, counts(unchanged=MIB), FAILED_TRIM, None, Verdict.DID_NOT_REACH),
    (None, counts(unchanged=MIB), FAILED_TRIM, ((Layer("dm-0", "c", "crypt", 0), Layer("sda", "sda", "disk", 1)),),
     Verdict.DID_NOT_REACH),
    (True, counts(other=MIB), OK_TRIM, None, Verdict.INCONCLUSIVE),
])
def test_verdicts(rzat, reading, fstrim, stack, verdict):
    outcome = judge(plan(stack) if stack else plan(), rzat, (), fstrim, reading, {})
    assert outcome.verdict is verdict
    if stack:
        assert outcome.blocked_at.kname == "dm-0" and "dm-crypt" in outcome.message
        assert "allow-discards" in outcome.advice


def test_exit_codes_and_the_verified_fact():
    assert [v.exit_code for v in Verdict] == [0, 1, 1, 2, 3, 3]
    assert [v.verified for v in Verdict] == [True, False, None, False, None, None]


def test_the_outcome_fills_the_trim_steps_verified_fact_and_adds_a_finding():
    step = StepResult("trim", "TRIM", Status.OK, "TRIM reaches sda; fstrim.timer enabled", (),
                      {"disks": [{"name": "sda", "rzat": True}], "fstrim_timer": "enabled", "verified": None})
    assert rzat_of(step, ("sda",)) is True
    assert rzat_of(step, ("sdb",)) is None
    outcome = judge(plan(), True, (), OK_TRIM, counts(unchanged=MIB), {})
    merged = with_trim_test(step, outcome)
    assert merged.facts["verified"] is False
    assert merged.status is Status.WARN
    assert merged.findings[-1].subject == "TRIM test /mnt" and merged.findings[-1].evidence
    assert merged.summary.endswith("TRIM test on /mnt: did-not-reach")
    assert step.facts["verified"] is None  # the original is untouched


def test_percentile_is_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 0.5) == 50 and percentile(values, 0.99) == 99 and percentile([], 0.5) == 0
