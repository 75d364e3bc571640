"""Escape sequences from a profile or a file are shown, never sent to the terminal: the
function itself, then a hostile profile through the reports, ``--apply``, an error line and
the wizard."""

from __future__ import annotations

import io
import json
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent / "steps"))
sys.path.insert(0, str(Path(__file__).resolve().parent / "screens"))
from step_profiles import LOOP, LSBLK, timer  # noqa: E402

from ssdwizard.cli import main  # noqa: E402
from ssdwizard.textsafe import json_visible, visible, visible_writer  # noqa: E402

# Set the window title, clear the screen, a C1 CSI (red), a right-to-left override.
PAYLOAD = "\x1b]0;pwned\x07 \x1b[2J \x9b31m \u202e"
SHOWN = r"\x1b]0;pwned\x07 \x1b[2J \x9b31m \u202e"
RAW = ("\x1b", "\x07", "\x9b", "\u202e")
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def drawn(app) -> str:
    """What the app draws, as text: its screenshot, with the SVG's non-breaking spaces as spaces."""
    return app.export_screenshot().replace("&#160;", " ")


def assert_nothing_raw(text: str | bytes) -> None:
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    for char in RAW:
        assert char.encode("utf-8") not in data, f"raw {char!r} in the output"


# The function


@pytest.mark.parametrize("raw, shown", [
    ("\x1b", r"\x1b"), ("\x00", r"\x00"), ("\x07", r"\x07"), ("\x08", r"\x08"), ("\x0b", r"\x0b"),
    ("\x0c", r"\x0c"), ("\x1f", r"\x1f"), ("\x7f", r"\x7f"),  # C0 and DEL
    ("\x80", r"\x80"), ("\x85", r"\x85"), ("\x9b", r"\x9b"), ("\x9f", r"\x9f"),  # C1
    ("\u202a", r"\u202a"), ("\u202e", r"\u202e"), ("\u2066", r"\u2066"), ("\u2069", r"\u2069"),  # bidi
    ("\u200e", r"\u200e"), ("\u200f", r"\u200f"), ("\u061c", r"\u061c"),  # bidi marks
    ("\u2028", r"\u2028"), ("\u2029", r"\u2029"),  # separators splitlines breaks on
    ("\udc9b", r"\x9b"), ("\udcff", r"\xff"),  # bytes kept by surrogateescape
    ("\ud800", r"\ud800"), ("\udbff", r"\udbff"), ("\udc00", r"\udc00"),  # other lone surrogates
])
def test_each_kind_of_control_is_written_out(raw, shown):
    assert visible(f"a{raw}b") == f"a{shown}b"
    assert visible(f"a{raw}b", one_line=True) == f"a{shown}b"


@pytest.mark.parametrize("text", [
    "Samsung SSD 860 EVO 1TB", "Grüße aus Köln: ü", "✔ ⚠ ✖ ‼ → ·", "日本語のディスク", "🙂 👩‍💻",
    "UUID=abc /  ext4  noatime,errors=remount-ro 0 1\n", "a\tb\nc\n", r"C:\path\x1b as text", "",
])
def test_normal_text_is_returned_unchanged(text):
    assert visible(text) == text


def test_newline_tab_and_crlf_stay_a_lone_carriage_return_is_shown():
    assert visible("one\r\ntwo\tthree\n") == "one\r\ntwo\tthree\n"
    # A lone \r returns the cursor to the line's start: what follows would overwrite the line.
    assert visible("+ harmless\r- evil") == r"+ harmless\r- evil"


def test_one_line_shows_newline_and_carriage_return_too():
    assert visible("a\r\nb\nc\td", one_line=True) == r"a\r\nb\nc" + "\td"


def test_the_payload_becomes_printable_text():
    assert visible(PAYLOAD) == SHOWN
    assert SHOWN.isprintable() and SHOWN.isascii()


@given(st.text(st.characters(exclude_categories=())))  # surrogates too, unlike st.text()'s default
def test_the_result_is_safe_and_a_second_pass_changes_nothing(text):
    once = visible(text)
    assert visible(once) == once
    for char in once:
        assert char in "\t\n\r" or unicodedata.category(char) not in ("Cc", "Cs"), char
        assert char not in BIDI, char
    assert "\r" not in once.replace("\r\n", "")
    one_line = visible(text, one_line=True)
    assert "\n" not in one_line and "\r" not in one_line
    assert visible(one_line, one_line=True) == one_line


def test_the_escaped_form_does_not_tell_text_from_control_and_says_so():
    # For showing, not for parsing back: a literal backslash-x sequence looks like the control.
    assert visible("\x1b") == visible(r"\x1b")


# Lone low surrogates are what surrogateescape makes of bytes that are not UTF-8; a lone high
# surrogate cannot come from decoding (and one before a low one loads back as a pair).
FILE_TEXT = st.text(st.characters(exclude_categories=()).filter(lambda c: not "\ud800" <= c <= "\udbff"))


@given(st.recursive(FILE_TEXT | st.integers() | st.none(),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(FILE_TEXT, inner, max_size=3),
                    max_leaves=10))
def test_json_stays_valid_and_loads_back_to_the_same_strings(value):
    dumped = json_visible(json.dumps(value, indent=2, ensure_ascii=False))
    assert json.loads(dumped) == value
    assert not any(c in dumped for c in "\x7f\x9b\u202e\u2028")
    assert not any("\ud800" <= c <= "\udfff" for c in dumped)


def test_json_keeps_normal_unicode_as_it_is():
    assert json_visible(json.dumps({"model": "Grüße ✔"}, ensure_ascii=False)) == '{"model": "Grüße ✔"}'
    assert json_visible(json.dumps("\x9b\u202e\udc9b\x7f", ensure_ascii=False)) == r'"\u009b\u202e\udc9b\u007f"'


def test_a_visible_writer_escapes_every_write():
    out = io.StringIO()
    stream = visible_writer(out)
    stream.write(f"ssdwizard: {PAYLOAD}\n")
    stream.writelines([f"  - {PAYLOAD}\n", "  - ok\n"])
    stream.flush()
    assert out.getvalue() == f"ssdwizard: {SHOWN}\n  - {SHOWN}\n  - ok\n"


def test_long_text_is_fast():
    import time

    text = ("UUID=eacd632d /mnt/data ext4 noatime 0 2 # Samsung SSD 860 EVO ✔\n" * 20000) + "\x1b[2J"
    started = time.perf_counter()
    assert visible(text).endswith(r"\x1b[2J")
    assert time.perf_counter() - started < 0.5  # ~1.3 MB; a few ms in practice


# A hostile profile, end to end


@pytest.fixture
def hostile(make_profile):
    """The loop-device capture with the payload in lsblk's model of sdb, in a comment of fstab
    (next to lines the mount plan changes, so the diff shows it) and in dmesg's AHCI banner."""
    lsblk = json.loads((LOOP / "lsblk.json").read_text())
    assert lsblk["blockdevices"][0]["name"] == "sdb"
    lsblk["blockdevices"][0]["model"] = f"Evil {PAYLOAD}"
    fstab = (LOOP / "fstab").read_text().replace("# <file system>", f"# {PAYLOAD}\n# <file system>", 1)
    dmesg = ("[    1.851592] ahci 0000:00:17.0: AHCI vers 0001.0301, 32 command slots, 6 Gbps, SATA mode "
             f"{PAYLOAD}\n")
    return make_profile(
        commands=[timer("disabled"), {"argv": LSBLK, "stdout_file": json.dumps(lsblk)},
                  {"argv": ["dmesg"], "stdout": dmesg}],
        files={"/etc/fstab": fstab, "/proc/self/mountinfo": (LOOP / "mountinfo.txt").read_text(),
               "/proc/swaps": (LOOP / "swaps.txt").read_text()},
        name=f"hostile {PAYLOAD}")


def report_bytes(profile: Path, fmt: str, tmp_path: Path) -> bytes:
    output = tmp_path / f"report.{fmt}"
    assert main(["--headless", "--format", fmt, "--output", str(output), "--machine", str(profile),
                 "--disk", "sdb,sdc"]) in (0, 1, 2)
    return output.read_bytes()


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_text_and_markdown_reports_show_the_payload_escaped(hostile, fmt, tmp_path):
    data = report_bytes(hostile, fmt, tmp_path)
    assert_nothing_raw(data)
    text = data.decode("utf-8")
    assert f"Evil {SHOWN}" in text  # the model, in the disks finding
    assert f"SATA mode {SHOWN}" in text  # the dmesg line, as evidence
    assert f"# {SHOWN}" in text  # the fstab comment, in the mount plan's diff
    assert f"hostile {SHOWN}" in text  # the profile's name, in the header


def test_the_text_report_on_a_terminal_shows_the_payload_escaped(hostile, capsys):
    assert main(["--headless", "--machine", str(hostile), "--disk", "sdb,sdc"]) in (0, 1, 2)
    out = capsys.readouterr().out
    assert_nothing_raw(out)
    assert f"Evil {SHOWN}" in out


def test_the_json_report_is_valid_and_holds_the_original_strings(hostile, tmp_path):
    data = report_bytes(hostile, "json", tmp_path)
    assert_nothing_raw(data)
    report = json.loads(data)
    disks = {d["name"]: d for d in report["steps"][0]["facts"]["disks"]}
    assert disks["sdb"]["model"] == f"Evil {PAYLOAD}"
    assert report["machine"]["profile"] == f"hostile {PAYLOAD}"
    mount = next(step for step in report["steps"] if step["id"] == "mount")
    assert f"# {PAYLOAD}\n" in mount["plan"]["changes"][0]["diff"]


def test_apply_shows_the_diff_with_the_payload_escaped(hostile, capsys):
    assert main(["--apply", "mount", "--machine", str(hostile), "--disk", "sdb,sdc"]) == 1
    captured = capsys.readouterr()
    assert_nothing_raw(captured.out + captured.err)
    assert f" # {SHOWN}\n" in captured.out  # a context line of the fstab diff
    assert "Nothing was changed" in captured.out


def test_an_error_line_quoting_the_profile_shows_the_payload_escaped(tmp_path, capsys):
    profile = tmp_path / "broken"
    (profile / "root").mkdir(parents=True)
    (profile / "profile.toml").write_text('[profile]\nname = "x"\ndescription = "d"\n\n[[command]]\nargv = ["lsblk"]\n'
                                          'stdout = "commands/\\u001b]0;pwned\\u0007.txt"\nexit = 0\n')
    assert main(["--headless", "--machine", str(profile)]) == 3
    err = capsys.readouterr().err
    assert_nothing_raw(err)
    assert r"\x1b]0;pwned\x07" in err


# The wizard


def test_the_confirm_dialog_diff_is_escaped():
    from ssdwizard.tui.modals.confirm import coloured_diff

    text = coloured_diff(f"--- a/etc/fstab\n+++ b/etc/fstab\n@@ -1 +1 @@\n # {PAYLOAD}\n-a\r- b\n+c\n")
    assert_nothing_raw(text.plain)
    assert f" # {SHOWN}\n" in text.plain and r"-a\r- b" in text.plain


async def test_a_finding_draws_its_message_advice_and_evidence_escaped():
    from textual.app import App

    from ssdwizard.tui.widgets.status import finding_widget
    from ssdwizard.model import Evidence, Finding, Status

    finding = Finding(Status.WARN, "sdb", f"message {PAYLOAD}", f"advice {PAYLOAD}",
                      (Evidence("dmesg", f"evidence {PAYLOAD}"),))

    class OneFinding(App[None]):
        def compose(self):
            yield finding_widget(finding, 0)  # a warning: shown expanded

    app = OneFinding()
    async with app.run_test(size=(120, 20)) as pilot:
        await pilot.pause()
        screen = drawn(app)
    assert_nothing_raw(screen)
    for part in ("message", "advice", "evidence"):
        assert f"{part} {SHOWN}" in screen, part


async def test_the_wizard_draws_no_raw_escape_on_the_disk_choice_and_the_confirm_dialog(hostile):
    from wizard_helpers import settle, wizard

    from ssdwizard.tui.modals.confirm import ConfirmApplyModal
    from ssdwizard.tui.screens.disk_choice import DiskChoiceScreen

    app = wizard(hostile, chosen_disks=("sdb", "sdc"))
    async with app.run_test(size=(160, 60)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        assert isinstance(app.screen, DiskChoiceScreen)
        await pilot.pause()
        screen = drawn(app)
        assert_nothing_raw(screen)
        assert r"Evil \x1b]0;pwned" in screen  # the model column
        await pilot.press("enter")
        await settle(pilot)
        while app.screen.step.id != "mount":
            await pilot.press("n")
            await settle(pilot)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmApplyModal)
        screen = drawn(app)
        assert_nothing_raw(screen)
        assert f"# {SHOWN}" in screen  # the fstab comment, a context line of the diff
