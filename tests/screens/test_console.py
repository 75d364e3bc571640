"""The wizard on a real server console (issue 11): ASCII and 16 colours on TERM=linux, vt100 or
a C locale, NO_COLOR, no terminal at all, a terminal too small, the machine's name on screen and
the exit summary printed after the wizard closes."""

from __future__ import annotations

import fcntl
import html
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.segment import Segment
from textual.app import App
from textual.binding import Binding
from textual.color import Color
from textual.scrollbar import ScrollBar, ScrollBarRender

from wizard_helpers import TO_DISK_CHOICE, TO_STEP, TO_SUMMARY, settle, steps_between, wizard
from ssdwizard.tui.app import WizardApp
from ssdwizard.tui.console import AsciiFilter, AsciiScrollBarRender
from ssdwizard.tui.glyphs import fold
from ssdwizard.tui.modals.menus import TooSmallScreen
from ssdwizard.tui.screens.step import StepScreen
from ssdwizard.tui.screens.welcome import WelcomeScreen
from ssdwizard.system.profile import ProfileSystem
from ssdwizard.data import PROFILES_DIR

ROOT = Path(__file__).resolve().parents[2]
# Keys from the welcome screen (wizard_helpers builds them from the step table).
CONSOLE_SCREENS = {
    "welcome": [], "disk-choice": TO_DISK_CHOICE, "sata": TO_STEP["sata"], "trim": TO_STEP["trim"], "mount": TO_STEP["mount"],
    "migration": TO_STEP["migration"], "confirm": [*TO_STEP["trim"], "a"], "summary": TO_SUMMARY, "steps": [*TO_STEP["ahci"], "l"],
    "help": ["f1"], "trim-test": [*TO_STEP["trim"], "t"], "quit": [*TO_STEP["trim"], "a", "y", "q"],
}


def drawn(app) -> str:
    """The screen as text: the screenshot without its SVG tags (and without the blanks that
    only pad a line: the SVG leaves them out)."""
    return html.unescape(re.sub(r"<[^>]*>", "", app.export_screenshot()).replace("&#160;", " "))


async def walk(pilot, keys) -> None:
    await settle(pilot)
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


# ---- A: ASCII, plain lines, 16 colours --------------------------------------------------------

@pytest.mark.parametrize("screen", sorted(CONSOLE_SCREENS))
async def test_console_mode_draws_every_screen_in_ascii_by_itself(monkeypatch, profile_copy, screen):
    # Without the last-resort filter: the marks, borders, scrollbars, bars, sparkline and key
    # names are ASCII because the screens chose them, not because the filter folded them.
    monkeypatch.setattr(WizardApp, "get_line_filters", App.get_line_filters)
    app = wizard(profile_copy(), console=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await walk(pilot, CONSOLE_SCREENS[screen])
        text = drawn(app)
    odd = sorted({char for char in text if not char.isascii()})
    assert not odd, f"{screen}: {odd}"


async def test_the_console_marks_are_words_and_brackets():
    app = wizard(console=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await walk(pilot, TO_STEP["mount"])  # mount options: a warning, ok findings
        text = drawn(app)
        assert "[!] WARNING: 2 filesystems" in text
        assert "> [+] /:" in text and "v [!] fstrim.timer" in text
        assert "+---" in text and "| Back |" in text  # ASCII boxes for the details and the buttons
        await walk(pilot, steps_between("mount", "migration"))  # live migration: past speeds as a sparkline of characters
        from ssdwizard.tui.widgets.charts import TextSparkline

        spark = str(app.screen.query_one(TextSparkline).render())
        assert spark and set(spark) <= set("_.-=+*#@") and spark.endswith("@")  # the link is the top


def test_the_ascii_filter_folds_what_is_left_and_keeps_the_columns():
    segments = [Segment("✔ ok ⚠ warn ✖ fail ○ skip ⏎"), Segment("╭──╮│▁▂▃▇█▔▎"), Segment("日本 ü … → plain")]
    folded = AsciiFilter().apply(segments, Color(0, 0, 0))
    for before, after in zip(segments, folded):
        assert after.text.isascii(), after.text
        assert cell_len(after.text) == cell_len(before.text), (before.text, after.text)
    assert folded[0].text == "+ ok ! warn x fail o skip <"
    assert folded[1].text.startswith("+--+|")
    assert fold("ü … → ≥ – ✔") == "u ... -> >= - [+]"


def test_the_console_scrollbar_has_whole_cells_only():
    for position in (0, 17, 50, 83):
        bar = AsciiScrollBarRender.render_bar(size=20, virtual_size=100, window_size=20, position=position,
                                              thickness=2)
        cells = "".join(segment.text for segment in bar.segments if segment.text != "\n")
        assert set(cells) <= {" ", "#"} and "#" in cells
    textual = ScrollBarRender.render_bar(size=20, virtual_size=100, window_size=20, position=17)
    assert any(not s.text.isascii() for s in textual.segments)  # what the console renderer replaces


async def test_console_mode_swaps_the_scrollbar_renderer_and_puts_it_back():
    before = ScrollBar.renderer
    app = wizard(console=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert ScrollBar.renderer is AsciiScrollBarRender
    assert ScrollBar.renderer is before


async def test_console_mode_names_the_keys_in_ascii():
    app = wizard(console=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.get_key_display(Binding("enter", "x")) == "Enter"
        assert app.get_key_display(Binding("escape", "x")) == "Esc"
        assert app.get_key_display(Binding("left", "x")) == "Left"
    plain = wizard()
    async with plain.run_test(size=(80, 24)):
        assert plain.get_key_display(Binding("enter", "x")) == "⏎"


@pytest.mark.parametrize(("environ", "console"), [
    ({"TERM": "linux", "LANG": "en_US.UTF-8"}, True),
    ({"TERM": "vt100", "LANG": "en_US.UTF-8"}, True),
    ({"TERM": "vt220", "LANG": "en_US.UTF-8"}, True),
    ({"TERM": "xterm-256color", "LANG": "C"}, True),
    ({"TERM": "xterm-256color", "LANG": "C", "LC_CTYPE": "C.UTF-8"}, True),  # what PEP 538 leaves
    ({"TERM": "xterm-256color", "LANG": "en_US.ISO-8859-1"}, True),
    ({"TERM": "xterm-256color", "LANG": "en_US.UTF-8"}, False),
])
def test_console_mode_follows_term_and_the_locale(monkeypatch, environ, console):
    for name in ("TERM", "LANG", "LC_ALL", "LC_CTYPE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    app = WizardApp(ProfileSystem(PROFILES_DIR / "pve-ceph-node"))
    assert app.console_mode is console
    assert app.glyphs.ascii is console
    assert app.has_class("-console") is console


async def test_ok_warn_and_error_banners_are_three_colours_in_16_colours(monkeypatch):
    import ssdwizard.tui.app as app_module
    from ssdwizard.steps import STEPS
    from ssdwizard.model import Step

    def broken(ctx):
        raise RuntimeError("the sysfs tree vanished")

    monkeypatch.setattr(app_module, "STEPS", tuple(Step(s.id, s.title, broken) if s.id == "ahci" else s for s in STEPS))
    app = wizard(console=True)
    async with app.run_test(size=(80, 24)) as pilot:
        seen = {}
        await walk(pilot, ["enter", "enter"])
        for _ in range(5):  # disks ok, health ok, ahci error, sata ok, trim warning
            banner = app.screen.query_one("#banner")
            seen[app.results[app.screen.step.id].status.value] = (banner.styles.background, banner.rich_style)
            await pilot.press("n")
            await settle(pilot)
    assert set(seen) == {"ok", "error", "warn"}
    # ANSI colours, drawn in the terminal's own palette: green, yellow, red; black text on the
    # first two, white on red.
    assert [seen[s][0].ansi for s in ("ok", "warn", "error")] == [2, 3, 1]
    assert len({style.bgcolor for _, style in seen.values()}) == 3


async def test_no_color_keeps_a_warning_as_prominent_as_ok(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = wizard()
    assert app.no_color
    async with app.run_test(size=(100, 32)) as pilot:
        await walk(pilot, TO_STEP["sata"])  # SATA: ok
        banner = app.screen.query_one("#banner")
        ok_text, ok_style = str(banner.render()), banner.rich_style
        await walk(pilot, ["n"])  # TRIM: a warning
        banner = app.screen.query_one("#banner")
        warn_text, warn_style = str(banner.render()), banner.rich_style
    assert ok_text.startswith("✔ OK:") and warn_text.startswith("⚠ WARNING:")
    assert ok_style.bold and warn_style.bold and warn_style.reverse and not ok_style.reverse


# ---- B: no terminal, a terminal too small ----------------------------------------------------

def _env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM") and not k.startswith("LC_")}
    return {**env, "PYTHONPATH": str(ROOT), **values}


@pytest.mark.parametrize("where", ["file", "pipe"])
def test_without_a_terminal_the_wizard_says_so_and_exits_3(tmp_path, where):
    target = tmp_path / "out.txt"
    with open(target, "wb") as file:
        stdout = file if where == "file" else subprocess.PIPE
        done = subprocess.run([sys.executable, "-m", "ssdwizard", "--demo"], stdin=subprocess.DEVNULL,
                              stdout=stdout, stderr=subprocess.PIPE, env=_env(), timeout=60)
    assert done.returncode == 3
    err = done.stderr.decode()
    assert err.count("\n") == 1 and "needs a terminal" in err and "ssdwizard --headless --report" in err
    written = target.read_bytes() if where == "file" else done.stdout
    assert written == b"" and b"\x1b" not in done.stderr


async def test_a_terminal_too_small_gets_a_notice_until_it_is_resized():
    app = wizard()
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, TooSmallScreen)
        assert "Make the terminal at least 80x24 (now 60x20)" in drawn(app)
        await pilot.press("enter")  # no key reaches the wizard below the notice
        assert isinstance(app.screen, TooSmallScreen)
        await pilot.resize_terminal(79, 30)
        await pilot.pause()
        assert isinstance(app.screen, TooSmallScreen) and "(now 79x30)" in drawn(app)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)
        await pilot.press("enter", "enter")
        await settle(pilot)
        assert isinstance(app.screen, StepScreen)
        await pilot.resize_terminal(70, 24)
        await pilot.pause()
        assert isinstance(app.screen, TooSmallScreen)
        await pilot.resize_terminal(100, 32)
        await pilot.pause()
        assert isinstance(app.screen, StepScreen) and app.screen.step.id == "disks"


# ---- C: the machine's name, the exit summary -------------------------------------------------

async def test_the_hostname_is_in_the_header():
    app = wizard()
    async with app.run_test(size=(80, 24)) as pilot:
        await walk(pilot, TO_STEP["trim"])
        assert app.sub_title == "pve1 (recorded: pve-ceph-node)"
        assert "ssdwizard — pve1 (recorded: pve-ceph-node)" in drawn(app)


async def test_the_exit_summary_lists_each_change_with_the_command_that_undoes_it(profile_copy, capsys):
    from ssdwizard.cli import main

    profile = profile_copy()
    fstab = profile / "root" / "etc" / "fstab"
    before = fstab.read_bytes()
    app = wizard(profile)
    async with app.run_test(size=(100, 32)) as pilot:
        assert app.exit_summary().startswith("ssdwizard: no changes were applied to")
        await walk(pilot, [*TO_STEP["mount"], "a", "y"])
        await walk(pilot, ["n", "s"])  # on to the scheduler, and skip it
        await settle(pilot)
    summary = app.exit_summary()
    journal_id = app.applied[0].journal_id
    command = f"ssdwizard --undo {journal_id} --machine {profile}"
    assert "1 change applied to pve1" in summary and "7. Mount options" in summary
    assert f"    undo: {command}\n" in summary
    assert "Skipped by you: 8. I/O scheduler" in summary
    assert fstab.read_bytes() != before
    assert main(command.split()[1:]) == 0  # the printed command undoes exactly this run
    capsys.readouterr()
    assert fstab.read_bytes() == before


def _read_pty(master: int, until, timeout: float) -> bytes:
    data = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ready, _, _ = select.select([master], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        data += chunk
        if until(data):
            break
    return data


@pytest.mark.parametrize("term", ["linux", "vt220"])
def test_on_a_linux_console_every_byte_is_ascii_and_the_exit_summary_follows(term):
    # A real terminal (a pty) with a console TERM and a UTF-8 locale: what Debian's console gives.
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    child = subprocess.Popen([sys.executable, "-m", "ssdwizard", "--demo"], stdin=slave, stdout=slave,
                             stderr=slave, env=_env(TERM=term, LANG="en_US.UTF-8"), start_new_session=True)
    os.close(slave)
    try:
        shown = _read_pty(master, lambda data: b"Steps" in data and b"Welcome" in data, 60)
        assert b"Welcome" in shown
        time.sleep(0.5)
        os.write(master, b"q")
        shown += _read_pty(master, lambda data: b"in this run." in data, 30)
        assert child.wait(30) == 0
    finally:
        if child.poll() is None:
            child.kill()
        os.close(master)
    assert shown.isascii(), sorted({c for c in shown.decode("utf-8", "replace") if not c.isascii()})
    assert b"ssdwizard: no changes were applied to pve1 (recorded machine " in shown
    assert b"ssdwizard-demo-" in shown
