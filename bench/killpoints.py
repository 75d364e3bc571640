"""The kill-point harness of issue 10 outside pytest: SIGKILL the CLI at every step of `--apply
… --yes` and of `--undo` on a copy of each demo profile, and print a Markdown table for
RELIABILITY.md (kill points tried, stranded changes, undo failures per demo and phase), then
the failures grouped by the step they were killed at. Usage:

    python bench/killpoints.py [--demo NAME]... [--workers 2] [--source DIR] [--json FILE] [--keep DIR]

``--source`` runs another checkout's ssdwizard (e.g. `git archive HEAD | tar -x -C /tmp/head`)
with this checkout's harness. Exit status 1 when any kill point loses something.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[1] / "tests" / "killpoints" / "harness.py"


def load_harness():
    spec = importlib.util.spec_from_file_location("ssdwizard_killpoints_harness", HARNESS)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main() -> int:
    harness = load_harness()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", action="append", choices=harness.DEMOS, help="one demo (default: all four)")
    parser.add_argument("--workers", type=int, default=2, help="CLI runs at a time (default 2)")
    parser.add_argument("--source", type=Path, default=harness.REPO, help="the checkout whose ssdwizard runs")
    parser.add_argument("--json", type=Path, help="write every figure and failure here")
    parser.add_argument("--keep", type=Path, help="work in this folder (failing copies stay there)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="ssdwizard-killpoints-"))
    work.mkdir(parents=True, exist_ok=True)
    done = []
    started = time.perf_counter()
    for demo in args.demo or harness.DEMOS:
        run = harness.DemoHarness(demo, work, source=args.source.resolve(), workers=args.workers)
        run.run()
        done.append(run)
        for problem in run.setup_problems:
            print(f"{demo}: {problem}", file=sys.stderr)
    elapsed = time.perf_counter() - started
    print(harness.markdown_table(done))
    print(f"\n{sum(len(r.cases) for r in done)} kill points in {elapsed:.0f} s, {args.workers} at a time; "
          f"work folder {work}")
    failures = [case for run in done for case in run.failures()]
    if failures:
        print("\nFailures by kill point and cause:\n")
        print(harness.grouped_failures(failures))
    if args.json:
        args.json.write_text(json.dumps({"demos": [r.as_json() for r in done]}, indent=2))
    return 1 if failures or any(r.setup_problems for r in done) else 0


if __name__ == "__main__":
    sys.exit(main())
