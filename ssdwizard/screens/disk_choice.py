"""Which disks the later steps focus on: a table of disks, SSDs preselected, space toggles."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Header, LoadingIndicator, Static

from ssdwizard.app import WizardApp
from ssdwizard.screens.widgets import StatusBanner, safe_text

COLUMNS = ("", "disk", "model", "size", "transport", "kind", "firmware", "TRIM", "link", "warnings")


def _size(value: int | None) -> str:
    import humanize

    return "–" if value is None else humanize.naturalsize(value)


def _row(disk: dict[str, Any], chosen: bool) -> tuple[Text | str, ...]:
    kind = "SSD" if disk["ssd"] else "HDD" if disk["ssd"] is False else "?"
    link = f"{disk['sata_link_gbps']:g}G" if disk.get("sata_link_gbps") else "–"
    trim = {True: "yes", False: "no", None: "?"}[disk.get("trim_supported")]
    warnings = len(disk.get("firmware_warnings") or []) + (1 if disk.get("quirks") and "notrim" in disk["quirks"] else 0)
    # Text, not str: DataTable reads a str as markup, and "[x]" would vanish as a tag. What lsblk
    # and sysfs said (a model, a firmware) is shown with its escape sequences written out.
    return (Text("[x]" if chosen else "[ ]"), safe_text(disk["name"], one_line=True),
            safe_text(disk.get("model") or "?", one_line=True), _size(disk.get("size_bytes")),
            safe_text(disk.get("transport") or "?", one_line=True), kind,
            safe_text(disk.get("firmware") or "?", one_line=True), trim, link, str(warnings or ""))


class DiskChoiceScreen(Screen[None]):
    BINDINGS = [
        Binding("space", "toggle", "Toggle disk", id="toggle"),
        Binding("i", "iops", "IOPS…", id="iops"),
        Binding("enter", "next", "Next", id="next", priority=True),
        Binding("p,left", "back", "Back", id="back"),
        Binding("q", "app.quit", "Quit", id="quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.chosen: set[str] | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="step-body"):
            yield Static("Choose the disks the later steps focus on", classes="step-title")
            yield StatusBanner(id="banner")
            yield LoadingIndicator(id="loading")
            yield DataTable(id="disk-table", cursor_type="row", zebra_stripes=True)
            yield Static("Space toggles a disk, Enter goes on, i measures the disk's IOPS (read-only). "
                         "SSDs (and virtual disks) are chosen to begin with.",
                         classes="hint")
            with Horizontal(classes="actions"):
                yield Button("Back", id="back")
                yield Button("Next", id="next", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self._show()

    def on_wizard_app_probe_completed(self, message: WizardApp.ProbeCompleted) -> None:
        if message.step_id == "disks":
            self._show()

    def _disks(self) -> list[dict[str, Any]]:
        result = self.app.results.get("disks")  # type: ignore[attr-defined]
        return result.facts.get("disks", []) if result else []

    def _show(self) -> None:
        result = self.app.results.get("disks")  # type: ignore[attr-defined]
        self.query_one("#banner", StatusBanner).show(result)
        self.query_one("#loading").display = result is None
        if result is None:
            return
        disks = self._disks()
        if self.chosen is None:
            chosen = self.app.chosen_disks  # type: ignore[attr-defined]
            self.chosen = set(chosen) if chosen is not None else {
                d["name"] for d in disks if d["ssd"] or (d["ssd"] is None and d["transport"] in ("virtio", "xen"))}
        table = self.query_one("#disk-table", DataTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        table.add_columns(*COLUMNS)
        for disk in disks:
            table.add_row(*_row(disk, disk["name"] in self.chosen), key=disk["name"])
        if disks:
            table.move_cursor(row=min(cursor, len(disks) - 1))
        table.focus()

    def action_toggle(self) -> None:
        disks = self._disks()
        if not disks or self.chosen is None:
            return
        name = disks[self.query_one("#disk-table", DataTable).cursor_row]["name"]
        self.chosen ^= {name}
        self._show()

    def action_iops(self) -> None:
        from ssdwizard.screens.active import IopsModal

        disks = self._disks()
        if disks:
            self.app.push_screen(IopsModal(disks[self.query_one("#disk-table", DataTable).cursor_row]["name"]))

    def action_next(self) -> None:
        if self.chosen is not None:
            order = [d["name"] for d in self._disks()]
            self.app.choose_disks(tuple(n for n in order if n in self.chosen))  # type: ignore[attr-defined]
        self.app.show_step(0)  # type: ignore[attr-defined]

    def action_back(self) -> None:
        self.app.pop_screen()  # back to the welcome screen, the base of the stack

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_next() if event.button.id == "next" else self.action_back()
