"""What `cruddur doctor` and `cruddur ddb audit` share: the four statuses, a finding, a report of findings, and
the one fix-then-check-again loop both `--fix` options run.

* a status is ``ok``, ``warn``, ``fail`` or ``n/a`` — n/a when the engine or the caller cannot answer, never a
  failure of its own;
* a :class:`Finding` says where (``scope``), which ``check``, its status, what was ``found`` and the ``fix``
  (doctor's own rows, :class:`cruddur_ops.doctor.Check`, add a title, details and whether ``--fix`` repairs it);
* :class:`Report` counts its findings by status; :func:`fix_then_recheck` checks, asks, fixes, checks again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, Protocol, TypedDict, TypeVar

Status = Literal["ok", "warn", "fail", "n/a"]
OK: Status = "ok"
WARN: Status = "warn"
FAIL: Status = "fail"
NA: Status = "n/a"
STATUSES: tuple[Status, ...] = (OK, WARN, FAIL, NA)


class HasStatus(Protocol):
    @property
    def status(self) -> str: ...


class FindingDoc(TypedDict):
    scope: str
    check: str
    status: str
    found: str
    fix: str


@dataclass
class Finding:
    scope: str  # a table name, or "account"
    check: str
    status: str  # ok | warn | fail | n/a
    found: str
    fix: str = ""

    def to_dict(self) -> FindingDoc:
        return {"scope": self.scope, "check": self.check, "status": self.status, "found": self.found, "fix": self.fix}


def summarize(findings: Iterable[HasStatus]) -> dict[str, int]:
    """``{"ok": n, "warn": n, "fail": n, "n/a": n}``, every key always present."""
    statuses = [f.status for f in findings]
    return {status: statuses.count(status) for status in STATUSES}


class Report:
    """A result made of findings (anything with a ``status``); subclasses add what they report about."""

    findings: Sequence[HasStatus]

    @property
    def failed(self) -> list:
        return [f for f in self.findings if f.status == FAIL]

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> dict[str, int]:
        return summarize(self.findings)


R = TypeVar("R")  # a report
F = TypeVar("F")  # a finding to fix
D = TypeVar("D")  # what one fix reports


@dataclass
class FixRun(Generic[R, D]):
    """What ``--fix`` did: the report to show (checked again after fixing) and each fix's own result."""

    report: R
    fixes: list[D]
    before: R  # the first report (the same object as ``report`` when nothing was fixed)


def fix_then_recheck(check: Callable[[], R], *, fix: bool, fixable: Callable[[R], list[F]],
                     apply: Callable[[list[F]], list[D]], confirm: Callable[[list[F]], None] | None = None,
                     on_nothing: Callable[[], None] | None = None) -> FixRun[R, D]:
    """Check; with ``fix``, ask (``confirm`` raises to refuse), apply the fixable findings' fixes, then check again
    from scratch so the report shows what is true now. Without ``fix``, or with nothing to fix, one check."""
    first = check()
    if not fix:
        return FixRun(first, [], first)
    todo = fixable(first)
    if not todo:
        if on_nothing:
            on_nothing()
        return FixRun(first, [], first)
    if confirm:
        confirm(todo)
    done = apply(todo)
    return FixRun(check() if done else first, done, first)
