"""mypy is clean on the package (issue 12): the type hints are checked, not only written.

mypy runs in a subprocess exactly as ``python -m mypy`` does from the repository (the
``[tool.mypy]`` table of pyproject.toml: the package, python_version 3.9, unused ignores
flagged), and the test fails with what it printed. Skipped where mypy is not installed; the
``test`` extra brings it, so CI runs it.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import read_toml

REPO = Path(__file__).resolve().parent.parent
# One diagnostic: "path:line: error: message  [code]" (":column" too with show_column_numbers).
_DIAGNOSTIC = re.compile(r"^(?P<path>[^\s:][^:]*):\d+(?::\d+)?: (?P<severity>error|note): ")


def errors_that_count(output: str) -> list[str]:
    """mypy's error lines.

    Only ``error:`` lines decide (each note belongs to the error above it); a line of any other
    shape, mypy's own complaints about its configuration say, is shown but never counted."""
    counted: list[str] = []
    for line in output.splitlines():
        match = _DIAGNOSTIC.match(line)
        if match is not None and match["severity"] == "error":
            counted.append(line)
    return counted


def test_mypy_targets_the_oldest_supported_python():
    pyproject = read_toml(REPO / "pyproject.toml")
    assert pyproject["project"]["requires-python"] == f">={pyproject['tool']['mypy']['python_version']}"
    assert pyproject["tool"]["mypy"]["files"] == ["ssdwizard"]


def test_mypy_is_clean_on_the_package():
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed: `pip install -e '.[test]'` brings it")
    # --no-pretty: one line per diagnostic, whatever a user's environment asks for.
    proc = subprocess.run([sys.executable, "-m", "mypy", "--config-file", "pyproject.toml", "--no-pretty"],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    output = proc.stdout + proc.stderr
    counted = errors_that_count(proc.stdout)
    if proc.returncode == 0:
        return
    # 2: mypy stopped (a syntax error, a crash, a bad option) and checked nothing after it; any
    # other code without a parsed error line is output this test does not understand.
    assert proc.returncode == 1 and counted, f"mypy exited {proc.returncode}:\n{output}"
    raise AssertionError(f"mypy found {len(counted)} error(s):\n" + "\n".join(counted)
                         + f"\n\nmypy's whole output:\n{output}")


@pytest.mark.parametrize(("output", "counted"), [
    ("ssdwizard/report.py:3: error: Bad  [misc]\nssdwizard/report.py:3: note: See\n", 1),
    ("ssdwizard/tui/screens/step.py:9: error: Bad  [misc]\nssdwizard/tui/app.py:1:5: error: Bad  [misc]\n", 2),
    ("pyproject.toml: [mypy]: python_version: Python 3.9 is not supported\nFound 0 errors\n", 0),
])
def test_only_error_lines_count(output, counted):
    assert len(errors_that_count(output)) == counted
