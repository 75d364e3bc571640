"""The step model: what a step is, and what its probe returns.

A step is a ``probe(context) -> StepResult`` (reads, never writes) and, where it can change
the machine, a pure ``plan(result, choices) -> Plan | None``. Results are plain data, so the
text/markdown/JSON report and the screens all show the same thing. What a probe is given, the
:class:`~ssdwizard.machine.context.ProbeContext`, lives with the shared machine facts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from ssdwizard.apply.plan import Plan

if TYPE_CHECKING:
    from ssdwizard.machine.context import ProbeContext

class Status(str, Enum):
    """A step's or a finding's verdict. ``error`` means the probe itself broke."""

    OK = "ok"
    SKIP = "skip"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]

    @classmethod
    def worst(cls, statuses: list[Status] | tuple[Status, ...], default: Status | None = None) -> Status:
        """The most severe of ``statuses`` (``default``, else ok, when there are none)."""
        if not statuses:
            return default or cls.OK
        return max(statuses, key=lambda s: s.severity)


# skip ranks with ok: "not applicable here" is not a problem (DESIGN §3.3 exit codes).
_SEVERITY = {Status.OK: 0, Status.SKIP: 0, Status.WARN: 1, Status.FAIL: 2, Status.ERROR: 3}


@dataclass(frozen=True)
class Evidence:
    """Where a finding came from: the command or file, and the lines that decided it."""

    source: str
    excerpt: str = ""


@dataclass(frozen=True)
class Finding:
    status: Status
    subject: str
    message: str
    advice: str = ""
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class StepResult:
    id: str
    title: str
    status: Status
    summary: str
    findings: tuple[Finding, ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)
    #: What the step would change (None: nothing to change, or no apply action for it).
    plan: Plan | None = None
    #: What the probe read that its plan needs (file texts, paths), as the step's own frozen
    #: ``Observed`` dataclass; not part of the report. Planners read this, never the facts.
    observed: Any = field(default=None, compare=False, repr=False)


Probe = Callable[["ProbeContext"], StepResult]
#: Turns a probe's result and the admin's choices ("ceph.values": "guide") into a plan. Pure:
#: everything it needs is in the result.
Planner = Callable[[StepResult, Mapping[str, str]], "Plan | None"]


@dataclass(frozen=True)
class Choice:
    """A decision the admin makes for a step's plan (``--choose KEY=VALUE``), declared once in
    the step table: the CLI checks ``--choose`` against it before anything is probed, ``--help``
    lists it, and the planner reads its allowed values and default from it."""

    key: str
    #: One line: what each value does.
    meaning: str
    #: The values it may take, the default first; empty for free text that the planner checks.
    values: tuple[str, ...] = ()
    #: The value when the admin chooses none; empty where the step works it out from the machine.
    default: str = ""
    #: What a free-text value is, in a few words ("a CIDR").
    form: str = ""

    def __post_init__(self) -> None:
        if self.values and self.default not in self.values:
            raise ValueError(f"choice {self.key}: default {self.default!r} is not one of {self.values}")
        if not self.values and not self.form:
            raise ValueError(f"choice {self.key}: a free-text choice says its form")

    def allows(self, value: str) -> bool:
        return not self.values or value in self.values

    def describe(self) -> str:
        """``mount.discard: timer, keep`` (the default first), or ``migration.network: a CIDR``."""
        return f"{self.key}: {', '.join(self.values) if self.values else self.form}"


@dataclass(frozen=True)
class Step:
    """One screen of the guide: its fixed id and title, the probe behind it, the planner of its
    apply action where it has one, and the choices that planner takes."""

    id: str
    title: str
    probe: Probe
    plan: Planner | None = None
    choices: tuple[Choice, ...] = ()
    #: Decides before the probe (and its imports) whether the step applies here: a reason to
    #: skip, or None. The step table wraps the probe with it (steps/__init__.py).
    gate: Callable[["ProbeContext"], "str | None"] | None = None
    #: The facts a skipped step reports: the keys of its facts (DESIGN §3.2), all empty.
    skip_facts: Mapping[str, Any] = field(default_factory=dict)
