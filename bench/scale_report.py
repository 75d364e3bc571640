"""Headless report time on a generated 96-disk profile with every command answering after
20 ms, with the default command pool and with one worker. Usage:

    python bench/scale_report.py [--disks 96] [--latency-ms 20] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale_profile import build  # noqa: E402

from ssdwizard.machine.context import DEFAULT_JOBS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--disks", type=int, default=96)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        profile = build(Path(scratch) / "scale", args.disks, args.latency_ms)
        print(f"{args.disks} disks, {args.latency_ms} ms per command, median of {args.runs} runs")
        for jobs in (DEFAULT_JOBS, 1):
            samples = []
            for _ in range(args.runs):
                started = time.perf_counter()
                done = subprocess.run([sys.executable, "-m", "ssdwizard", "--headless", "--report", "--format", "json",
                                       "--machine", str(profile), "--jobs", str(jobs)], capture_output=True)
                samples.append(time.perf_counter() - started)
                if done.returncode not in (0, 1, 2):
                    sys.exit(f"report failed: {done.stderr.decode()}")
            print(f"--jobs {jobs:<3} {statistics.median(samples):7.2f} s")


if __name__ == "__main__":
    main()
