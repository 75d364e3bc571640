"""Byte-compiles the package before a benchmark, the way pip does at install time.

This machine sets PYTHONDONTWRITEBYTECODE=1, so an editable checkout would otherwise be
compiled from source on every start, and the figures would measure the compiler, not ssdwizard.
"""

from __future__ import annotations

import compileall
from pathlib import Path


def byte_compile() -> None:
    compileall.compile_dir(str(Path(__file__).resolve().parents[1] / "ssdwizard"), quiet=1)
