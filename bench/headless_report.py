"""Times `ssdwizard --headless --report` on the default demo profile against a bare interpreter.

Each command runs in a fresh process, alternating, RUNS times; the figure is the difference of
the medians: what ssdwizard costs on top of starting Python. Usage:

    python bench/headless_report.py [--runs 21] [--profile DIR]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from _compile import byte_compile


def time_once(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def main() -> None:
    byte_compile()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--profile", help="a profile directory instead of the default demo")
    args = parser.parse_args()
    where = ["--machine", args.profile] if args.profile else ["--demo"]
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "ssdwizard --headless --report": [sys.executable, "-m", "ssdwizard", "--headless", "--report", *where],
        "ssdwizard --headless --report --format json": [sys.executable, "-m", "ssdwizard", "--headless", "--report",
                                                        "--format", "json", *where],
    }
    for argv in commands.values():  # warm the page cache and .pyc files
        time_once(argv)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, argv in commands.items():
            times[name].append(time_once(argv))
    base = statistics.median(times["python -c pass"])
    print(f"{'command':<46} {'median ms':>10} {'min ms':>8} {'over bare python':>17}")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"{name:<46} {median * 1000:>10.1f} {min(samples) * 1000:>8.1f} {(median - base) * 1000:>+16.1f}")


if __name__ == "__main__":
    main()
