"""What every wizard screen shares: the header, the glyphs, and keys that stay off while typing.

A letter typed into a text field must never run a command: typing "/tmp/pay.md" into the
summary's export field once went back (p), opened Apply (a) and confirmed it (y). Textual hands
printable keys to a focused Input first, but a priority binding or a field that lost focus does
not care; so every screen's own actions are disabled while a text field has the focus (the
footer shows them gone). Esc and Tab leave the field.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, cast

from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Footer, Header

from ssdwizard.tui.glyphs import Glyphs

if TYPE_CHECKING:
    from ssdwizard.tui.app import WizardApp


def typing_in_field(screen: Screen) -> bool:
    """Whether a text field has the focus on ``screen``. (Input is looked up, not imported: the
    welcome screen's first frame need not load it, and without the module there is no field.)"""
    focused = screen.focused
    module = sys.modules.get("textual.widgets._input")
    return focused is not None and module is not None and isinstance(focused, module.Input)


def wizard_of(node: DOMNode) -> WizardApp:
    """The app a screen or dialog belongs to, typed: what the wizard adds to App (results, the
    system, glyphs) without a ``type: ignore`` at each use."""
    return cast("WizardApp", node.app)


def wizard_header(app: object) -> Header:
    """The header: title and the machine's name; on a console without the ⭘ icon."""
    glyphs: Glyphs = cast("WizardApp", app).glyphs
    return Header(icon="*" if glyphs.ascii else "⭘")


def wizard_footer() -> Footer:
    """The keys of the screen. The palette (ctrl+p) is in the help, not here: at 80 columns the
    footer has room for the screen's keys, F1 and l, not for one more."""
    return Footer(show_command_palette=False)


class WizardScreen(Screen[None]):
    """A wizard screen: ``glyphs`` for what it draws, its keys off while a text field has the focus."""

    #: Actions that stay on while typing (none of them is bound to a printable key).
    WHILE_TYPING: frozenset[str] = frozenset()
    #: Where the screen is in the step list: DISK_CHOICE, a step's index, SUMMARY (None: welcome).
    position: int | None = None

    @property
    def wizard(self) -> WizardApp:
        return wizard_of(self)

    @property
    def glyphs(self) -> Glyphs:
        return self.wizard.glyphs

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if typing_in_field(self) and action not in self.WHILE_TYPING:
            return False
        return self.allows(action, parameters)

    def allows(self, action: str, parameters: tuple[object, ...] = ()) -> bool | None:
        """Whether ``action`` (with ``parameters``) applies here right now (True), is hidden
        (False) or shown disabled (None)."""
        return True

    def before_leave(self) -> None:
        """Called before the wizard goes to another screen (the disk choice keeps its choice)."""

    def on_descendant_focus(self) -> None:
        # The footer shows the keys that work: they change when a text field gains or loses focus.
        self.refresh_bindings()

    def on_descendant_blur(self) -> None:
        self.refresh_bindings()
