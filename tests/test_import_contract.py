"""The import contract (DESIGN §2, STYLE 1): only the TUI imports Textual or Rich.

Everything else (system, machine, parsers, steps, apply, active tests, report, CLI) stays
importable where Textual is missing or slow to load, so a headless report starts fast on a bare
server. Checked three ways, and this file is the one place that checks it:

* statically: every module under ``ssdwizard/`` is parsed; an ``import``/``from`` of textual or
  rich, an ``importlib.import_module``/``__import__`` of one, or a string naming one, outside
  :data:`TUI_PATHS` fails;
* per module, as ``python -c "import ssdwizard.X"`` would: each non-TUI module is imported in a
  process of its own (forked from one clean interpreter, so no earlier import hides a later one)
  and ``sys.modules`` must hold no textual/rich afterwards; the failure names the import chain;
* per headless command line: ``main(argv)`` runs the same way (the CLI loads the TUI lazily, so
  importing ``ssdwizard.cli`` alone does not prove a report run stays clean).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

# The TUI: the only code that may import textual or rich. Paths relative to the repository,
# prefixes.
TUI_PATHS: tuple[str, ...] = ("ssdwizard/tui/",)

FORBIDDEN: tuple[str, ...] = ("textual", "rich")
REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "ssdwizard"
IMPORTERS = ("import_module", "__import__")

# Headless command lines that must never load the TUI (bundled demos only: nothing is written).
HEADLESS_RUNS: tuple[tuple[str, ...], ...] = (
    ("--headless", "--report", "--demo"),
    ("--headless", "--report", "--format", "json", "--demo", "nvme-workstation"),
    ("--headless", "--report", "--format", "markdown", "--demo", "legacy-ide"),
    ("--headless", "--report", "--steps", "disks,trim", "--demo", "vm-virtio"),
    ("--headless", "--report"),  # this machine, live
    ("--headless", "--format", "json"),
    ("--headless", "--apply", "mount,scheduler", "--demo"),  # check mode: shows the diffs
    ("--headless", "--undo", "--demo"),  # refused: a usage error
    ("--headless", "--trim-test", "/", "--demo"),  # the active tests' module, refused on a profile
    ("--headless", "--iops", "sda", "--demo"),
    ("--demo", "list"),
    ("--version",),
    ("--help",),
)


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def is_tui(rel_path: str) -> bool:
    return rel_path.startswith(TUI_PATHS)


def package_files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _forbidden(name: str) -> bool:
    return name.split(".")[0] in FORBIDDEN


def _static_prefix(node: ast.expr) -> str | None:
    """The text a module-name argument starts with, where it is known without running it."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return str(node.values[0].value)
    return None


def forbidden_imports(source: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """(line, what) for every way ``source`` imports textual or rich, or names one in a string."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, f"import {a.name}") for a in node.names if _forbidden(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and _forbidden(node.module):
            found.append((node.lineno, f"from {node.module} import ..."))
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
            prefix = _static_prefix(node.args[0])
            if called in IMPORTERS and prefix is not None and _forbidden(prefix):
                found.append((node.lineno, f"{called}({prefix!r}...)"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            # A module path in a string ("textual.app") is an import waiting to happen (a
            # table of lazily imported names); prose that mentions Textual is not one.
            words = node.value.split(".")
            if _forbidden(node.value) and all(w.isidentifier() for w in words):
                found.append((node.lineno, f"string {node.value!r}"))
    return sorted(set(found))


# -- statically ------------------------------------------------------------------------------

def test_the_static_check_sees_every_form_of_import():
    source = "\n".join([
        "import textual", "import rich.console as rc", "import os, textual.app",
        "from textual.widgets import Static", "from rich import print", "from . import rich",
        "import importlib", "importlib.import_module('textual.app')", "__import__('rich')",
        "import_module(f'textual.{name}')", "LAZY = {'App': 'textual.app'}",
        "import richtext", "from textualize import x", "'Textual is not imported here'", "x = 'rich text'",
    ])
    assert sorted({line for line, _ in forbidden_imports(source)}) == [1, 2, 3, 4, 5, 8, 9, 10, 11]


def test_only_the_tui_imports_textual_or_rich_statically():
    files = package_files()
    assert len(files) > 20, f"found only {len(files)} modules under {PACKAGE}: is the scan looking in the right place?"
    offenders = [f"{_rel(path)}:{line}: {what}"
                 for path in files if not is_tui(_rel(path))
                 for line, what in forbidden_imports(path.read_text(encoding="utf-8"), str(path))]
    assert not offenders, ("only the TUI (" + ", ".join(TUI_PATHS) + ") may import textual or rich:\n  "
                           + "\n  ".join(offenders))


def test_the_tui_paths_name_the_tui():
    """A stale TUI_PATHS would allow textual anywhere it names: every entry that exists holds
    the TUI (it imports textual), and one of them exists."""
    tui_files = [p for p in package_files() if is_tui(_rel(p))]
    assert tui_files, f"no module under {TUI_PATHS}: update TUI_PATHS to where the TUI lives"
    for prefix in TUI_PATHS:
        under = [p for p in tui_files if _rel(p).startswith(prefix)]
        if under:
            assert any(forbidden_imports(p.read_text(encoding="utf-8")) for p in under), (
                f"{prefix} imports no textual: it is not the TUI, drop it from TUI_PATHS")


# -- in fresh processes ------------------------------------------------------------------------

# One clean interpreter that forks a child per job: each child starts from this interpreter's
# sys.modules (the standard library only, checked below), exactly as `python -c` would, without
# paying for a new interpreter each time. A job is ["import", module] or ["main", argv].
_DRIVER = r"""
import json, os, signal, sys, traceback

FORBIDDEN = {forbidden!r}
REPO = {repo!r}
JOBS = json.loads(sys.argv[1])
WIDTH = max(2, os.cpu_count() or 2)


def loaded():
    return sorted(m for m in sys.modules if m.split(".")[0] in FORBIDDEN)


class ImportTracer:
    # Sees the first textual/rich import and keeps the ssdwizard frames that led to it.
    via = None

    def find_spec(self, name, path=None, target=None):
        if ImportTracer.via is None and name.split(".")[0] in FORBIDDEN:
            ImportTracer.via = [
                f"{{os.path.relpath(f.filename, REPO)}}:{{f.lineno}}: {{(f.line or '').strip()}}"
                for f in traceback.extract_stack()[:-1]
                if f.filename.startswith(os.path.join(REPO, "ssdwizard"))]
        return None


def child(job):
    signal.alarm(120)
    kind, what = job
    sys.meta_path.insert(0, ImportTracer())
    error = None
    try:
        if kind == "import":
            __import__(what)
        else:
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            from ssdwizard.cli import main
            main(list(what))
    except SystemExit:
        pass
    except BaseException as exc:
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return {{"job": job, "loaded": loaded(), "via": ImportTracer.via, "error": error}}


def start(job):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            answer = json.dumps(child(job)).encode()
        except BaseException as exc:
            answer = json.dumps({{"job": job, "loaded": [], "via": None, "error": repr(exc)}}).encode()
        with os.fdopen(write, "wb") as pipe:  # a long answer waits until the parent reads it
            pipe.write(answer)
        os._exit(0)
    os.close(write)
    return pid, read


def finish(pid, read, job):
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    try:
        return json.loads(b"".join(chunks))
    except ValueError:
        return {{"job": job, "loaded": [], "via": None, "error": "the child died without an answer"}}


if loaded():
    sys.exit(f"textual/rich are loaded before any ssdwizard import: {{loaded()}}")
results, running, queue = [], [], list(JOBS)
while queue or running:
    while queue and len(running) < WIDTH:
        job = queue.pop(0)
        running.append((*start(job), job))
    results.append(finish(*running.pop(0)))
print(json.dumps(results))
"""


def run_isolated(jobs: list[list]) -> list[dict]:
    script = _DRIVER.format(forbidden=FORBIDDEN, repo=str(REPO))
    done = subprocess.run([sys.executable, "-c", script, json.dumps(jobs)], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _explain(result: dict) -> str:
    kind, what = result["job"]
    name = what if kind == "import" else "main(" + " ".join(what) + ")"
    chain = "\n      ".join(result["via"] or ["(no ssdwizard frame on the stack)"])
    return f"{name} loads {', '.join(result['loaded'][:4])}; the import came from:\n      {chain}"


def headless_modules() -> list[str]:
    return [module_name(p) for p in package_files()
            if not is_tui(_rel(p)) and p.name != "__main__.py"]  # importing __main__ would run the CLI


def test_no_headless_module_loads_textual_or_rich_in_a_fresh_process():
    modules = headless_modules()
    results = run_isolated([["import", "textual.app"]] + [["import", m] for m in modules])
    control, results = results[0], results[1:]
    assert "textual" in control["loaded"] and control["via"] is not None, (
        f"the check cannot see a textual import (is textual installed?): {control}")
    assert [r["job"][1] for r in results] == modules
    broken = [f"{r['job'][1]}: {r['error']}" for r in results if r["error"]]
    assert not broken, "modules that cannot be imported on their own:\n  " + "\n  ".join(broken)
    leaking = [_explain(r) for r in results if r["loaded"]]
    assert not leaking, "headless modules that load the TUI's libraries:\n  " + "\n  ".join(leaking)


def test_a_headless_run_never_imports_textual_or_rich():
    results = run_isolated([["main", list(argv)] for argv in HEADLESS_RUNS])
    broken = [f"{' '.join(r['job'][1])}: {r['error']}" for r in results if r["error"]]
    assert not broken, "headless runs that raised past main():\n  " + "\n  ".join(broken)
    leaking = [_explain(r) for r in results if r["loaded"]]
    assert not leaking, "\n  ".join(leaking)


def test_the_isolation_is_per_module():
    """An import in one job must not be visible in the next: the guarantee a single process
    importing module after module would not give."""
    results = run_isolated([["import", "textual"], ["import", "json"]])
    assert "textual" in results[0]["loaded"] and results[1]["loaded"] == []


def _imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_a_step_never_imports_another_step():
    # Facts two steps share live in machine/ (computed once per run); a step importing another
    # would tie their order and hide the shared fact (kernel_quirks lived in steps/disks.py).
    steps = {path.stem for path in (PACKAGE / "steps").glob("*.py") if path.stem != "__init__"}
    crossing = {}
    for path in (PACKAGE / "steps").glob("*.py"):
        others = {name for name in _imported_modules(path)
                  if name.startswith("ssdwizard.steps.") and name.split(".")[2] in steps - {path.stem}}
        if others:
            crossing[path.name] = sorted(others)
    assert not crossing, crossing


def test_the_screens_do_not_import_the_app_at_run_time():
    # The app imports its screens; a screen that imported the app back made the cycle issue 12
    # removed. A TYPE_CHECKING import (for the typed wizard) is not one.
    offenders = []
    for path in (PACKAGE / "tui").rglob("*.py"):
        if path.name == "app.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        typing_only = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
                       and "TYPE_CHECKING" in ast.unparse(block.test) for node in ast.walk(block)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.ImportFrom) and node.module == "ssdwizard.tui.app"
                    and id(node) not in typing_only):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not offenders, offenders
