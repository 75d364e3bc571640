"""Golden reports: what scripts and monitoring read, byte for byte, for every bundled demo.

For each demo profile (``ssdwizard.data.demo_profiles()``) the headless JSON report (DESIGN
§3.2) and the Markdown report are compared with files checked in under ``tests/golden/``, and
the exit code (§3.3) with ``tests/golden/exit-codes.json``; one demo also has a golden text
report with ASCII marks, as ``LC_ALL=C`` gets it. They keep refactorings honest: moving code
between modules must not change one byte of a report.

When a report is *meant* to change, regenerate the files and review them like code:

    SSDWIZARD_UPDATE_GOLDEN=1 python -m pytest -q -p no:cacheprovider tests/test_golden_reports.py
    git diff tests/golden/

Normalised before comparing, and nothing else: the package version (the JSON's top-level
``"version"`` and the ``ssdwizard X.Y.Z`` at the start of the Markdown and text header). It
changes with a release, not with behaviour; the tests still check that it is the running
package's ``__version__``. Nothing else varies: the reports were checked to be identical run
to run, from a copy of the profile in another directory (no path of the profile leaks into a
report, which :func:`test_a_copy_of_a_demo_elsewhere_reports_the_same` keeps true), with
``--jobs 1`` and ``--jobs 16``, under other time zones and locales.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ssdwizard import __version__
from ssdwizard.cli import main
from ssdwizard.data import DEFAULT_DEMO, demo_profiles

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("SSDWIZARD_UPDATE_GOLDEN") == "1"
REGENERATE = ("if the change is meant: SSDWIZARD_UPDATE_GOLDEN=1 python -m pytest -q -p no:cacheprovider "
              "tests/test_golden_reports.py, then review git diff tests/golden/")
EXIT_CODES = GOLDEN / "exit-codes.json"
FORMATS = {"json": "json", "markdown": "md"}
TEXT_DEMO = DEFAULT_DEMO
TEXT_GOLDEN = f"{TEXT_DEMO}.ascii.txt"
DIFF_LINES = 80
VERSION_PLACEHOLDER = "<version>"
# DESIGN §3.3: the exit code follows the report's overall status.
STATUS_EXIT = {"ok": 0, "skip": 0, "warn": 1, "fail": 2, "error": 3}

DEMOS = {path.name: path for path in demo_profiles()}


def headless_report(capsys, profile: Path, fmt: str) -> tuple[int, str]:
    """The report as the console script prints it (``main``: its error handling included)."""
    capsys.readouterr()
    code = main(["--headless", "--report", "--format", fmt, "--machine", str(profile)])
    captured = capsys.readouterr()
    assert captured.err == "", f"a report run printed on stderr (cron would mail it):\n{captured.err}"
    return code, captured.out


def normalise_json(text: str) -> str:
    data = json.loads(text)
    assert data["version"] == __version__, data["version"]
    # The top-level key is the only one at two spaces of indent (render_json uses indent=2).
    line = f'\n  "version": {json.dumps(__version__)},\n'
    assert text.count(line) == 1, "the JSON report's top-level version line is not where it was"
    return text.replace(line, f'\n  "version": "{VERSION_PLACEHOLDER}",\n')


def normalise_header(text: str, header_lines: int = 3) -> str:
    """``ssdwizard X.Y.Z`` in the header only: a version anywhere else would be content."""
    lines = text.split("\n")
    head, tail = lines[:header_lines], lines[header_lines:]
    stamp = f"ssdwizard {__version__}"
    found = [i for i, line in enumerate(head) if line.startswith(stamp) or f" {stamp}" in line]
    assert len(found) == 1, f"no single {stamp!r} in the header: {head!r}"
    head[found[0]] = head[found[0]].replace(stamp, f"ssdwizard {VERSION_PLACEHOLDER}", 1)
    return "\n".join(head + tail)


def first_differences(expected: str, actual: str, name: str) -> str:
    diff = list(difflib.unified_diff(expected.splitlines(keepends=True), actual.splitlines(keepends=True),
                                     f"tests/golden/{name}", f"{name} (this run)", n=3))
    shown = "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                    for line in diff[:DIFF_LINES])
    more = f"... {len(diff) - DIFF_LINES} more diff lines\n" if len(diff) > DIFF_LINES else ""
    return shown + more


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        if not path.exists() or path.read_bytes() != actual.encode("utf-8"):
            path.write_bytes(actual.encode("utf-8"))
        return
    if not path.exists():
        pytest.fail(f"no golden file tests/golden/{name}; {REGENERATE}", pytrace=False)
    expected = path.read_bytes().decode("utf-8")  # bytes: no newline translation hides a change
    if actual != expected:
        pytest.fail(f"{name} differs from its golden file; first differences:\n"
                    f"{first_differences(expected, actual, name)}\n{REGENERATE}", pytrace=False)


def check_exit_code(demo: str, code: int) -> None:
    known = json.loads(EXIT_CODES.read_text(encoding="utf-8")) if EXIT_CODES.exists() else {}
    if UPDATE:
        if known.get(demo) != code:
            known[demo] = code
            EXIT_CODES.write_text(json.dumps(dict(sorted(known.items())), indent=2) + "\n", encoding="utf-8")
        return
    if demo not in known:
        pytest.fail(f"no exit code for {demo} in tests/golden/exit-codes.json; {REGENERATE}", pytrace=False)
    assert code == known[demo], f"{demo}: exit code {code}, golden {known[demo]}; {REGENERATE}"


def test_there_are_demos_to_compare():
    assert DEFAULT_DEMO in DEMOS and len(DEMOS) >= 2, sorted(DEMOS)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("demo", sorted(DEMOS))
def test_demo_report_matches_its_golden_file(capsys, demo, fmt):
    code, out = headless_report(capsys, DEMOS[demo], fmt)
    if fmt == "json":
        assert code == STATUS_EXIT[json.loads(out)["status"]], "exit code and the report's status disagree"
        normalised = normalise_json(out)
    else:
        normalised = normalise_header(out)
    check_golden(f"{demo}.{FORMATS[fmt]}", normalised)
    check_exit_code(demo, code)


def test_text_report_in_the_c_locale_matches_its_golden_file():
    """The text report as an admin on a console with ``LC_ALL=C`` sees it: ASCII marks, through
    the real process and ``--demo`` (the locale decision happens at startup, so not in-process)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LC_") and k not in ("LANG", "LANGUAGE", "PYTHONIOENCODING", "PYTHONUTF8")}
    env.update(LC_ALL="C", TERM="xterm")
    done = subprocess.run([sys.executable, "-m", "ssdwizard", "--headless", "--report", "--demo", TEXT_DEMO],
                          capture_output=True, env=env, timeout=120)
    assert done.stderr == b"", done.stderr.decode("utf-8", "replace")
    non_ascii = sorted({chr(b) for b in done.stdout if b > 0x7F})
    assert not non_ascii, f"LC_ALL=C output has non-ASCII bytes: {non_ascii}"
    check_golden(TEXT_GOLDEN, normalise_header(done.stdout.decode("ascii"), header_lines=1))
    check_exit_code(TEXT_DEMO, done.returncode)


@pytest.mark.parametrize("demo", sorted(DEMOS))
def test_a_copy_of_a_demo_elsewhere_reports_the_same(capsys, tmp_path, demo):
    """Where the profile lies must not show in a report: a copy in a tmp dir gives the same bytes."""
    copy = shutil.copytree(DEMOS[demo], tmp_path / "elsewhere" / "deeper" / demo, symlinks=True)
    code, out = headless_report(capsys, copy, "json")
    assert str(tmp_path) not in out
    assert (code, out) == headless_report(capsys, DEMOS[demo], "json")


def test_every_golden_file_belongs_to_a_demo():
    """A demo renamed or dropped is a contract change (demo paths are public): its golden files
    must go on purpose, with it."""
    wanted = {f"{demo}.{ext}" for demo in DEMOS for ext in FORMATS.values()} | {TEXT_GOLDEN, EXIT_CODES.name}
    present = {p.name for p in GOLDEN.iterdir() if not p.name.startswith(".")} if GOLDEN.is_dir() else set()
    assert present <= wanted, f"golden files without a demo: {sorted(present - wanted)}"
    if EXIT_CODES.exists():
        stale = set(json.loads(EXIT_CODES.read_text(encoding="utf-8"))) - set(DEMOS)
        assert not stale, f"exit-codes.json names demos that are gone: {sorted(stale)}"
