"""The step order lives in one tuple (STYLE 8): ``ssdwizard.steps.STEPS``.

Screens, report and CLI iterate it, so adding a step is a module and one entry. Checked two
ways:

* by reading the code: no list, tuple, set or dict of step ids, no comma-separated string of
  them, no prose that lists the steps, and no ``STEPS[1:]``-style position outside the table
  module; the ones known today are in :data:`KNOWN_ORDER_COPIES` with the reason, so the list
  can only shrink;
* by running it: with ``STEPS`` reversed, the JSON, Markdown and text reports, the ``--steps``
  help, the CLI's error messages and the wizard's welcome, step and summary screens all follow
  the reversed order. Anything that keeps its own copy of the order shows up there.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import sys
from pathlib import Path

import pytest

import ssdwizard.steps
from ssdwizard.cli import main
from ssdwizard.data import PROFILES_DIR
from ssdwizard.steps import STEP_IDS, STEPS
from ssdwizard.model import Step

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "ssdwizard"
TABLE_MODULE = "ssdwizard/steps/__init__.py"
MIN_IDS = 3  # two ids together are a pair ("ahci", "sata"), three are a list
MIN_PROSE_IDS = 5

# Copies of the order found when this test was written (issue 12), by a fingerprint that
# survives moving the file. Remove an entry when its copy is gone; the test insists.
KNOWN_ORDER_COPIES: dict[str, str] = {}


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def _ids_in(nodes: list[ast.expr | None]) -> list[str]:
    return [n.value for n in nodes if isinstance(n, ast.Constant) and n.value in STEP_IDS]


def _fixed_position(index: ast.expr | None) -> bool:
    """``0``, ``-1``, ``1:``, ``:3``: a place in the order written as a number, not computed."""
    if index is None or isinstance(index, ast.Constant):
        return True
    if isinstance(index, ast.UnaryOp):
        return isinstance(index.operand, ast.Constant)
    if isinstance(index, ast.Slice):
        return all(_fixed_position(part) for part in (index.lower, index.upper, index.step))
    return False


def order_copies(source: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """(line, fingerprint) of every place in ``source`` that writes down the steps or their order."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)) and len(set(_ids_in(node.elts))) >= MIN_IDS:
            found.append((node.lineno, f"{type(node).__name__.lower()} {_ids_in(node.elts)}"))
        elif isinstance(node, ast.Dict) and len(set(_ids_in(node.keys))) >= MIN_IDS:
            found.append((node.lineno, f"dict keys {_ids_in(node.keys)}"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            parts = [p.strip() for p in node.value.split(",")]
            words = set(re.findall(r"[a-z]+", node.value.lower()))
            if len(parts) >= MIN_IDS and sum(p in STEP_IDS for p in parts) >= MIN_IDS:
                found.append((node.lineno, f"string {node.value!r}"))
            elif len([i for i in STEP_IDS if i in words]) >= MIN_PROSE_IDS:
                found.append((node.lineno, "prose: " + " ".join(node.value.split(":")[0].split()[:12])))
        elif (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
              and node.value.id in ("STEPS", "STEP_IDS") and _fixed_position(node.slice)):
            found.append((node.lineno, ast.unparse(node)))
    return found


def test_the_scan_sees_each_kind_of_copy():
    source = "\n".join([
        "A = ['disks', 'ahci', 'sata']", "B = ('trim', 'mount', 'scheduler')", "C = {'ceph', 'migration', 'disks'}",
        "D = {'trim': 1, 'mount': 2, 'ceph': 3}", "E = 'mount,trim,scheduler'", "F = STEPS[1:]", "G = STEP_IDS[0]",
        "H = 'disks, ahci, sata, trim and filesystem: the first five'",
        "ok1 = ('ahci', 'sata')", "ok2 = STEPS[index]", "ok3 = step.id == 'trim'", "ok4 = {'trim': 1, 'x': 2}",
        "ok5 = 'the disks and the trim test'",
    ])
    assert [line for line, _ in order_copies(source)] == [1, 2, 3, 4, 5, 6, 7, 8]


def test_no_copy_of_the_step_order_outside_the_table():
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "__pycache__" in path.parts or _rel(path) == TABLE_MODULE:
            continue
        for line, fingerprint in order_copies(path.read_text(encoding="utf-8"), str(path)):
            found.setdefault(fingerprint, []).append(f"{_rel(path)}:{line}")
    new = {f: where for f, where in found.items() if f not in KNOWN_ORDER_COPIES}
    gone = sorted(set(KNOWN_ORDER_COPIES) - set(found))
    assert not new, ("the step order belongs in ssdwizard.steps.STEPS only; iterate it instead of:\n  "
                     + "\n  ".join(f"{', '.join(w)}: {f}" for f, w in new.items()))
    assert not gone, f"fixed, well done: remove from KNOWN_ORDER_COPIES: {gone}"


def import_the_package() -> None:
    """Every module of the package, the lazily imported ones (screens, steps, apply) too."""
    for path in sorted(PACKAGE.rglob("*.py")):
        if "__pycache__" not in path.parts and path.name != "__main__.py":
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            importlib.import_module(".".join(parts[:-1] if parts[-1] == "__init__" else parts))


def test_no_module_keeps_a_copy_of_the_table_at_import():
    """A module-level list built from STEPS (``ORDER = [s.id for s in STEPS]``) would not follow
    a change of the table made at run time, nor read as one place."""
    import_the_package()
    copies = []
    for name, module in sorted(sys.modules.items()):
        if not name.startswith("ssdwizard") or name == "ssdwizard.steps":
            continue
        for attr, value in vars(module).items():
            if value is STEPS or value is STEP_IDS or not isinstance(value, (list, tuple)) or len(value) < MIN_IDS:
                continue
            if all(isinstance(v, Step) for v in value) or (all(isinstance(v, str) for v in value)
                                                           and sum(v in STEP_IDS for v in value) >= MIN_IDS):
                copies.append(f"{name}.{attr}")
    assert not copies, f"copies of the step table: {copies}"


# -- with the table reversed --------------------------------------------------------------------

REVERSED = tuple(reversed(STEPS))
REVERSED_IDS = tuple(step.id for step in REVERSED)
REVERSED_TITLES = [step.title for step in REVERSED]


@pytest.fixture
def reversed_table(monkeypatch):
    """STEPS reversed everywhere it is bound (``from ssdwizard.steps import STEPS`` copies the
    name into each module that imports it). The steps do not depend on each other's order: they
    run concurrently on one shared context."""
    import_the_package()  # every module binds its names now, so that all of them are patched
    for name, module in list(sys.modules.items()):
        if name.startswith("ssdwizard") and module is not None:
            for attr, original, replacement in (("STEPS", STEPS, REVERSED), ("STEP_IDS", STEP_IDS, REVERSED_IDS)):
                if getattr(module, attr, None) is original:
                    monkeypatch.setattr(module, attr, replacement)
    assert ssdwizard.steps.STEPS is REVERSED


def _in_order(text: str, items: list[str]) -> bool:
    """Each item found after the one before it."""
    at = 0
    for item in items:
        at = text.find(item, at)
        if at < 0:
            return False
        at += len(item)
    return True


def _headless(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_reports_follow_the_table(capsys, reversed_table):
    demo = str(PROFILES_DIR / "pve-ceph-node")
    _, out, _ = _headless(capsys, "--headless", "--format", "json", "--machine", demo)
    assert tuple(step["id"] for step in json.loads(out)["steps"]) == REVERSED_IDS
    _, out, _ = _headless(capsys, "--headless", "--format", "markdown", "--machine", demo)
    rows = re.findall(r"^\| (\d+) \| ([^|]+) \|", out, re.MULTILINE)
    assert [title.strip() for _, title in rows] == REVERSED_TITLES
    assert [int(n) for n, _ in rows] == list(range(1, len(STEPS) + 1))
    _, out, _ = _headless(capsys, "--headless", "--format", "text", "--machine", demo)
    summary = out.split("\n\n")[1]
    assert _in_order(summary, REVERSED_TITLES), summary


def test_the_cli_names_the_steps_from_the_table(capsys, reversed_table):
    with pytest.raises(SystemExit):  # argparse's --help exits
        _headless(capsys, "--help")
    out = capsys.readouterr().out
    assert ", ".join(REVERSED_IDS) in " ".join(out.split()), out
    code, _, err = _headless(capsys, "--headless", "--steps", "nope")
    assert code == 3 and f"(steps: {', '.join(REVERSED_IDS)})" in err
    planning = [step.id for step in REVERSED if step.plan is not None]
    code, _, err = _headless(capsys, "--headless", "--apply", "disks", "--demo")
    assert code == 3 and f"(steps with one: {', '.join(planning)})" in err
    code, out, _ = _headless(capsys, "--headless", "--format", "json", "--steps", "scheduler,disks", "--demo")
    assert [step["id"] for step in json.loads(out)["steps"]] == [i for i in REVERSED_IDS if i in ("scheduler", "disks")]


def _screen_text(app) -> str:
    from textual.widgets import DataTable, Static

    parts = [getattr(shown, "plain", str(shown)) for shown in (w.render() for w in app.screen.query(Static))]
    for table in app.screen.query(DataTable):
        parts += ["\t".join(str(cell) for cell in table.get_row_at(row)) for row in range(table.row_count)]
    return "\n".join(parts)


async def _settle(pilot) -> None:
    app = pilot.app
    for _ in range(400):
        if all(step.id in app.results for step in STEPS) and not getattr(app, "applying", False):
            break
        await pilot.pause(0.02)
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_the_wizard_follows_the_table(reversed_table):
    from ssdwizard.tui.app import WizardApp
    from ssdwizard.system import ProfileSystem

    app = WizardApp(ProfileSystem(PROFILES_DIR / "pve-ceph-node"))
    async with app.run_test(size=(100, 32)) as pilot:
        await _settle(pilot)
        welcome = _screen_text(app)
        assert _in_order(welcome, [f"{n}. {t}" for n, t in enumerate(REVERSED_TITLES, 1)]), welcome
        await pilot.press("enter")  # the disk choice
        await pilot.press("enter")  # the first step
        await _settle(pilot)
        seen = []
        for _ in STEPS:
            seen.append(app.screen.step.id)
            await pilot.press("n")
            await _settle(pilot)
        assert tuple(seen) == REVERSED_IDS
        summary = _screen_text(app)  # the summary, after the last step
        assert _in_order(summary, REVERSED_TITLES), summary
