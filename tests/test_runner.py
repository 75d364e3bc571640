"""Running the steps: each command once per report, concurrency that keeps the guide's order,
and a broken probe that does not stop the others."""

from __future__ import annotations

import sys
import threading
from collections import Counter
from pathlib import Path

from ssdwizard.runner import run_steps
from ssdwizard.steps import STEP_IDS, STEPS
from ssdwizard.machine.context import ProbeContext
from ssdwizard.model import Status, Step
from ssdwizard.system import ProfileSystem

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from scale_profile import build  # noqa: E402


class CountingSystem(ProfileSystem):
    def __init__(self, profile):
        super().__init__(profile)
        self.runs: Counter = Counter()
        self.reads: Counter = Counter()
        self._lock = threading.Lock()

    def run(self, argv, timeout=None):
        with self._lock:
            self.runs[tuple(argv)] += 1
        return super().run(argv, timeout)

    def read_text(self, path):
        with self._lock:
            self.reads[path] += 1
        return super().read_text(path)


def test_every_command_and_file_is_asked_once_per_report(tmp_path):
    system = CountingSystem(build(tmp_path / "scale", disks=30, latency_ms=1))
    ctx = ProbeContext(system, jobs=8)
    try:
        results = run_steps(STEPS, ctx)
    finally:
        ctx.close()
    assert [r.id for r in results] == list(STEP_IDS)
    assert all(r.status is not Status.ERROR for r in results), [r.summary for r in results]
    assert system.runs and max(system.runs.values()) == 1, system.runs.most_common(3)
    assert max(system.reads.values()) == 1, system.reads.most_common(3)
    assert system.runs[("smartctl", "--json", "-x", "-n", "standby", "/dev/sdad")] == 1  # the 30th disk was asked too


def test_concurrent_and_sequential_runs_give_the_same_report(tmp_path):
    profile = build(tmp_path / "scale", disks=12, latency_ms=1)  # latency: the threads are used
    reports = []
    for jobs in (1, 8):
        ctx = ProbeContext(ProfileSystem(profile), jobs=jobs)
        try:
            reports.append(run_steps(STEPS, ctx))
        finally:
            ctx.close()
    assert reports[0] == reports[1]


def test_a_probe_that_raises_is_an_error_and_the_others_still_run(tmp_path):
    def broken(ctx):
        raise RuntimeError("sysfs vanished")

    steps = (Step("broken", "Broken", broken), *STEPS)
    ctx = ProbeContext(ProfileSystem(build(tmp_path / "p", disks=2, latency_ms=0)))
    results = run_steps(steps, ctx)
    ctx.close()
    assert results[0].status is Status.ERROR and "RuntimeError: sysfs vanished" in results[0].summary
    assert [r.id for r in results[1:]] == list(STEP_IDS)
    assert all(r.status is not Status.ERROR for r in results[1:])


def test_the_step_table_agrees_with_each_step_module():
    import importlib

    for step in STEPS:
        module = importlib.import_module(f"ssdwizard.steps.{step.id}")
        assert (module.ID, module.TITLE) == (step.id, step.title)
        assert (step.plan is not None) == hasattr(module, "plan"), step.id


def test_a_plan_without_changes_keeps_its_warnings_as_findings(tmp_path):
    from ssdwizard.apply.plan import Plan
    from ssdwizard.model import StepResult
    from ssdwizard.runner import PLAN_SUBJECT, run_step

    def probe(ctx):
        return StepResult("s", "S", Status.OK, "fine")

    ctx = ProbeContext(ProfileSystem(build(tmp_path / "p", disks=1, latency_ms=0)))
    refused = run_step(Step("s", "S", probe, lambda result, choices: Plan("s", (), ("cannot edit line 3: why",))), ctx)
    assert refused.plan is None and refused.status is Status.WARN  # nothing to confirm, but said
    assert [(f.status, f.subject, f.message) for f in refused.findings] == [
        (Status.WARN, PLAN_SUBJECT, "cannot edit line 3: why")]
    quiet = run_step(Step("s", "S", probe, lambda result, choices: Plan("s", ())), ctx)
    assert quiet.plan is None and quiet.status is Status.OK and quiet.findings == ()
    ctx.close()
