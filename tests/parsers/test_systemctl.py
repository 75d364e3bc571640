"""systemctl is-enabled: every state as systemd 252 printed it here, plus newer and older forms."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import FIXTURES
from ssdwizard.parsers import ParseError
from ssdwizard.parsers.systemctl import IsEnabled, UnitFileState, parse_is_enabled

SYSTEMCTL = FIXTURES / "systemctl"


def captured(name: str) -> IsEnabled:
    """Parse a captured case: NAME.stdout, NAME.stderr, NAME.exit (see SOURCES.md there)."""
    stdout = (SYSTEMCTL / f"{name}.stdout").read_bytes().decode()
    stderr = (SYSTEMCTL / f"{name}.stderr").read_bytes().decode()
    exit_code = int((SYSTEMCTL / f"{name}.exit").read_text())
    return parse_is_enabled(stdout, exit_code, stderr)


@pytest.mark.parametrize(
    ("name", "state", "exit_code"),
    [
        ("enabled", UnitFileState.ENABLED, 0),
        ("enabled-runtime", UnitFileState.ENABLED_RUNTIME, 0),
        ("disabled", UnitFileState.DISABLED, 1),
        ("static", UnitFileState.STATIC, 0),
        ("masked", UnitFileState.MASKED, 1),
        ("masked-runtime", UnitFileState.MASKED_RUNTIME, 1),
        ("linked", UnitFileState.LINKED, 1),
        ("alias", UnitFileState.ALIAS, 0),
        ("indirect", UnitFileState.INDIRECT, 0),
        ("generated", UnitFileState.GENERATED, 0),
        ("transient", UnitFileState.TRANSIENT, 1),  # the man page's table says 0; the code returns 1
        ("static-with-warnings", UnitFileState.STATIC, 0),
        ("not-found", UnitFileState.NOT_FOUND, 1),
        ("no-systemd", UnitFileState.NO_SYSTEMD, 1),
        ("command-missing", UnitFileState.COMMAND_MISSING, 127),
        ("this-machine", UnitFileState.ENABLED, 0),
    ],
)
def test_captured_outputs(name, state, exit_code):
    result = captured(name)
    assert (result.state, result.exit_code) == (state, exit_code)


def test_evidence_is_the_line_that_decided():
    assert captured("not-found").evidence == "Failed to get unit file state for nosuch.timer: No such file or directory"
    assert captured("no-systemd").evidence.startswith("System has not been booted with systemd")
    assert captured("command-missing").evidence == "/bin/sh: 1: systemctl: not found"
    assert captured("masked").evidence == "masked"


def test_properties_for_the_trim_step():
    assert captured("enabled").enabled and captured("enabled-runtime").enabled
    assert not captured("static").enabled  # exit 0, but nothing starts a static timer by itself
    assert not captured("disabled").enabled and captured("disabled").exists
    assert not captured("not-found").exists and captured("not-found").systemd
    assert not captured("no-systemd").systemd and not captured("command-missing").systemd
    assert captured("masked").exists


def test_newer_systemd_prints_not_found_and_exits_4():
    # src/systemctl/systemctl-is-enabled.c: puts("not-found"), EXIT_PROGRAM_OR_SERVICES_STATUS_UNKNOWN
    result = parse_is_enabled("not-found\n", 4)
    assert (result.state, result.exit_code, result.exists) == (UnitFileState.NOT_FOUND, 4, False)


def test_streams_merged_into_stdout():
    merged = (SYSTEMCTL / "no-systemd.stderr").read_text()
    assert parse_is_enabled(merged, 1).state is UnitFileState.NO_SYSTEMD
    merged = (SYSTEMCTL / "not-found.stderr").read_text()
    assert parse_is_enabled(merged, 1).state is UnitFileState.NOT_FOUND


def test_sysv_redirect_lines_before_the_state():
    # chef/inspec issue #749 (Ubuntu 16.04): `systemctl is-enabled ntp`
    stdout = (
        "ntp.service is not a native service, redirecting to systemd-sysv-install\n"
        "Executing /lib/systemd/systemd-sysv-install is-enabled ntp\n"
        "enabled\n"
    )
    assert parse_is_enabled(stdout, 0).state is UnitFileState.ENABLED


def test_full_lists_installation_targets_indented_below_the_state():
    # --full: printf("  %s\n", link) after the state (systemctl-is-enabled.c)
    stdout = "enabled\n  /etc/systemd/system/timers.target.wants/fstrim.timer\n"
    assert parse_is_enabled(stdout, 0).state is UnitFileState.ENABLED


def test_other_failures_to_read_the_state_are_bad():
    # same format string as not-found: "Failed to get unit file state for %s: %s"
    result = parse_is_enabled("", 1, "Failed to get unit file state for fstrim.timer: Access denied\n")
    assert result.state is UnitFileState.BAD and result.evidence.endswith("Access denied")
    assert parse_is_enabled("bad\n", 1).state is UnitFileState.BAD


def test_exit_126_counts_as_missing_command():
    assert parse_is_enabled("", 126, "sh: 1: systemctl: Permission denied\n").state is UnitFileState.COMMAND_MISSING


@pytest.mark.parametrize(
    ("stdout", "exit_code", "stderr", "message"),
    [
        ("", 0, "", "printed nothing"),
        ("", 1, "", "printed nothing"),
        ("Enabled\n", 0, "", "unexpected output"),
        ("● fstrim.timer - Discard unused blocks once a week\n", 3, "", "unexpected output"),
        ("", 1, "Unknown command verb is-enabled.\n", "unexpected output"),
    ],
)
def test_anything_else_is_a_parse_error(stdout, exit_code, stderr, message):
    with pytest.raises(ParseError, match=message) as caught:
        parse_is_enabled(stdout, exit_code, stderr)
    assert caught.value.source == "systemctl is-enabled"


@settings(max_examples=500)
@given(st.text(), st.integers(-1, 256), st.text())
def test_any_output_gives_a_state_or_a_parse_error(stdout, exit_code, stderr):
    try:
        result = parse_is_enabled(stdout, exit_code, stderr)
    except ParseError:
        return
    assert isinstance(result.state, UnitFileState) and result.exit_code == exit_code


@given(st.sampled_from([s for s in UnitFileState if s.value not in ("no-systemd", "command-missing")]))
def test_every_printed_word_is_read(state):
    assert parse_is_enabled(state.value + "\n", 0).state is state
