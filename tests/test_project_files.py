"""The README, CI and packaging files agree with each other (they drift apart silently otherwise)."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import read_toml

REPO = Path(__file__).resolve().parents[1]


def _quick_start() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Quick start\n\n```sh\n(.*?)```", readme, re.DOTALL)
    assert block, "README has no quick start code block"
    return block.group(1).splitlines()


def test_ci_ends_with_the_readme_test_command_character_for_character():
    install, test = _quick_start()
    ci = [line for line in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines() if line.strip()]
    assert ci[-2:] == ["# The README's test command, exactly:", test]
    assert install.endswith(" && .venv/bin/ssdwizard --demo")
    # CI runs the same install steps, quieter: `--quiet` after the pip verb, output to /dev/null.
    ci_commands = [line.removesuffix(" >/dev/null").split() for line in ci]
    for command in install.removesuffix(" && .venv/bin/ssdwizard --demo").split(" && "):
        words = command.split()
        assert words in ci_commands or [*words[:2], "--quiet", *words[2:]] in ci_commands, command


def test_the_license_is_the_one_pyproject_names_and_python_versions_agree():
    project = read_toml(REPO / "pyproject.toml")["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (REPO / "LICENSE").read_text(encoding="utf-8").startswith("MIT License\n")
    assert project["requires-python"] == ">=3.9"
    minors = [c.rsplit(".", 1)[1] for c in project["classifiers"] if c.startswith("Programming Language :: Python :: 3.")]
    assert minors == ["9", "10", "11", "12", "13"]
    assert ".venv/" in (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()
