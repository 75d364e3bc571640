"""What the terminal can show: Unicode marks (✔ ⚠ ✖) or ASCII, decided once for the report and the TUI.

Two things hide a terminal that cannot show the marks:

* The locale. Under ``LANG=C`` (or no locale at all) Python 3.7+ coerces the C locale to
  C.UTF-8 (PEP 538): it *sets* ``LC_CTYPE=C.UTF-8`` in its own environment and its streams
  speak UTF-8, so neither ``sys.stdout.encoding`` nor ``LC_CTYPE`` says what the admin chose.
  Coercion only happens when ``LC_ALL`` is unset and ``LANG`` names the C locale (or is unset),
  so ``LC_CTYPE`` set to a coercion target with such a ``LANG`` counts as C. The price: an
  explicit ``LC_CTYPE=C.UTF-8`` next to ``LANG=C`` also gets ASCII, which is always readable.
* The terminal type. The Linux console (``TERM=linux``) and serial consoles (``vt100``,
  ``vt220`` …) have UTF-8 locales often enough, but their fonts lack ✔ ⚠ ✖ ○ (Debian's
  console-setup fonts draw them as diamonds), so these get ASCII whatever the locale says.

This module imports nothing beyond the standard library: the headless report uses it, and the
TUI can ask the same question without the report importing Textual.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# The values PEP 538 coercion writes into LC_CTYPE, in the order CPython tries them.
_COERCION_TARGETS = frozenset({"c.utf-8", "c.utf8", "utf-8"})
_C_LOCALES = frozenset({"", "c", "posix"})
# Terminals whose fonts have no status marks: the Linux console and the DEC VT names serial
# consoles use, also inside screen or tmux (``screen.linux``) and with terminfo variants (``vt220-8bit``).
_ASCII_TERMS = re.compile(r"(?:(?:screen|tmux)\.)?(?:linux|vt\d+)(?:-.*)?")


def _is_utf8(value: str) -> bool:
    return "utf8" in value.lower().replace("-", "").replace("_", "")


def locale_is_utf8(environ: Mapping[str, str]) -> bool:
    """Whether the locale the admin set (not the one Python coerced it to) is a UTF-8 locale."""
    if environ.get("LC_ALL"):
        return _is_utf8(environ["LC_ALL"])
    lc_ctype, lang = environ.get("LC_CTYPE", ""), environ.get("LANG", "")
    if lc_ctype and not (lc_ctype.lower() in _COERCION_TARGETS and lang.lower() in _C_LOCALES):
        return _is_utf8(lc_ctype)
    return _is_utf8(lang)


def wants_ascii(environ: Mapping[str, str], encoding: str | None = None) -> bool:
    """True where ASCII marks must replace ✔ ⚠ ✖: a C or other non-UTF-8 locale, a console
    terminal (TERM=linux, vt100, vt220 …), or an output stream whose ``encoding`` is not UTF-8."""
    if encoding is not None and not _is_utf8(encoding):
        return True
    if _ASCII_TERMS.fullmatch(environ.get("TERM", "").lower()):
        return True
    return not locale_is_utf8(environ)
