"""Loop devices and mounts for the benchmarks, detached and unmounted whatever happens."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys


def require_root() -> None:
    if os.geteuid() != 0:
        sys.exit("this benchmark needs root (loop devices, mounts, raw reads)")


@contextlib.contextmanager
def loop_device(backing: str, size: int | None = None, direct_io: bool = False):
    if size is not None:
        with open(backing, "wb") as handle:
            handle.truncate(size)
    argv = ["losetup", "--find", "--show", *(["--direct-io=on"] if direct_io else []), backing]
    device = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()
    try:
        yield device
    finally:
        subprocess.run(["losetup", "--detach", device], check=False)


@contextlib.contextmanager
def ext4_mount(device: str, where: str):
    subprocess.run(["mkfs.ext4", "-q", "-F", device], check=True)
    os.makedirs(where, exist_ok=True)
    subprocess.run(["mount", device, where], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", where], check=False)
