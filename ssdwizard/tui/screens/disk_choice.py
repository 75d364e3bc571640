"""Which disks the later steps focus on: a table of disks, SSDs preselected, space toggles."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, LoadingIndicator, Static

from ssdwizard.tui.messages import ProbeCompleted
from ssdwizard.tui.navigation import DISK_CHOICE
from ssdwizard.tui.screens.base import WizardScreen, wizard_footer, wizard_header
from ssdwizard.tui.glyphs import UNICODE, Glyphs
from ssdwizard.tui.widgets.facts import FittedTable
from ssdwizard.tui.widgets.status import StatusBanner, safe_text

COLUMNS = ("", "disk", "model", "size", "transport", "kind", "firmware", "TRIM", "link", "warnings")


def _size(value: int | None, dash: str) -> str:
    import humanize

    return dash if value is None else humanize.naturalsize(value)


def _row(disk: dict[str, Any], chosen: bool, glyphs: Glyphs = UNICODE) -> tuple[Text | str, ...]:
    kind = "SSD" if disk["ssd"] else "HDD" if disk["ssd"] is False else "?"
    link = f"{disk['sata_link_gbps']:g}G" if disk.get("sata_link_gbps") else glyphs.dash
    trim = {True: "yes", False: "no", None: "?"}[disk.get("trim_supported")]
    warnings = len(disk.get("firmware_warnings") or []) + (1 if disk.get("quirks") and "notrim" in disk["quirks"] else 0)

    def shown(value: str) -> Text:
        return safe_text(value, one_line=True, glyphs=glyphs)

    # Text, not str: DataTable reads a str as markup, and "[x]" would vanish as a tag. What lsblk
    # and sysfs said (a model, a firmware) is shown with its escape sequences written out.
    return (Text("[x]" if chosen else "[ ]"), shown(disk["name"]), shown(disk.get("model") or "?"),
            _size(disk.get("size_bytes"), glyphs.dash), shown(disk.get("transport") or "?"), kind,
            shown(disk.get("firmware") or "?"), trim, link, str(warnings or ""))


class DiskTable(FittedTable):
    """The disk table: Enter goes on (DataTable's own Enter would only select the row)."""

    BINDINGS = [Binding("enter", "screen.next", "Next")]


class DiskChoiceScreen(WizardScreen):
    BINDINGS = [
        Binding("space", "toggle_disk", "Toggle disk", id="toggle"),
        Binding("i", "iops", "IOPS", id="iops"),
        Binding("enter", "next", "Next", id="next"),
        Binding("p,left,escape", "back", "Back", id="back"),
        Binding("q", "app.quit", "Quit", id="quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.position = DISK_CHOICE
        self.chosen: set[str] | None = None

    def compose(self) -> ComposeResult:
        yield wizard_header(self.app)
        with Vertical(id="step-body"):
            yield Static("Choose the disks the later steps focus on", classes="step-title")
            yield StatusBanner(id="banner")
            yield LoadingIndicator(id="loading")
            yield DiskTable(id="disk-table", cursor_type="row", zebra_stripes=True)
            yield Static("Space toggles a disk, Enter goes on, i measures the disk's IOPS (read-only). "
                         "SSDs (and virtual disks) are chosen to begin with.",
                         classes="hint")
            with Horizontal(classes="actions"):
                yield Button("Back", id="back")
                yield Button("Next", id="next", variant="primary")
        yield wizard_footer()

    def on_mount(self) -> None:
        self._show()

    def on_probe_completed(self, message: ProbeCompleted) -> None:
        if message.step_id == "disks":
            self._show()

    def _disks(self) -> list[dict[str, Any]]:
        result = self.wizard.results.get("disks")
        return result.facts.get("disks", []) if result else []

    def _show(self) -> None:
        result = self.wizard.results.get("disks")
        self.query_one("#banner", StatusBanner).show(result)
        self.query_one("#loading").display = result is None
        if result is None:
            return
        disks = self._disks()
        if self.chosen is None:
            chosen = self.wizard.chosen_disks
            self.chosen = set(chosen) if chosen is not None else {
                d["name"] for d in disks if d["ssd"] or (d["ssd"] is None and d["transport"] in ("virtio", "xen"))}
        table = self.query_one("#disk-table", DataTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        table.add_columns(*COLUMNS)
        for disk in disks:
            table.add_row(*_row(disk, disk["name"] in self.chosen, self.glyphs), key=disk["name"])
        if disks:
            table.move_cursor(row=min(cursor, len(disks) - 1))
        if self.focused is None or self.focused is table:
            table.focus()

    def action_toggle_disk(self) -> None:
        disks = self._disks()
        if not disks or self.chosen is None:
            return
        name = disks[self.query_one("#disk-table", DataTable).cursor_row]["name"]
        self.chosen ^= {name}
        self._show()

    def action_iops(self) -> None:
        from ssdwizard.tui.modals.active import IopsModal

        disks = self._disks()
        if disks:
            self.app.push_screen(IopsModal(disks[self.query_one("#disk-table", DataTable).cursor_row]["name"]))

    def before_leave(self) -> None:
        """Leaving for a step (Next, the step list, the palette): the later steps use this choice."""
        if self.chosen is not None:
            order = [d["name"] for d in self._disks()]
            self.wizard.choose_disks(tuple(n for n in order if n in self.chosen))

    def action_next(self) -> None:
        self.wizard.show_step(0)  # show_step calls before_leave: the choice is taken first

    def action_back(self) -> None:
        self.app.pop_screen()  # back to the welcome screen, the base of the stack

    @on(Button.Pressed, "#next")
    def _next_pressed(self) -> None:
        self.action_next()

    @on(Button.Pressed, "#back")
    def _back_pressed(self) -> None:
        self.action_back()
