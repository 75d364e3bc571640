"""Issue 10, crash consistency: SIGKILL the real CLI at every step of ``--apply … --yes`` and of
``--undo`` on a copy of each demo profile; ``--undo`` (again) must give back every byte.

The harness is tests/killpoints/harness.py (bench/killpoints.py prints the same figures as a
table for RELIABILITY.md). The figures of this run are written to ``killpoints.json`` in a
pytest tmp folder and summed up at the end of the session output.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

KILLPOINTS = Path(__file__).resolve().parents[1] / "killpoints"


def _load_harness():
    spec = importlib.util.spec_from_file_location("ssdwizard_killpoints_harness", KILLPOINTS / "harness.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


harness = _load_harness()
pytestmark = pytest.mark.killpoints


class _Summary:
    """A plugin that prints the table at the end of the session, after the captured output."""

    def __init__(self) -> None:
        self.harnesses: list = []
        self.path: Path | None = None

    def pytest_terminal_summary(self, terminalreporter) -> None:
        terminalreporter.write_sep("-", "kill points (issue 10)")
        terminalreporter.write_line(harness.markdown_table(self.harnesses))
        terminalreporter.write_line(f"details: {self.path}")


@pytest.fixture(scope="module")
def figures(request, tmp_path_factory):
    """Collects each demo's harness; at the end writes killpoints.json and prints the table."""
    done: dict[str, object] = {}
    yield done
    if not done:
        return
    summary = _Summary()
    summary.harnesses = list(done.values())
    summary.path = tmp_path_factory.mktemp("killpoints") / "killpoints.json"
    summary.path.write_text(json.dumps({"demos": [h.as_json() for h in summary.harnesses]}, indent=2))
    request.config.pluginmanager.register(summary, "ssdwizard-killpoints-summary")


def _run_child(tmp_path: Path, code: str, **env: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    log = tmp_path / "steps.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SSDWIZARD_KILL_")}
    environment.update(env, PYTHONPATH=os.pathsep.join(filter(None, (str(KILLPOINTS), os.environ.get("PYTHONPATH")))))
    if env:
        environment["SSDWIZARD_KILL_LOG"] = str(log)
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=environment, capture_output=True,
                          text=True, timeout=60)
    return done, (log.read_text().splitlines() if log.exists() else [])


WRITE_ATOMICALLY = """
import os
fd = os.open("new.tmp", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
os.write(fd, b"abcdefgh")
os.fsync(fd)
os.close(fd)
os.replace("new.tmp", "target")
with open("other", "w") as handle:
    handle.write("12345678")
print(os.replace.__module__)
"""


def test_without_the_variables_nothing_is_wrapped(tmp_path):
    done, steps = _run_child(tmp_path, WRITE_ATOMICALLY)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "posix" and not steps


def test_every_step_is_logged_with_its_label(tmp_path):
    done, steps = _run_child(tmp_path, WRITE_ATOMICALLY, SSDWIZARD_KILL_AT="0")
    assert done.returncode == 0, done.stderr
    labels = [line.split("\t")[1] for line in steps]
    assert labels == ["os.open", "os.write", "os.fsync", "os.replace", "open", "file.write"]
    assert [line.split("\t")[0] for line in steps] == ["1", "2", "3", "4", "5", "6"]


def test_the_kill_comes_before_the_step(tmp_path):
    done, steps = _run_child(tmp_path, WRITE_ATOMICALLY, SSDWIZARD_KILL_AT="4")
    assert done.returncode == -signal.SIGKILL
    assert len(steps) == 4 and (tmp_path / "new.tmp").read_bytes() == b"abcdefgh"
    assert not (tmp_path / "target").exists()


@pytest.mark.parametrize("step, name, half", [(2, "new.tmp", b"abcd"), (6, "other", b"1234")])
def test_the_mid_write_kill_leaves_half_of_the_bytes(tmp_path, step, name, half):
    done, _ = _run_child(tmp_path, WRITE_ATOMICALLY, SSDWIZARD_KILL_AT=str(step), SSDWIZARD_KILL_MODE="mid")
    assert done.returncode == -signal.SIGKILL
    assert (tmp_path / name).read_bytes() == half


@pytest.mark.parametrize("demo", harness.DEMOS)
def test_a_kill_at_any_step_of_apply_or_undo_loses_nothing(demo, tmp_path, figures):
    run = harness.DemoHarness(demo, tmp_path)
    run.run()
    figures[demo] = run
    assert not run.setup_problems, f"{demo}: " + "; ".join(run.setup_problems)
    labels = {p.label for p in run.apply_points}
    # Every demo replaces at least one file: a run without a rename or an fsync would mean
    # the engine writes in a way the wrappers do not see, and the harness would test nothing.
    assert labels & {"os.replace", "os.rename"} and "os.fsync" in labels, sorted(labels)
    assert run.undo_points, f"{demo}: the undo changed nothing the wrappers saw"
    failures = run.failures()
    counts = "; ".join(f"{phase}: {c['failed']} of {c['kill_points_tried']}" for phase, c in run.counts().items())
    if failures:
        pytest.fail(f"{demo}: {len(failures)} of {len(run.cases)} kill points lose something ({counts}); failing "
                    f"copies are kept in {tmp_path / demo}\n" + harness.grouped_failures(failures), pytrace=False)
