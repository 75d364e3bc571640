"""Shared test helpers: fixture paths and a builder for small machine profiles in tmp dirs."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from ssdwizard.data import PROFILES_DIR

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def read_toml(path: Path) -> dict:
    """A TOML fixture file as a dict: tomllib from Python 3.11, tomli (ssdwizard depends on it there) before."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    return tomllib.loads(path.read_text(encoding="utf-8"))


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


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    """Run the CLI in-process: exit code, stdout, stderr."""
    from ssdwizard.cli import main

    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def report(capsys, profile: Path, fmt: str = "json") -> tuple[int, str, str]:
    return cli(capsys, "--headless", "--report", "--format", fmt, "--machine", str(profile))


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


# No test may write this machine's own undo journal (issue 10): live applies in tests keep
# theirs in a tmp dir (LiveSystem(state_dir=...)), profiles below their root/. The session
# fails if /var/lib/ssdwizard changed while it ran.
_MACHINE_STATE_DIR = Path("/var/lib/ssdwizard")


def _machine_state() -> list[tuple[str, int]] | None:
    """This machine's journal and the bundled demos (which no run may change either)."""
    found = [(str(p), p.lstat().st_mtime_ns) for p in sorted(PROFILES_DIR.rglob("*"))]
    if not _MACHINE_STATE_DIR.exists():
        return found
    found.append((str(_MACHINE_STATE_DIR), _MACHINE_STATE_DIR.lstat().st_mtime_ns))
    found += sorted((str(p), p.lstat().st_mtime_ns) for p in _MACHINE_STATE_DIR.rglob("*"))
    return found


def pytest_sessionstart(session):
    session.config.stash[_STATE_KEY] = _machine_state()


def pytest_sessionfinish(session, exitstatus):
    if session.config.stash.get(_STATE_KEY, None) != _machine_state():
        session.config.get_terminal_writer().line(
            f"FAILED: the tests changed this machine's {_MACHINE_STATE_DIR} or a bundled demo in {PROFILES_DIR} "
            "(a test applied without a tmp state_dir, or into a demo)",
            red=True)
        session.exitstatus = 1


_STATE_KEY = pytest.StashKey[object]()
