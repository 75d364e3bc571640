"""queue/scheduler and one-value sysfs files, on the real samples of the corpus."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import FIXTURES, read_toml
from ssdwizard.parsers import ParseError
from ssdwizard.parsers.sysfs import parse_flag, parse_int, parse_link_speed, parse_scheduler

LABELS = read_toml(FIXTURES / "corpus-labels.toml")["scheduler"]


@pytest.mark.parametrize("sample", sorted(LABELS))
def test_scheduler_samples_match_the_corpus_labels(sample):
    label = LABELS[sample]
    choice = parse_scheduler((FIXTURES / "scheduler" / f"{sample}.txt").read_text())
    assert choice.available == tuple(label["available"])
    # zram's lone "none" has nothing in brackets (label ""), yet none is what is in effect.
    assert choice.current == (label["selected"] or "none")


def test_a_lone_none_is_a_device_without_an_elevator():
    assert parse_scheduler("none\n").current == "none"


def test_a_list_without_brackets_has_no_current_one():
    assert parse_scheduler("noop deadline cfq").current is None


@pytest.mark.parametrize("text", ["", "\n", "[a] [b]", "cat: /sys/block/sda/queue/scheduler: No such file", "[]"])
def test_not_a_scheduler_file_is_a_parse_error(text):
    with pytest.raises(ParseError):
        parse_scheduler(text)


def test_flags_and_numbers():
    assert parse_flag("1\n", "rotational") is True and parse_flag("0", "rotational") is False
    assert parse_int("976773168\n", "size") == 976773168
    for bad in ("", "2", "yes"):
        with pytest.raises(ParseError):
            parse_flag(bad, "rotational")
    for bad in ("", "-1", "1.5", "١٢"):
        with pytest.raises(ParseError):
            parse_int(bad, "size")


@given(st.text(max_size=100))
def test_any_text_gives_data_or_a_parse_error(text):
    for parse in (parse_scheduler, lambda t: parse_flag(t, "f"), lambda t: parse_int(t, "f")):
        try:
            parse(text)
        except ParseError:
            pass


def test_sata_link_speeds_as_the_kernel_writes_them():
    # Values from libata-transport.c's sata_spd_string(): "1.5 Gbps", "3.0 Gbps", "6.0 Gbps", "<unknown>".
    assert [parse_link_speed(t) for t in ("1.5 Gbps\n", "3.0 Gbps", "6.0 Gbps\n")] == [1.5, 3.0, 6.0]
    assert parse_link_speed("<unknown>\n") is None and parse_link_speed(None) is None


@given(st.text(max_size=40))
def test_any_link_speed_text_gives_a_number_or_none(text):
    value = parse_link_speed(text)
    assert value is None or value >= 0
