"""`cruddur doctor`: the traps that cost the original developers days, found across both engines, explained, and —
where that is safe — repaired.

Each check is a small function ``check_…(ctx) -> Check`` with a status (``ok``, ``warn``, ``fail`` or ``n/a``),
what it found, and the command that fixes it; a few have a fixer (``--fix``) that applies the same library code
the matching command runs. A check that needs an engine the earlier checks could not reach is ``n/a``, never a
failure of its own. The checks, in order:

1. ``dynamodb-endpoint``  the endpoint in use (local or production) answers; region and credentials are present
2. ``dynamodb-table``     the table exists with the app's keys and GSI, and its stream is on (fix: create / enable)
3. ``postgres``           the database answers and has a ``users`` table (fix: ``db setup``, local only)
4. ``seed-handles``       every handle of the seed file is in ``users`` (fix: insert the seed file's users)
5. ``cognito-user-ids``   users whose ``cognito_user_id`` is empty or a placeholder such as ``MOCK``
5b. ``item-shapes``      every item follows the app's declared entities (GroupRow, Message in schemas/): keys,
   index keys, attribute types, required attributes (``cruddur ddb validate``'s checks)
6. ``message-timestamps`` messages and group rows whose time is in the future or not ISO 8601 (fail), or naive
   (warn: the app's ``datetime.now().isoformat()`` without a timezone; they sort as UTC)
7. ``duplicate-group-rows`` a user's inbox holding one conversation more than once (fix: keep the newest)
8. ``group-rows-current`` group rows that do not show their conversation's last message (fix: the stream
   processor's own row move, :func:`cruddur_ops.ddb.stream.apply_message`)
9. ``group-rows-year``   group rows outside the current year, hidden by the app's ``begins_with(sk, year)``
10. ``group-row-users``   group rows naming a user uuid that is not in ``users``
11. ``duplicate-conversations`` two users with more than one conversation
11b. ``orphan-conversations`` messages ``MSG#g`` with no group row for ``g``, and group rows whose conversation has
    no messages (after a partial scan, each candidate is confirmed with a query)
12. ``blocking-sessions`` other sessions on the database, which make a plain ``DROP DATABASE`` fail. ``--fix``
    repairs data only and never ends a session (a running app's connection pool is one); ending them is its own
    action, ``--end-sessions`` (:func:`end_sessions`), which names each session (pid, application_name, client
    address, user) and asks first.

The DynamoDB checks share one scan of the table, bounded by ``max_items`` (default 100,000); a check that saw
only part of the table says so, and reports what it could not check as ``warn``, never as a failure.

The checks live by engine in :mod:`.ddb` and :mod:`.pg`; :mod:`.context` holds what they share. This module is
the registry (``CHECKS``, in order), :func:`run_checks`, :func:`apply_fixes` and :func:`diagnose`, the one call
`cruddur doctor` makes (check, with ``--fix`` repair and check again, through :func:`cruddur_ops.checks.fix_then_recheck`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from cruddur_ops.checks import FAIL, NA, WARN, Report, fix_then_recheck
from cruddur_ops.ddb.model import TABLE
from cruddur_ops.doctor.context import DEFAULT_MAX_ITEMS, Check, Context, NotApplicable, _short
from cruddur_ops.doctor.ddb import (
    check_duplicate_conversations,
    check_duplicate_group_rows,
    check_dynamodb_endpoint,
    check_dynamodb_table,
    check_group_row_users,
    check_group_rows_current,
    check_group_rows_year,
    check_item_shapes,
    check_message_timestamps,
    check_orphan_conversations,
    fix_duplicate_group_rows,
    fix_dynamodb_table,
    fix_group_rows_current,
)
from cruddur_ops.doctor.pg import (
    check_blocking_sessions,
    check_cognito_user_ids,
    check_postgres,
    check_seed_handles,
    describe_session,
    fix_postgres,
    fix_seed_handles,
)
from cruddur_ops.errors import CruddurError
from cruddur_ops.settings import Action, Settings

__all__ = ["CHECKS", "NAMES", "Check", "CheckSpec", "Context", "DoctorReport", "apply_fixes", "describe_session",
           "diagnose", "end_sessions", "report", "run_checks"]


# --- running them ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckSpec:
    name: str
    title: str
    run: Callable[[Context], Check]
    fixer: Callable[[Context], str] | None = None


CHECKS = [
    CheckSpec("dynamodb-endpoint", "DynamoDB endpoint, region, credentials", check_dynamodb_endpoint),
    CheckSpec("dynamodb-table", "Table, keys, GSI, stream", check_dynamodb_table, fix_dynamodb_table),
    CheckSpec("postgres", "PostgreSQL and users table", check_postgres, fix_postgres),
    CheckSpec("seed-handles", "Seed file handles in users", check_seed_handles, fix_seed_handles),
    CheckSpec("cognito-user-ids", "Cognito user ids", check_cognito_user_ids),
    CheckSpec("item-shapes", "Items follow the declared entities", check_item_shapes),
    CheckSpec("message-timestamps", "Message timestamps (UTC, not future)", check_message_timestamps),
    CheckSpec("duplicate-group-rows", "One group row per user per conversation", check_duplicate_group_rows,
              fix_duplicate_group_rows),
    CheckSpec("group-rows-current", "Group rows on the last message", check_group_rows_current, fix_group_rows_current),
    CheckSpec("group-rows-year", "Group rows in the current year", check_group_rows_year),
    CheckSpec("group-row-users", "Group row users in users", check_group_row_users),
    CheckSpec("duplicate-conversations", "Duplicate conversations", check_duplicate_conversations),
    CheckSpec("orphan-conversations", "Conversations with messages and group rows", check_orphan_conversations),
    CheckSpec("blocking-sessions", "Sessions blocking db drop", check_blocking_sessions),  # never a --fix
]
NAMES = [spec.name for spec in CHECKS]


def run_checks(ctx: Context, names: list[str] | None = None) -> list[Check]:
    """Every check (or the named ones), in order; an engine error inside a check is that check's failure."""
    results = []
    for spec in CHECKS:
        if names and spec.name not in names:
            continue
        try:
            check = spec.run(ctx)
        except NotApplicable as exc:
            check = Check(spec.name, NA, str(exc))
        except Exception as exc:  # an engine error mid-check (botocore, psycopg, CruddurError)
            check = Check(spec.name, FAIL, f"the check itself failed: {type(exc).__name__}: {_short(exc)}",
                          "rerun with --debug")
        check.title = spec.title
        check.fixable = bool(check.fixable and spec.fixer and check.status in (WARN, FAIL))
        results.append(check)
    return results


class FixDoc(TypedDict):
    name: str
    applied: bool
    result: str


def apply_fixes(ctx: Context, checks: list[Check], on_note: Callable[[str], None] | None = None) -> list[FixDoc]:
    """Run the fixer of every fixable check; ``[{"name", "applied", "result"}]``. A refused fix does not stop the rest."""
    note = on_note or (lambda message: None)
    fixers = {spec.name: spec.fixer for spec in CHECKS if spec.fixer}
    done: list[FixDoc] = []
    for check in checks:
        if not check.fixable:
            continue
        try:
            result, applied = fixers[check.name](ctx), True
        except Exception as exc:  # ProdGuardError, engine errors
            result, applied = _short(exc), False
        note(f"{check.name}: {result}" if applied else f"{check.name}: not fixed: {result}")
        done.append({"name": check.name, "applied": applied, "result": result})
    return done


class ScanDoc(TypedDict):
    items: int
    max_items: int
    truncated: bool


class DoctorDoc(TypedDict):
    ok: bool
    summary: dict[str, int]
    endpoint: str
    table: str
    database: str | None
    seed_file: str
    scan: ScanDoc | None
    checks: list[Any]  # CheckDoc
    fixes: list[FixDoc]


@dataclass
class DoctorReport(Report):
    """What `cruddur doctor` found, with the fixes applied; :meth:`to_dict` is the ``--output json`` document."""

    endpoint: str
    table: str
    database: str | None
    seed_file: str
    scan: ScanDoc | None
    findings: list[Check] = field(default_factory=list)
    fixes: list[FixDoc] = field(default_factory=list)

    @property
    def checks(self) -> list[Check]:
        return self.findings

    def to_dict(self) -> DoctorDoc:
        summary = self.summary()
        return {
            "ok": summary[FAIL] == 0,
            "summary": summary,
            "endpoint": self.endpoint,
            "table": self.table,
            "database": self.database,
            "seed_file": self.seed_file,
            "scan": self.scan,
            "checks": [c.to_dict() for c in self.findings],
            "fixes": self.fixes,
        }


def build_report(ctx: Context, checks: list[Check], fixes: list[FixDoc] | None = None) -> DoctorReport:
    try:
        database = ctx.database().masked
    except CruddurError:
        database = None
    scan = ctx.scanned
    return DoctorReport(ctx.settings.describe_endpoint("dynamodb"), ctx.table, database, str(ctx.seed_file()),
                        {"items": len(scan.items), "max_items": scan.max_items, "truncated": scan.truncated} if scan else None,
                        checks, list(fixes or []))


def report(ctx: Context, checks: list[Check], fixes: list[FixDoc] | None = None) -> DoctorDoc:
    """The one document `cruddur doctor --output json` prints."""
    return build_report(ctx, checks, fixes).to_dict()


def end_sessions(settings: Settings, confirm: Callable[[list[dict]], None],
                 on_note: Callable[[str], None] | None = None) -> FixDoc:
    """`doctor --end-sessions`: list the other sessions on the database, ``confirm(sessions)`` (raise to refuse),
    then end exactly those. The production guard runs before any connection."""
    from cruddur_ops.doctor import pg as pgchecks

    ctx = Context(settings)
    try:
        settings.writable(ctx.database(), Action("end sessions"))  # the guard, before any connection
        shown = pgchecks.other_sessions(ctx)
        if not shown:
            result = "no other sessions to end"
        else:
            confirm(shown)
            result = pgchecks.end_sessions(ctx, shown)
    finally:
        ctx.close()
    if on_note:
        on_note(f"end-sessions: {result}")
    return {"name": "end-sessions", "applied": bool(shown), "result": result}


def diagnose(settings: Settings, *, fix: bool = False, table: str = TABLE, seed_path: Path | None = None,
             max_items: int = DEFAULT_MAX_ITEMS, confirm: Callable[[list[Check]], None] | None = None,
             on_note: Callable[[str], None] | None = None, done_first: list[FixDoc] | None = None) -> DoctorReport:
    """Every check; with ``fix``, ``confirm`` (raise to refuse), repair the fixable ones and check again from scratch.
    ``done_first``: actions already taken (``--end-sessions``), reported among the fixes."""
    note = on_note or (lambda message: None)
    contexts: list[Context] = []

    def check() -> DoctorReport:
        for earlier in contexts:  # its connection would count as a session blocking `db drop`
            earlier.close()
        ctx = Context(settings, table=table, seed_path=seed_path, max_items=max_items)
        contexts.append(ctx)
        return build_report(ctx, run_checks(ctx))

    try:
        run = fix_then_recheck(check, fix=fix, fixable=lambda r: [c for c in r.findings if c.fixable],
                               apply=lambda todo: apply_fixes(contexts[0], todo, on_note=note), confirm=confirm,
                               on_nothing=lambda: note("nothing that --fix can repair"))
    finally:
        for ctx in contexts:
            ctx.close()
    run.report.fixes = list(done_first or []) + list(run.fixes)
    return run.report
