"""A step's verdict and findings: the status banner, one collapsible per finding, and text
from the machine made safe to show.

What they draw comes from a :class:`~ssdwizard.tui.glyphs.Glyphs`: Unicode marks on a modern
terminal, ASCII on a console (the app's ``glyphs``).
"""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text
from textual.widgets import Collapsible, Static

from ssdwizard.model import Finding, Status, StepResult
from ssdwizard.textsafe import visible
from ssdwizard.tui.glyphs import UNICODE, WORDS, Glyphs

# A symbol with every colour, so that a monochrome console keeps the meaning.
MARKS = UNICODE.marks


def mark(status: Status, glyphs: Glyphs = UNICODE) -> str:
    return glyphs.mark(status)


def safe_text(text: str, one_line: bool = False, glyphs: Glyphs = UNICODE) -> Text:
    """Text from the machine as it is shown: a Text, not markup (``[client]`` stays), with escape
    sequences written out (Textual passes ESC, CSI and bidi overrides on to the terminal), and
    in ASCII on a console."""
    return Text(glyphs.text(visible(text, one_line=one_line)))


def glyphs_of(widget: Static) -> Glyphs:
    return getattr(widget.app, "glyphs", UNICODE)


class StatusBanner(Static):
    """The step's verdict in one line, coloured by status class and marked by symbol."""

    def show(self, result: StepResult | None) -> None:
        for status in Status:
            self.remove_class(f"-{status.value}")
        glyphs = glyphs_of(self)
        if result is None:
            self.update(f"{glyphs.ellipsis} probing")
            return
        self.add_class(f"-{result.status.value}")
        # Text, not str: a summary like "in [client]" must not be read as markup. The word is
        # there besides the colour and the mark: NO_COLOR and a console font keep the meaning.
        self.update(safe_text(f"{glyphs.marks[result.status]} {WORDS[result.status]}: {result.summary}", glyphs=glyphs))


def finding_widget(finding: Finding, index: int, glyphs: Glyphs = UNICODE) -> Collapsible:
    """A finding: its whole message as the title (wrapped, never cut); advice and evidence inside."""
    body: list[Static] = []
    if finding.advice:
        body.append(Static(safe_text(f"{glyphs.arrow} {finding.advice}", glyphs=glyphs), classes="advice"))
    for evidence in finding.evidence:
        lines = evidence.excerpt.strip()
        body.append(Static(safe_text(f"[{evidence.source}]" + (f"\n{lines}" if lines else ""), glyphs=glyphs),
                           classes="evidence"))
    # Titles are markup: escape, or "[client]" in a message would vanish as a tag.
    title = escape(glyphs.text(visible(f"{glyphs.marks[finding.status]} {finding.subject}: {finding.message}",
                                       one_line=True)))
    # No id: a re-probe replaces the findings while the old ones are still being removed.
    collapsible = Collapsible(*body, title=title, collapsed=finding.status in (Status.OK, Status.SKIP),
                              collapsed_symbol=glyphs.collapsed, expanded_symbol=glyphs.expanded,
                              classes=f"finding-{index}")
    collapsible.add_class(f"-{finding.status.value}")
    return collapsible
