"""Knowledge tables (TOML, every row with its source) and the bundled demo profiles."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DATA_DIR = Path(__file__).resolve().parent
PROFILES_DIR = DATA_DIR / "profiles"
DEFAULT_DEMO = "pve-ceph-node"


@cache
def load_table(name: str) -> dict[str, Any]:
    """A bundled knowledge table, e.g. ``load_table("flash_models")``."""
    with open(DATA_DIR / f"{name}.toml", "rb") as handle:
        return tomllib.load(handle)


def demo_profiles() -> list[Path]:
    """The bundled demo profiles, default first."""
    found = sorted(p for p in PROFILES_DIR.iterdir() if (p / "profile.toml").is_file()) if PROFILES_DIR.is_dir() else []
    return sorted(found, key=lambda p: (p.name != DEFAULT_DEMO, p.name))
