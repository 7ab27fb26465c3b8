"""cruddur_ops.checks: the statuses, a report's counts, and the one fix-then-check-again loop of doctor and audit."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from cruddur_ops.checks import FAIL, NA, OK, STATUSES, WARN, Finding, Report, fix_then_recheck, summarize


@dataclass
class Findings(Report):
    findings: list[Finding] = field(default_factory=list)


def _world(*statuses: str):
    """A little world whose checks find ``statuses`` and whose fixes turn a failed finding ok."""
    state = {"statuses": list(statuses), "checked": 0, "applied": []}

    def check() -> Findings:
        state["checked"] += 1
        return Findings([Finding("t", f"c{i}", s, "found") for i, s in enumerate(state["statuses"])])

    def apply(todo: list[Finding]) -> list[dict]:
        for finding in todo:
            state["statuses"][int(finding.check[1:])] = OK
            state["applied"].append(finding.check)
        return [{"check": f.check, "action": "fixed"} for f in todo]

    return state, check, apply


def _failed(report: Findings) -> list[Finding]:
    return report.failed


def test_summary_counts_every_status_and_keeps_every_key():
    report = Findings([Finding("t", "a", OK, ""), Finding("t", "b", FAIL, ""), Finding("t", "c", FAIL, "")])
    assert report.summary() == {"ok": 1, "warn": 0, "fail": 2, "n/a": 0}
    assert summarize([]) == dict.fromkeys(STATUSES, 0)
    assert not report.ok and Findings([Finding("t", "a", NA, ""), Finding("t", "b", WARN, "")]).ok


def test_without_fix_it_checks_once_and_changes_nothing():
    state, check, apply = _world(FAIL, OK)
    run = fix_then_recheck(check, fix=False, fixable=_failed, apply=apply)
    assert state["checked"] == 1 and state["applied"] == [] and run.fixes == []
    assert run.report.summary()["fail"] == 1


def test_fix_asks_applies_then_checks_again_from_scratch():
    state, check, apply = _world(FAIL, OK, FAIL)
    asked = []
    run = fix_then_recheck(check, fix=True, fixable=_failed, apply=apply, confirm=lambda todo: asked.append(
        [f.check for f in todo]))
    assert asked == [["c0", "c2"]] and state["applied"] == ["c0", "c2"] and state["checked"] == 2
    assert run.report.summary()["fail"] == 0 and run.before.summary()["fail"] == 2
    assert run.fixes == [{"check": "c0", "action": "fixed"}, {"check": "c2", "action": "fixed"}]


def test_nothing_to_fix_says_so_and_does_not_ask():
    state, check, apply = _world(OK, WARN)
    said, asked = [], []
    run = fix_then_recheck(check, fix=True, fixable=_failed, apply=apply, confirm=asked.append,
                           on_nothing=lambda: said.append("nothing"))
    assert said == ["nothing"] and asked == [] and state["checked"] == 1 and run.fixes == []


def test_a_refused_confirmation_applies_nothing():
    state, check, apply = _world(FAIL)

    def refuse(todo):
        raise RuntimeError("refused")

    with pytest.raises(RuntimeError, match="refused"):
        fix_then_recheck(check, fix=True, fixable=_failed, apply=apply, confirm=refuse)
    assert state["applied"] == [] and state["statuses"] == [FAIL]
