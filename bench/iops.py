"""The built-in O_DIRECT reader against fio on the same loop device, in one run. Goal (issue 7):
the built-in reader within ±10 % of fio at queue depth 1. Usage (as root):

    python bench/iops.py [--seconds 5] [--rounds 3] [--size-mib 512] [--dir /var/tmp]

The loop device runs with --direct-io=on over a file of random data on a real disk (not in
the page cache, not sparse), so that every read reaches the disk below. Engines alternate,
medians per engine and depth.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _loop import loop_device, require_root

from ssdwizard.active.iops import measure_iops
from ssdwizard.system.live import LiveSystem


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--dir", default="/var/tmp")
    args = parser.parse_args()
    require_root()
    system = LiveSystem()
    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        backing = f"{scratch}/data.img"
        with open(backing, "wb") as handle:
            handle.writelines(os.urandom(1024 * 1024) for _ in range(args.size_mib))
            handle.flush()
            os.fsync(handle.fileno())
        with loop_device(backing, direct_io=True) as device:
            name = os.path.basename(device)
            figures: dict[tuple[str, int], list] = {}
            for _ in range(args.rounds):
                for engine in ("builtin", "fio"):
                    result = measure_iops(system, name, args.seconds, engine=engine)
                    for depth in result.depths:
                        figures.setdefault((engine, depth.depth), []).append(depth)
    print(f"4 KiB random reads on a loop device (--direct-io=on) over {args.size_mib} MiB on {args.dir}, "
          f"{args.seconds:g} s per run, median of {args.rounds} alternating rounds")
    print(f"{'engine':8} {'depth':>5} {'IOPS':>10} {'MB/s':>8} {'p50 µs':>8} {'p99 µs':>8}")
    for (engine, depth), runs in sorted(figures.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        print(f"{engine:8} {depth:>5} {statistics.median(r.iops for r in runs):>10,.0f} "
              f"{statistics.median(r.mb_s for r in runs):>8.1f} {statistics.median(r.p50_us for r in runs):>8.0f} "
              f"{statistics.median(r.p99_us for r in runs):>8.0f}")
    for depth in (1, 32):
        builtin = statistics.median(r.iops for r in figures[("builtin", depth)])
        fio = statistics.median(r.iops for r in figures[("fio", depth)])
        print(f"depth {depth:>2}: built-in vs fio {100 * (builtin - fio) / fio:+.1f} %")


if __name__ == "__main__":
    main()
