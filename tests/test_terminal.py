"""Unicode or ASCII marks: the locale the admin set (not Python's PEP 538 coercion) and the console type."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ssdwizard.terminal import locale_is_utf8, wants_ascii

# Variables that would leak this machine's locale or terminal into the cases below.
_CLEARED = ("LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TERM", "PYTHONCOERCECLOCALE", "PYTHONUTF8", "PYTHONIOENCODING")


def _clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED and not k.startswith("LC_")}
    return {**env, **values}


@pytest.mark.parametrize(("environ", "ascii_marks"), [
    ({"LANG": "en_US.UTF-8"}, False),
    ({"LANG": "de_DE.utf8"}, False),
    ({"LANG": "C.UTF-8"}, False),
    ({"LC_ALL": "C.UTF-8", "LANG": "C"}, False),
    ({"LC_ALL": "C", "LANG": "en_US.UTF-8"}, True),
    ({"LANG": "C"}, True),
    ({}, True),
    ({"LANG": "en_US.ISO-8859-1"}, True),
    # What PEP 538 leaves in the environment under LANG=C or no locale: still the C locale.
    ({"LANG": "C", "LC_CTYPE": "C.UTF-8"}, True),
    ({"LC_CTYPE": "C.UTF-8"}, True),
    ({"LANG": "POSIX", "LC_CTYPE": "C.utf8"}, True),
    # An LC_CTYPE the admin chose next to a real LANG is taken at its word.
    ({"LANG": "en_US.UTF-8", "LC_CTYPE": "C"}, True),
    ({"LANG": "C", "LC_CTYPE": "en_US.UTF-8"}, False),
    # Console fonts lack the marks whatever the locale says.
    ({"LANG": "en_US.UTF-8", "TERM": "linux"}, True),
    ({"LANG": "en_US.UTF-8", "TERM": "vt100"}, True),
    ({"LANG": "en_US.UTF-8", "TERM": "vt220"}, True),
    ({"LANG": "en_US.UTF-8", "TERM": "screen.linux"}, True),
    ({"LANG": "en_US.UTF-8", "TERM": "xterm-256color"}, False),
    ({"LANG": "en_US.UTF-8", "TERM": "linuxish"}, False),
])
def test_wants_ascii_reads_the_locale_the_admin_set_and_the_terminal_type(environ, ascii_marks):
    assert wants_ascii(environ) is ascii_marks


def test_a_stream_that_is_not_utf8_gets_ascii_whatever_the_locale():
    assert wants_ascii({"LANG": "en_US.UTF-8"}, encoding="ascii")
    assert wants_ascii({"LANG": "en_US.UTF-8"}, encoding="")
    assert not wants_ascii({"LANG": "en_US.UTF-8"}, encoding="UTF-8")
    assert locale_is_utf8({"LANG": "en_US.UTF-8"})


@pytest.mark.parametrize(("env", "ascii_marks"), [
    ({"LANG": "C"}, True),
    ({"LC_ALL": "C"}, True),
    ({"LANG": "C.UTF-8"}, False),
    ({"LANG": "en_US.UTF-8"}, False),
    ({"LANG": "en_US.UTF-8", "TERM": "linux"}, True),
], ids=["LANG=C", "LC_ALL=C", "C.UTF-8", "en_US.UTF-8", "TERM=linux"])
def test_the_headless_report_in_a_real_process(env, ascii_marks):
    # A real interpreter, so PEP 538 coercion and UTF-8 mode happen exactly as for an admin.
    done = subprocess.run([sys.executable, "-m", "ssdwizard", "--headless", "--report", "--demo"],
                          capture_output=True, env=_clean_env(**env))
    assert done.returncode in (0, 1, 2), done.stderr
    text = done.stdout.decode("utf-8")
    if ascii_marks:
        assert text.isascii()
        assert "Overall: " in text
    else:
        assert any(mark in text for mark in "✔⚠✖"), text[:400]
