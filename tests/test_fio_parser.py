"""fio's JSON report, from real captures (tests/fixtures/fio/SOURCES.md)."""

from __future__ import annotations

import pytest
from conftest import FIXTURES

from ssdwizard.parsers import ParseError
from ssdwizard.parsers.fio import parse_fio_json

FIO = FIXTURES / "fio"


@pytest.mark.parametrize("name", ["randread-qd1-loop.json", "randread-qd32-loop.json"])
def test_a_real_report_gives_iops_bandwidth_and_percentiles(name):
    read = parse_fio_json((FIO / name).read_text())
    assert read.iops > 0 and read.total_ios > 0
    assert read.bandwidth_bytes == pytest.approx(read.iops * 4096, rel=0.02)
    assert read.percentiles_ns[50.0] <= read.percentiles_ns[99.0]
    assert read.version == "fio-3.33"


def test_warnings_before_the_json_are_skipped():
    text = "fio: this platform does not support process shared mutexes\n" + (FIO / "randread-qd1-loop.json").read_text()
    assert parse_fio_json(text).iops > 0


@pytest.mark.parametrize("text", ["", "fio: no such file", "{", '{"jobs": []}', '{"jobs": [{"error": 5}]}',
                                  '{"jobs": [{"read": {"iops": "x"}}]}'])
def test_broken_output_is_a_parse_error(text):
    with pytest.raises(ParseError):
        parse_fio_json(text)
