"""``--trim-test`` and ``--iops`` argument handling: usage errors exit 3 with one line."""

from __future__ import annotations

import pytest

from ssdwizard.cli import main


@pytest.mark.parametrize("argv, words", [
    (["--trim-test", "/"], "add --headless"),
    (["--headless", "--trim-test", "/", "--iops", "sda"], "one at a time"),
    (["--headless", "--iops", "sda", "--yes"], "needs no --yes"),
    (["--headless", "--trim-test", "/", "--apply", "trim"], "do not go with --apply"),
])
def test_usage_errors(argv, words, capsys):
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_a_recorded_profile_is_refused_before_anything_is_written(capsys):
    assert main(["--headless", "--trim-test", "/", "--yes", "--demo"]) == 3
    assert "not on a recorded profile" in capsys.readouterr().err
    assert main(["--headless", "--iops", "sda", "--demo"]) == 3
    assert "not on a recorded profile" in capsys.readouterr().err


def test_the_help_lists_the_active_tests():
    from ssdwizard.cli import build_parser

    text = build_parser().format_help()
    assert "--trim-test MOUNTPOINT" in text and "--iops DISK" in text
