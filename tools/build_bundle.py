#!/usr/bin/env python3
"""Build dist/ssdwizard.pyz: one file with ssdwizard and its dependencies, for an offline server.

    python3 tools/build_bundle.py [-o dist/ssdwizard.pyz]

Needs python3 (3.9 or newer) with venv (Debian: `apt install python3-venv`) and PyPI, on the
machine that builds; the server that runs the file needs only python3 3.9 to 3.13:
`python3 ssdwizard.pyz --headless --report`.

The bundle is a shiv zipapp. shiv unpacks its contents into a cache directory on the first run
(~/.shiv, or $SHIV_ROOT) and runs from there, so the files ssdwizard reads next to its modules
(the demo profiles, the TOML tables, the .tcss stylesheets) are ordinary files; a plain zipapp
would leave them inside the zip, where ``Path(__file__).parent / ...`` cannot open them.

The dependencies are the pins in tools/bundle-requirements.txt, installed without resolution
(--no-deps, wheels only): the versions pip would pick depend on the Python that builds, and the
file must also run on the oldest Python. Before packing, the build checks that every wheel is
pure Python and admits Python 3.9 and 3.13, and that every dependency of every package (with
its markers evaluated for both) is in the bundle at an allowed version.
"""

from __future__ import annotations

import argparse
import email.parser
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PINS = REPO / "tools" / "bundle-requirements.txt"
SHIV = "shiv==1.0.8"
PACKAGING = "packaging>=23"
# The Pythons the bundle must run on: the lowest and the highest supported (pyproject.toml).
TARGET_PYTHONS = ("3.9", "3.13")
EXIT_NO_TOOLS = 75  # EX_TEMPFAIL: no venv or no PyPI here; the tests skip on it, any other failure fails them


class ToolsMissing(Exception):
    """The build cannot get its tools (venv, pip, shiv): nothing is wrong with the project."""


def _run(argv: list[str], **kwargs) -> None:
    print("+", " ".join(argv), flush=True)
    subprocess.run(argv, check=True, **kwargs)


def _tool_venv(directory: Path) -> Path:
    """A venv with shiv and packaging: the build never installs into the Python that runs it."""
    try:
        venv.EnvBuilder(with_pip=True).create(directory)
    except subprocess.CalledProcessError:
        raise ToolsMissing(f"{sys.executable} cannot create a venv with pip (ensurepip is missing): "
                           "`apt install python3-venv`, then run this again") from None
    python = directory / "bin" / "python"
    try:
        _run([str(python), "-m", "pip", "install", "--quiet", SHIV, PACKAGING])
    except subprocess.CalledProcessError:
        raise ToolsMissing(f"cannot install {SHIV} from PyPI (offline?): build the bundle on a machine "
                           "with PyPI access and copy the file") from None
    return python


def build(output: Path) -> Path:
    os.environ["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    with tempfile.TemporaryDirectory(prefix="ssdwizard-bundle-") as temp:
        work = Path(temp)
        python = _tool_venv(work / "venv")
        pip = [str(python), "-m", "pip"]
        _run([*pip, "wheel", "--quiet", "--no-deps", "--wheel-dir", str(work / "wheels"), str(REPO)])
        wheel = next((work / "wheels").glob("ssdwizard-*.whl"))
        site = work / "site-packages"
        # Pure wheels for the oldest Python, whatever builds: tomli also ships compiled (mypyc) wheels
        # that would only load on the Python that built the bundle.
        _run([*pip, "install", "--quiet", "--no-deps", "--only-binary=:all:", "--no-compile", "--target", str(site),
              "--python-version", TARGET_PYTHONS[0], "--implementation", "py", "--abi", "none", "--platform", "any",
              "--requirement", str(PINS), str(wheel)])
        _run([str(python), str(Path(__file__).resolve()), "--check", str(site)])
        output.parent.mkdir(parents=True, exist_ok=True)
        _run([str(work / "venv" / "bin" / "shiv"), "--site-packages", str(site), "--console-script", "ssdwizard",
              "--python", "/usr/bin/env python3", "--compressed", "--reproducible", "--output-file", str(output)])
    print(f"{output}: {output.stat().st_size / 1e6:.1f} MB; run it with `python3 {output.name} --demo`")
    return output


def check(site: Path) -> list[str]:
    """What would break the bundle on one of TARGET_PYTHONS; runs in the tool venv (packaging)."""
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    parser = email.parser.Parser()
    dists = {}
    problems = []
    for info in sorted(site.glob("*.dist-info")):
        meta = parser.parsestr((info / "METADATA").read_text(encoding="utf-8"))
        wheel = parser.parsestr((info / "WHEEL").read_text(encoding="utf-8"))
        name = canonicalize_name(meta["Name"])
        dists[name] = (Version(meta["Version"]), meta.get_all("Requires-Dist") or [])
        impure = [tag for tag in wheel.get_all("Tag") or [] if not tag.endswith("-none-any")]
        if impure or wheel["Root-Is-Purelib"] != "true":
            problems.append(f"{name}: not a pure-Python wheel ({', '.join(impure) or 'platlib'})")
        allowed = SpecifierSet(meta.get("Requires-Python") or "")
        for target in TARGET_PYTHONS:
            if not allowed.contains(Version(target)):
                problems.append(f"{name} {meta['Version']}: Requires-Python {allowed} excludes {target}")
    for target in TARGET_PYTHONS:
        wanted = [("ssdwizard", frozenset())]
        seen = set()
        while wanted:
            name, extras = wanted.pop()
            if (name, extras) in seen or name not in dists:
                continue
            seen.add((name, extras))
            for line in dists[name][1]:
                requirement = Requirement(line)
                environment = {"python_version": target, "python_full_version": f"{target}.0"}
                if requirement.marker and not any(requirement.marker.evaluate({**environment, "extra": extra})
                                                  for extra in (extras or {""})):
                    continue
                dependency = canonicalize_name(requirement.name)
                if dependency not in dists:
                    problems.append(f"{name} needs {requirement} on Python {target}: not in the bundle")
                elif not requirement.specifier.contains(dists[dependency][0], prereleases=True):
                    problems.append(f"{name} needs {requirement}, the bundle has {dists[dependency][0]}")
                wanted.append((dependency, frozenset(requirement.extras)))
    return sorted(set(problems))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", type=Path, default=REPO / "dist" / "ssdwizard.pyz",
                        help="where to write the bundle (default: dist/ssdwizard.pyz)")
    parser.add_argument("--check", type=Path, metavar="SITE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.check:
        problems = check(args.check)
        for problem in problems:
            print(f"build_bundle: {problem}; update tools/bundle-requirements.txt", file=sys.stderr)
        return 1 if problems else 0
    try:
        build(args.output.resolve())
    except ToolsMissing as exc:
        print(f"build_bundle: {exc}", file=sys.stderr)
        return EXIT_NO_TOOLS
    except subprocess.CalledProcessError as exc:
        print(f"build_bundle: the step above failed (exit {exc.returncode})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
