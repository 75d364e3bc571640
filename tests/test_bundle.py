"""The offline bundle (tools/build_bundle.py): built once per session, run by this Python without the venv."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import ssdwizard

REPO = Path(__file__).resolve().parents[1]
# The interpreter under the venv: the bundle must bring everything, not borrow the venv's packages.
BARE_PYTHON = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
EXIT_NO_TOOLS = 75

TUI_SMOKE = """
import asyncio, os, sys
import ssdwizard
from ssdwizard.tui.app import WizardApp
from ssdwizard.data import PROFILES_DIR
from ssdwizard.system import ProfileSystem

async def main():
    app = WizardApp(ProfileSystem(PROFILES_DIR / "pve-ceph-node"))
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        print("SCREEN", type(app.screen).__name__)

asyncio.run(main())
print("FROM", ssdwizard.__file__)
"""


@pytest.fixture(scope="session")
def bundle(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """The bundle and an environment whose shiv cache is private to this session."""
    directory = tmp_path_factory.mktemp("bundle")
    target = directory / "ssdwizard.pyz"
    done = subprocess.run([sys.executable, str(REPO / "tools" / "build_bundle.py"), "-o", str(target)],
                          capture_output=True, text=True, timeout=600)
    if done.returncode == EXIT_NO_TOOLS:
        pytest.skip(f"the bundle cannot be built here: {done.stderr.strip().splitlines()[-1]}")
    assert done.returncode == 0, done.stdout + done.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHIV_", "PYTHON"))}
    return target, {**env, "SHIV_ROOT": str(directory / "shiv-cache")}


def _run(bundle, *argv: str, **env: str) -> subprocess.CompletedProcess:
    target, environ = bundle
    return subprocess.run([str(BARE_PYTHON), str(target), *argv], capture_output=True, text=True,
                          env={**environ, **env}, timeout=120)


def test_the_bundle_is_one_small_file_that_says_its_version(bundle):
    assert BARE_PYTHON.exists(), BARE_PYTHON
    assert bundle[0].stat().st_size < 10_000_000
    done = _run(bundle, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"ssdwizard {ssdwizard.__version__}"


def test_the_bundle_prints_the_same_demo_report_as_the_installed_package(bundle):
    done = _run(bundle, "--headless", "--report", "--demo")
    assert done.returncode in (0, 1, 2), done.stderr
    installed = subprocess.run([sys.executable, "-m", "ssdwizard", "--headless", "--report", "--demo"],
                               capture_output=True, text=True, env=bundle[1], timeout=120)
    assert done.stdout == installed.stdout
    assert done.returncode == installed.returncode


def test_the_wizard_runs_from_the_bundle_with_its_stylesheets(bundle):
    # SHIV_INTERPRETER runs code inside the bundle: the TUI loads its .tcss files from shiv's cache.
    done = _run(bundle, "-c", TUI_SMOKE, SHIV_INTERPRETER="1")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("SCREEN ") for line in lines), done.stdout
    origin = next(line for line in lines if line.startswith("FROM "))
    assert origin.startswith(f"FROM {bundle[1]['SHIV_ROOT']}"), origin
