"""Shared test helpers: fixture paths and a builder for small machine profiles in tmp dirs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ssdwizard.data import PROFILES_DIR

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def write_profile(directory: Path, commands: list[dict] | None = None, files: dict[str, str] | None = None,
                  links: dict[str, str] | None = None, name: str = "test-profile") -> Path:
    """A machine profile (DESIGN §3.1) built from parts, for tests that need a specific machine."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = ["[profile]", f"name = {json.dumps(name)}", 'description = "built by a test"', ""]
    for index, command in enumerate(commands or []):
        lines.append("[[command]]")
        lines.append("argv = " + json.dumps(command["argv"]))
        if "stdout_file" in command:
            (directory / "commands").mkdir(exist_ok=True)
            (directory / "commands" / f"c{index}.txt").write_text(command["stdout_file"])
            lines.append(f'stdout = "commands/c{index}.txt"')
        else:
            lines.append("stdout_text = " + json.dumps(command.get("stdout", "")))
        lines.append("stderr_text = " + json.dumps(command.get("stderr", "")))
        lines.append(f"exit = {command.get('exit', 0)}")
        lines.append(f"latency_ms = {command.get('latency_ms', 0)}")
        lines.append("")
    (directory / "profile.toml").write_text("\n".join(lines))
    root = directory / "root"
    root.mkdir(exist_ok=True)
    for path, target in (links or {}).items():
        host = root / path.lstrip("/")
        host.parent.mkdir(parents=True, exist_ok=True)
        host.symlink_to(target)
    for path, text in (files or {}).items():
        host = root / path.lstrip("/")
        host.parent.mkdir(parents=True, exist_ok=True)
        host.write_text(text)
    return directory


@pytest.fixture
def make_profile(tmp_path):
    counter = iter(range(1000))

    def build(**parts) -> Path:
        return write_profile(tmp_path / f"profile{next(counter)}", **parts)

    return build


@pytest.fixture
def profile_copy(tmp_path):
    def copy(name: str = "pve-ceph-node") -> Path:
        target = tmp_path / name
        shutil.copytree(PROFILES_DIR / name, target)
        return target

    return copy
