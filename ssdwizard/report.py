"""Step results → a report: aligned text for a terminal, Markdown, or JSON (DESIGN §3.2).

Plain data in, strings out: no Textual or Rich here, so headless runs start fast and work
where a TUI cannot. Every string from the machine passes through `visible` (text, Markdown) or
`json_visible` (JSON): a profile must not send escape sequences to the reader's terminal.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ssdwizard import __version__
from ssdwizard.apply.plan import Plan
from ssdwizard.model import Finding, Status, StepResult
from ssdwizard.textsafe import json_visible, visible

SCHEMA = 1
TEXT_WIDTH = 100

UNICODE_MARKS = {Status.OK: "✔", Status.SKIP: "○", Status.WARN: "⚠", Status.FAIL: "✖", Status.ERROR: "‼"}
ASCII_MARKS = {Status.OK: "+", Status.SKIP: "-", Status.WARN: "!", Status.FAIL: "x", Status.ERROR: "#"}


@dataclass(frozen=True)
class Machine:
    hostname: str | None
    kernel: str | None
    profile: str | None


@dataclass(frozen=True)
class Report:
    machine: Machine
    results: tuple[StepResult, ...]

    @property
    def status(self) -> Status:
        return Status.worst([r.status for r in self.results])


def exit_code(status: Status) -> int:
    """The monitoring-plugin convention (DESIGN §3.3): 0 ok/skip, 1 warn, 2 fail, 3 could not run."""
    return {Status.OK: 0, Status.SKIP: 0, Status.WARN: 1, Status.FAIL: 2, Status.ERROR: 3}[status]


def to_dict(report: Report) -> dict[str, Any]:
    """The JSON report, schema 1 (DESIGN §3.2)."""
    return {
        "tool": "ssdwizard",
        "version": __version__,
        "schema": SCHEMA,
        "machine": {
            "hostname": report.machine.hostname,
            "kernel": report.machine.kernel,
            "profile": report.machine.profile,
        },
        "status": report.status.value,
        "steps": [
            {
                "id": r.id,
                "title": r.title,
                "status": r.status.value,
                "summary": r.summary,
                "findings": [
                    {
                        "status": f.status.value,
                        "subject": f.subject,
                        "message": f.message,
                        "advice": f.advice,
                        "evidence": [{"source": e.source, "excerpt": e.excerpt} for e in f.evidence],
                    }
                    for f in r.findings
                ],
                "facts": r.facts,
                "plan": r.plan.to_report() if r.plan else None,
            }
            for r in report.results
        ],
    }


def render_json(report: Report) -> str:
    return json_visible(json.dumps(to_dict(report), indent=2, ensure_ascii=False)) + "\n"


def _mark(status: Status, unicode: bool) -> str:
    return f"{(UNICODE_MARKS if unicode else ASCII_MARKS)[status]} {status.value}"


def _header_line(report: Report) -> str:
    machine = report.machine
    parts = [f"ssdwizard {__version__}", machine.hostname or "unknown host"]
    if machine.kernel:
        parts.append(f"kernel {machine.kernel}")
    if machine.profile:
        parts.append(f"profile {machine.profile}")
    return visible(" · ".join(parts), one_line=True)


def _wrap(text: str, first: str, rest: str) -> list[str]:
    # Escaped before wrapping: textwrap would turn a carriage return into a space, and the
    # width is the width of what is shown.
    return textwrap.wrap(visible(text), TEXT_WIDTH, initial_indent=first, subsequent_indent=rest,
                         break_long_words=False, break_on_hyphens=False) or [first.rstrip()]


def _finding_lines(finding: Finding, subject_width: int, unicode: bool) -> list[str]:
    mark = (UNICODE_MARKS if unicode else ASCII_MARKS)[finding.status]
    head = f"  {mark} {visible(finding.subject, one_line=True).ljust(subject_width)}  "
    pad = " " * len(head)
    lines = _wrap(finding.message, head, pad)
    arrow = "→" if unicode else "->"
    if finding.advice:
        lines += _wrap(finding.advice, f"{pad}{arrow} ", f"{pad}   ")
    for evidence in finding.evidence:
        # Escaped before splitting: splitlines also breaks on \x1c-\x1e, \x85 and U+2028.
        excerpt = visible(evidence.excerpt.strip()).splitlines()
        label = f"{pad}[{visible(evidence.source, one_line=True)}]"
        if len(excerpt) == 1 and len(label) + len(excerpt[0]) < TEXT_WIDTH:
            lines.append(f"{label} {excerpt[0]}")
        else:
            lines.append(label)
            lines += [f"{pad}  {line}" for line in excerpt[:12]]
    return lines


def _plan_lines(plan: Plan) -> list[str]:
    count = len(plan.changes)
    lines = [f"  Plan: {count} change{'s' if count != 1 else ''}"]
    for warning in plan.warnings:
        lines += _wrap(f"WARNING: {warning}", "    ", "      ")
    for change in plan.changes:
        lines += _wrap(f"{change.kind} {change.target}: {change.why}", "    - ", "      ")
        lines += [f"      {line}" for line in visible(change.diff()).splitlines()]
    for note in plan.notes:
        lines += _wrap(note, "    * ", "      ")
    return lines


def render_text(report: Report, unicode: bool = True) -> str:
    """A report a person reads in a terminal: an overview table, then each step's findings."""
    sep = " · " if unicode else " - "
    lines = [_header_line(report).replace(" · ", sep), f"Overall: {_mark(report.status, unicode)}", ""]
    titles = [visible(r.title, one_line=True) for r in report.results]
    title_width = max((len(t) for t in titles), default=5)
    status_width = max(len(_mark(s, unicode)) for s in Status)
    for number, (title, result) in enumerate(zip(titles, report.results), start=1):
        lines.append(f"{number:>2}  {title.ljust(title_width)}  {_mark(result.status, unicode).ljust(status_width)}  "
                     f"{visible(result.summary, one_line=True)}")
    for number, (title, result) in enumerate(zip(titles, report.results), start=1):
        lines += ["", f"{number}. {title}: {_mark(result.status, unicode)}"]
        lines += _wrap(result.summary, "  ", "  ")
        subject_width = min(max((len(visible(f.subject, one_line=True)) for f in result.findings), default=0), 16)
        for finding in result.findings:
            lines += _finding_lines(finding, subject_width, unicode)
        if result.plan:
            lines += _plan_lines(result.plan)
    text = "\n".join(lines) + "\n"
    return text if unicode else text.encode("ascii", "replace").decode("ascii")


def _md_escape(text: str) -> str:
    return visible(text).replace("|", "\\|").replace("\n", " ")


def _md_lines(text: str) -> list[str]:
    """Lines of an excerpt or a diff, escaped before splitting (splitlines also breaks on
    \\x1c-\\x1e, \\x85 and U+2028, which are then shown instead)."""
    return visible(text).splitlines()


def render_markdown(report: Report) -> str:
    """A report to paste into a ticket or a wiki."""
    machine = report.machine
    v = visible
    lines = [f"# ssdwizard report: {v(machine.hostname or 'unknown host', one_line=True)}", ""]
    lines.append(f"ssdwizard {__version__}, kernel {v(machine.kernel or 'unknown', one_line=True)}"
                 + (f", profile `{v(machine.profile, one_line=True)}`" if machine.profile else "")
                 + f". Overall: **{report.status.value}**.")
    lines += ["", "| # | step | status | summary |", "|---|---|---|---|"]
    for number, result in enumerate(report.results, start=1):
        lines.append(f"| {number} | {_md_escape(result.title)} | {_mark(result.status, True)} "
                     f"| {_md_escape(result.summary)} |")
    for number, result in enumerate(report.results, start=1):
        lines += ["", f"## {number}. {v(result.title, one_line=True)}: {result.status.value}", "",
                  v(result.summary), ""]
        for finding in result.findings:
            subject = v(finding.subject, one_line=True)
            lines.append(f"- {_mark(finding.status, True)} **{subject}**: {v(finding.message)}")
            if finding.advice:
                lines.append(f"  - Advice: {v(finding.advice)}")
            for evidence in finding.evidence:
                lines.append(f"  - Evidence from `{v(evidence.source, one_line=True)}`:")
                if evidence.excerpt.strip():
                    excerpt = _md_lines(evidence.excerpt.strip())
                    lines += ["", "    ```", *(f"    {line}" for line in excerpt), "    ```", ""]
        if result.plan:
            lines += ["", "**Plan**:", ""]
            lines += [f"- **Warning**: {v(w)}" for w in result.plan.warnings]
            for change in result.plan.changes:
                lines += [f"- {v(change.kind, one_line=True)} `{v(change.target, one_line=True)}`: {v(change.why)}", "",
                          "  ```diff", *(f"  {line}" for line in _md_lines(change.diff())), "  ```", ""]
            lines += [f"- {v(note)}" for note in result.plan.notes]
    return "\n".join(lines).rstrip("\n") + "\n"


# render_text's ``unicode`` has a default, so all three are called the same way: renderer(report).
RENDERERS: dict[str, Callable[[Report], str]] = {"text": render_text, "markdown": render_markdown, "json": render_json}
