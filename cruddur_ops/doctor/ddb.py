"""Doctor's DynamoDB checks: the endpoint, the table and its stream, and the items of one bounded scan."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from cruddur_ops.ddb.model import GROUP_INDEX, GROUP_PREFIX, MESSAGE_PREFIX, TABLE
from cruddur_ops.doctor.context import FAIL, OK, WARN, Check, Context, Scan, _capped, _short
from cruddur_ops.errors import CruddurError
from cruddur_ops.settings import LOCAL_REGION, Action, Settings

FUTURE_SLACK = timedelta(minutes=1)  # clocks differ a little
STREAM_VIEWS = ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")  # the processor reads NewImage


# --- 1. the endpoint ------------------------------------------------------------------------------------------------
def _aws_identity(s: Settings) -> tuple[str | None, str | None]:
    """(region, where the credentials come from) as a client of these settings would see them."""
    import boto3

    local = s.is_local("dynamodb")
    session = boto3.session.Session(profile_name=s.profile) if s.profile else boto3.session.Session()
    region = s.region or (LOCAL_REGION if local else session.region_name)
    if local and not s.profile and not s.has_access_key:
        return region, "dummy local credentials"
    credentials = session.get_credentials()
    return region, (credentials.method if credentials else None)


def _local_engine_hint(s: Settings) -> str:
    from cruddur_ops.local import dynamodb_local

    engine = dynamodb_local.running(s.data_dir)
    if engine and engine.endpoint != s.endpoint_for("dynamodb"):
        return f'DynamoDB Local from `cruddur local up` runs on {engine.endpoint}: eval "$(cruddur local env)"'
    return 'start DynamoDB Local with `cruddur local up`, then eval "$(cruddur local env)"'


def check_dynamodb_endpoint(ctx: Context) -> Check:
    s = ctx.settings
    local = s.is_local("dynamodb")
    where = s.describe_endpoint("dynamodb")
    kind = "local" if local else "production"
    from botocore.exceptions import BotoCoreError

    try:
        region, credentials = _aws_identity(s)
    except BotoCoreError as exc:  # ProfileNotFound, a failing credential_process
        return Check("dynamodb-endpoint", FAIL, f"{where} ({kind}): {_short(exc)}", "check AWS_PROFILE / --profile")
    if not region:
        return Check("dynamodb-endpoint", FAIL, f"{where} ({kind}): no AWS region", "pass --region or set AWS_REGION")
    if not credentials:
        return Check("dynamodb-endpoint", FAIL, f"{where} ({kind}), region {region}: no AWS credentials",
                     "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; for local engines: "
                     'eval "$(cruddur local env)"')
    problem = ctx.dynamodb_problem()
    if problem:
        fix = _local_engine_hint(s) if local else \
            "check the network, region and credentials; for local engines: " + _local_engine_hint(s)
        return Check("dynamodb-endpoint", FAIL, f"cannot reach {where} ({kind}): {problem}", fix)
    return Check("dynamodb-endpoint", OK, f"{where} ({kind}) answers; region {region}, credentials: {credentials}")


# --- 2. the table ---------------------------------------------------------------------------------------------------
def expected_spec(table: str):
    """The app's table as the schemas describe it, renamed to ``table`` when only cruddur-messages is described."""
    import dataclasses

    from cruddur_ops import defaults
    from cruddur_ops.ddb import schema

    try:
        specs = schema.read(defaults.schema_files()).tables
    except CruddurError:
        return None
    by_name = {spec.name: spec for spec in specs}
    spec = by_name.get(table) or by_name.get(TABLE)
    if spec is not None and spec.name != table:
        spec = dataclasses.replace(spec, request={**spec.request, "TableName": table})
    return spec


def _stream_problem(description: dict) -> str | None:
    stream = description.get("StreamSpecification") or {}
    if not stream.get("StreamEnabled"):
        return "the stream is off, so nothing moves the group rows to new messages"
    if stream.get("StreamViewType") not in STREAM_VIEWS:
        return f"the stream's view type is {stream.get('StreamViewType')}; the processor needs NEW_IMAGE"
    return None


def check_dynamodb_table(ctx: Context) -> Check:
    from cruddur_ops.ddb import schema

    description = ctx.description()
    spec = expected_spec(ctx.table)
    where = ctx.settings.describe_endpoint("dynamodb")
    if description is None:
        return Check("dynamodb-table", FAIL, f"no table {ctx.table} on {where}",
                     "create it: `cruddur ddb schema-load`", fixable=spec is not None)
    if spec is not None:
        diffs = schema.differences(spec, description)
    else:  # no schema file at hand: the model's keys
        keys = [(k["AttributeName"], k["KeyType"]) for k in description["KeySchema"]]
        indexes = {i["IndexName"] for i in description.get("GlobalSecondaryIndexes") or []}
        diffs = [] if keys == [("pk", "HASH"), ("sk", "RANGE")] else [f"keys: {keys}, the app needs pk HASH, sk RANGE"]
        diffs += [] if GROUP_INDEX in indexes else [f"GSI {GROUP_INDEX}: missing from the table"]
    stream = _stream_problem(description)
    if diffs:
        return Check("dynamodb-table", FAIL, f"{ctx.table} differs from the app's schema: " + "; ".join(diffs)
                     + (f"; and {stream}" if stream else ""),
                     "recreate it (its items are lost): `cruddur ddb schema-load --recreate`",
                     details=[{"difference": d} for d in diffs])
    if stream:
        stream_spec = description.get("StreamSpecification") or {}
        return Check("dynamodb-table", WARN, f"{ctx.table}: {stream}",
                     "enable it with StreamViewType NEW_IMAGE (as schemas/ declares), then run "
                     "`cruddur ddb stream process --follow`", fixable=not stream_spec.get("StreamEnabled"))
    view = description["StreamSpecification"]["StreamViewType"]
    return Check("dynamodb-table", OK, f"{ctx.table}: keys pk/sk, GSI {GROUP_INDEX}, stream {view}; "
                 f"{description.get('ItemCount', 0):,} items")


def fix_dynamodb_table(ctx: Context) -> str:
    from cruddur_ops.ddb import schema

    ctx.require_dynamodb()
    client = ctx.write_dynamodb(Action("change table", ctx.table))
    if ctx.description() is None:
        spec = expected_spec(ctx.table)
        result = schema.load(client, [spec])[0]
        return f"table {result.name} {result.status}"
    client.update_table(TableName=ctx.table, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    return f"stream of {ctx.table} enabled (NEW_IMAGE)"


# --- 5b. items against the declared entities ------------------------------------------------------------------------------
def check_item_shapes(ctx: Context) -> Check:
    """Every scanned item against the entities of the app's schema (GroupRow, Message): the checks of
    `cruddur ddb validate` (keys, index keys, types, required attributes, TTL)."""
    from cruddur_ops.ddb.validate import checker_for

    spec = expected_spec(ctx.table)
    if spec is None or not spec.entities:
        return Check("item-shapes", WARN, f"no entities declared for {ctx.table} in the schema files: items not checked",
                     "declare Entities beside AccessPatterns (docs/entities.md)")
    scan = ctx.scan()
    checker = checker_for(ctx.dynamodb(), spec, table=ctx.table, now=ctx.now.timestamp())
    problems = []
    for item in scan.items:
        entity, found = checker.check(item)
        problems += [{"pk": item.get("pk"), "sk": item.get("sk"), "entity": entity, "field": f, "problem": p}
                     for f, p in found]
    counts = {name: len(scan.of(name)) for name in spec.entities}
    if problems:
        items = len({(p["pk"], p["sk"]) for p in problems})
        return Check("item-shapes", FAIL,
                     f"{items} item(s) do not follow the app's entities ({len(problems)} problem(s)), e.g. "
                     f"{problems[0]['pk']}: {problems[0]['problem']}" + scan.caveat(),
                     "written by something other than the app (or an older version): list them all with "
                     f"`cruddur ddb validate {ctx.table}`", details=_capped(problems))
    return Check("item-shapes", OK, f"{len(scan.items):,} items follow the app's entities ("
                 + ", ".join(f"{n:,} {name}" for name, n in counts.items()) + ")" + scan.caveat())


# --- 6. timestamps ------------------------------------------------------------------------------------------------------
NAIVE_CAUSE = ("the app writes them with datetime.now().isoformat() without a timezone; they sort as UTC (correct "
               "when the app's clock is UTC)")


def check_message_timestamps(ctx: Context) -> Check:
    scan = ctx.scan()
    horizon = ctx.now + FUTURE_SLACK
    problems, naive = [], []
    for item, entity in zip(scan.items, scan.kinds(), strict=True):  # classified by the declared entities
        pk, sk = str(item.get("pk", "")), item.get("sk")
        kind = {"Message": "message", "GroupRow": "group row"}.get(entity or "")
        if kind is None:
            continue
        try:
            moment = datetime.fromisoformat(str(sk))
        except ValueError:
            problems.append({"pk": pk, "sk": sk, "kind": kind, "problem": "not an ISO 8601 time"})
            continue
        if moment.tzinfo is None or moment.utcoffset() is None:
            naive.append({"pk": pk, "sk": sk, "kind": kind, "problem": "naive (no UTC offset)"})
            moment = moment.replace(tzinfo=UTC)  # how it sorts among the others
        if moment > horizon:
            problems.append({"pk": pk, "sk": sk, "kind": kind, "problem": "in the future"})
    if problems:
        counts: defaultdict[Any, int] = defaultdict(int)
        for p in naive + problems:
            counts[p["problem"]] += 1
        return Check("message-timestamps", FAIL,
                     f"{len(problems) + len(naive)} item(s) with a bad time: "
                     + ", ".join(f"{n} {k}" for k, n in counts.items())
                     + "; new messages sort before them" + scan.caveat(),
                     "times are aware UTC (2026-12-01T05:50:31.000000+00:00): reseed with `cruddur ddb seed` "
                     "(a seed `start` in the future: move it back); write new ones with "
                     "datetime.now(timezone.utc).isoformat()", details=_capped(naive + problems))
    if naive:
        return Check("message-timestamps", WARN,
                     f"{len(naive)} item(s) with a naive time (no UTC offset): {NAIVE_CAUSE}" + scan.caveat(),
                     "in the app, write datetime.now(timezone.utc).isoformat() instead of datetime.now().isoformat()",
                     details=_capped(naive))
    return Check("message-timestamps", OK,
                 f"{len(scan.messages):,} messages and {len(scan.group_rows):,} group rows have past UTC times"
                 + scan.caveat())


# --- 7. group rows on the last message ---------------------------------------------------------------------------------
def _last_messages(scan: Scan) -> dict[str, tuple[str, str]]:
    last: dict[str, tuple[str, str]] = {}
    for item in scan.messages:
        group, sk = str(item["pk"])[len(MESSAGE_PREFIX):], str(item.get("sk", ""))
        if group not in last or sk > last[group][0]:
            last[group] = (sk, str(item.get("message", "")))
    return last


def _by_owner(scan: Scan) -> dict[tuple[str, str], list[dict]]:
    """Group rows by (owner pk, message_group_uuid), oldest first: one row each when all is well."""
    rows: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in scan.group_rows:
        rows[(str(row["pk"]), str(row.get("message_group_uuid")))].append(row)
    for found in rows.values():
        found.sort(key=lambda r: str(r.get("sk", "")))
    return rows


def _stale_rows(scan: Scan) -> tuple[list[dict], list[dict], int]:
    """(rows not on their conversation's last message, rows of conversations without messages, rows not checked).

    Only each owner's newest row of a conversation is compared (older copies are duplicate-group-rows). After a
    partial scan, a row whose conversation's messages were not scanned, or that is newer than the scanned ones,
    is not checked rather than reported.
    """
    last = _last_messages(scan)
    stale, orphans, unchecked = [], [], 0
    for (pk, group), found in _by_owner(scan).items():
        row = found[-1]
        if group not in last:
            if scan.truncated:
                unchecked += 1
            else:
                orphans.append({"pk": pk, "sk": row.get("sk"), "message_group_uuid": group})
            continue
        sk, text = last[group]
        behind = str(row.get("sk", "")) < sk
        if scan.truncated and not behind:
            if row.get("sk") != sk:
                unchecked += 1
            continue
        if row.get("sk") != sk or row.get("message") != text:
            stale.append({"pk": pk, "sk": row.get("sk"), "message_group_uuid": group, "last_message_at": sk,
                          "behind": behind})
    return stale, orphans, unchecked


def check_group_rows_current(ctx: Context) -> Check:
    scan = ctx.scan()
    stale, orphans, unchecked = _stale_rows(scan)
    not_checked = (f"; {unchecked:,} row(s) not checked: their conversation's newest messages are beyond "
                   f"--max-items {scan.max_items:,}") if unchecked else ""
    if stale:
        groups = {s["message_group_uuid"] for s in stale}
        return Check("group-rows-current", FAIL,
                     f"{len(stale)} group row(s) of {len(groups)} conversation(s) do not show the conversation's last "
                     "message: the stream processor is not running" + not_checked + scan.caveat(),
                     "run `cruddur ddb stream process` (and keep `--follow` running beside the app), or "
                     "`cruddur doctor --fix`", details=_capped(stale), fixable=any(s["behind"] for s in stale))
    if unchecked:
        return Check("group-rows-current", WARN, f"no group row behind a scanned message{not_checked}" + scan.caveat(),
                     "raise --max-items to check every row")
    also = (f"; {len(orphans)} row(s) of conversations without messages: see orphan-conversations"
            if orphans else "")
    return Check("group-rows-current", OK,
                 f"all {len(scan.group_rows) - len(orphans):,} group rows of conversations with messages show the "
                 "last message" + also + scan.caveat())


def fix_group_rows_current(ctx: Context) -> str:
    from cruddur_ops.ddb import stream

    client = ctx.write_dynamodb(Action("move group rows in", ctx.table))
    scan = ctx.scan()
    last = _last_messages(scan)
    stale, _, _ = _stale_rows(scan)
    moved = unmoved = 0
    for group in dict.fromkeys(s["message_group_uuid"] for s in stale if s["behind"]):
        sk, text = last[group]
        for move in stream.apply_message(client, ctx.table, group, sk, text):
            if move.outcome == "moved":
                moved += 1
            else:
                unmoved += 1
    return f"moved {moved} group row(s) to their last message" + (f"; {unmoved} left as they were" if unmoved else "")


# --- 7b. one group row per user per conversation -------------------------------------------------------------------------------
def _duplicates(scan: Scan) -> list[dict]:
    return [{"pk": pk, "message_group_uuid": group, "rows": len(found), "kept_sk": found[-1].get("sk"),
             "older_sks": [r.get("sk") for r in found[:-1]], "user_handle": found[-1].get("user_handle")}
            for (pk, group), found in _by_owner(scan).items() if len(found) > 1]


def check_duplicate_group_rows(ctx: Context) -> Check:
    scan = ctx.scan()
    duplicates = _duplicates(scan)
    if duplicates:
        extra = sum(d["rows"] - 1 for d in duplicates)
        return Check("duplicate-group-rows", FAIL,
                     f"{len(duplicates)} inbox(es) list a conversation more than once ({extra} extra group row(s)): "
                     "written at different times by different writers (e.g. a seed before the stream processor "
                     "moved the row, or an old cruddur), each row keyed by its own last-message time" + scan.caveat(),
                     "`cruddur doctor --fix` keeps each user's newest row of the conversation and deletes the others",
                     details=_capped(duplicates), fixable=True)
    return Check("duplicate-group-rows", OK,
                 f"one group row per user per conversation ({len(scan.group_rows):,} rows)" + scan.caveat())


def fix_duplicate_group_rows(ctx: Context) -> str:
    from cruddur_ops.ddb import grouprows

    client = ctx.write_dynamodb(Action("delete duplicate group rows in", ctx.table))
    deleted = 0
    for group in dict.fromkeys(d["message_group_uuid"] for d in _duplicates(ctx.scan())):
        for placed in grouprows.place(client, ctx.table, group, None, None):
            deleted += placed.deleted
    return f"deleted {deleted} older duplicate group row(s), kept the newest of each"


# --- 7c. visible through the app's year filter ---------------------------------------------------------------------------------
def check_group_rows_year(ctx: Context) -> Check:
    scan = ctx.scan()
    year = str(ctx.now.astimezone(UTC).year)
    outside = [{"pk": r["pk"], "sk": r.get("sk"), "message_group_uuid": r.get("message_group_uuid"),
                "user_handle": r.get("user_handle")} for r in scan.group_rows if not str(r.get("sk", "")).startswith(year)]
    if outside:
        return Check("group-rows-year", WARN,
                     f"{len(outside)} of {len(scan.group_rows):,} group row(s) are outside {year}: the app lists "
                     f"conversations with begins_with(sk, '{year}'), so it does not show them" + scan.caveat(),
                     "`cruddur ddb seed` re-places floating conversations (no `start`) relative to now; move fixed "
                     f"`start`s into {year} or drop them", details=_capped(outside))
    return Check("group-rows-year", OK,
                 f"all {len(scan.group_rows):,} group rows are in {year}, visible to the app's year filter" + scan.caveat())


# --- 8. group rows and users ----------------------------------------------------------------------------------------------
def check_group_row_users(ctx: Context) -> Check:
    users = ctx.users()
    scan = ctx.scan()
    known = {u["uuid"] for u in users}
    unknown = []
    for row in scan.group_rows:
        owner = str(row["pk"])[len(GROUP_PREFIX):]
        for role, uuid in (("owner (pk)", owner), ("user_uuid", row.get("user_uuid"))):
            if uuid not in known:
                unknown.append({"pk": row["pk"], "sk": row.get("sk"), "field": role, "uuid": uuid,
                                "user_handle": row.get("user_handle") if role == "user_uuid" else None})
    if unknown:
        uuids = {u["uuid"] for u in unknown}
        return Check("group-row-users", FAIL,
                     f"{len(unknown)} group row field(s) name {len(uuids)} user uuid(s) that are not in users: "
                     "DynamoDB was seeded from another database" + scan.caveat(),
                     "reseed DynamoDB with this database's users: `cruddur ddb schema-load --recreate` then "
                     "`cruddur ddb seed --users-from db`", details=_capped(unknown))
    return Check("group-row-users", OK,
                 f"the users of all {len(scan.group_rows):,} group rows are in users" + scan.caveat())


# --- 9. duplicate conversations ----------------------------------------------------------------------------------------------
def check_duplicate_conversations(ctx: Context) -> Check:
    scan = ctx.scan()
    groups: dict[frozenset, set] = defaultdict(set)
    names: dict[str, str] = {}
    for row in scan.group_rows:
        owner, other = str(row["pk"])[len(GROUP_PREFIX):], row.get("user_uuid")
        names[str(other)] = row.get("user_handle") or str(other)
        if row.get("message_group_uuid"):
            groups[frozenset((owner, other))].add(row["message_group_uuid"])
    duplicates = [{"users": sorted(names.get(str(u), str(u)) for u in pair), "message_group_uuids": sorted(g)}
                  for pair, g in groups.items() if len(g) > 1]
    if duplicates:
        # Not a fault: the app's create_message_group starts a new conversation each time one is begun, and the
        # seed refuses two conversations of one pair. Said, with the groups, so a reader can tell them apart.
        return Check("duplicate-conversations", OK,
                     f"{len(duplicates)} pair(s) of users have more than one conversation (the app starts a new one "
                     "each time; not a fault): "
                     + ", ".join(" & ".join(d["users"]) + f" ({len(d['message_group_uuids'])})" for d in duplicates[:5])
                     + scan.caveat(),
                     details=_capped(duplicates))
    return Check("duplicate-conversations", OK,
                 f"{len(groups):,} conversation(s), at most one per pair of users" + scan.caveat())


# --- 9b. orphan conversations --------------------------------------------------------------------------------------------------
MAX_LOOKUPS = 200  # after a partial scan, candidates are confirmed with one small query each, up to this many


def _has_group_row(client, table: str, group: str) -> bool:
    found = client.query(TableName=table, IndexName=GROUP_INDEX, Limit=1, Select="COUNT",
                         KeyConditionExpression="message_group_uuid = :g",
                         ExpressionAttributeValues={":g": {"S": group}})
    return bool(found.get("Count"))


def _has_messages(client, table: str, group: str) -> bool:
    found = client.query(TableName=table, Limit=1, Select="COUNT", KeyConditionExpression="pk = :pk",
                         ExpressionAttributeValues={":pk": {"S": MESSAGE_PREFIX + group}})
    return bool(found.get("Count"))


def check_orphan_conversations(ctx: Context) -> Check:
    """Messages ``MSG#g`` with no group row for ``g`` (the conversation is in no one's inbox: the app cannot show
    it), and group rows whose conversation has no messages (an inbox entry that opens empty). After a partial
    scan each candidate is confirmed with a query (up to :data:`MAX_LOOKUPS`), never assumed."""
    scan = ctx.scan()
    message_counts: dict[str, int] = defaultdict(int)
    for item in scan.messages:
        message_counts[str(item["pk"])[len(MESSAGE_PREFIX):]] += 1
    rows_by_group: dict[str, list[dict]] = defaultdict(list)
    for row in scan.group_rows:
        rows_by_group[str(row.get("message_group_uuid", ""))].append(row)
    without_rows = sorted(g for g in message_counts if g not in rows_by_group)
    without_messages = sorted(g for g in rows_by_group if g not in message_counts)
    unchecked = 0
    if scan.truncated:  # what the scan did not reach may hold the other half: ask
        client, confirmed_rows, confirmed_msgs = ctx.dynamodb(), [], []
        lookups = 0
        for group in without_rows:
            if lookups >= MAX_LOOKUPS:
                unchecked += 1
                continue
            lookups += 1
            if not _has_group_row(client, ctx.table, group):
                confirmed_rows.append(group)
        for group in without_messages:
            if lookups >= MAX_LOOKUPS:
                unchecked += 1
                continue
            lookups += 1
            if not _has_messages(client, ctx.table, group):
                confirmed_msgs.append(group)
        without_rows, without_messages = confirmed_rows, confirmed_msgs
    details: list[dict[str, Any]] = [
        {"message_group_uuid": g, "problem": "messages without group rows", "messages": message_counts[g]}
        for g in without_rows]
    for group in without_messages:
        rows = rows_by_group[group]
        details.append({"message_group_uuid": group, "problem": "group rows without messages",
                        "group_rows": [{"pk": r["pk"], "sk": r.get("sk"), "user_handle": r.get("user_handle")}
                                       for r in rows]})
    not_checked = f"; {unchecked} candidate(s) not confirmed (over {MAX_LOOKUPS} lookups)" if unchecked else ""
    if details:
        parts = []
        if without_rows:
            parts.append(f"{len(without_rows)} conversation(s) have messages but no group row (in no one's inbox: "
                         "the app cannot show them)")
        if without_messages:
            parts.append(f"{len(without_messages)} conversation(s) have group rows but no messages (an inbox entry "
                         "that opens empty)")
        return Check("orphan-conversations", WARN, "; ".join(parts) + not_checked + scan.caveat(),
                     "write the conversation's group rows (pattern C writes both), delete the orphaned items "
                     "(`cruddur ddb delete-items`), or reseed: `cruddur ddb seed`", details=_capped(details))
    return Check("orphan-conversations", OK,
                 f"every conversation ({len(message_counts):,} with messages) has both messages and group rows"
                 + not_checked + scan.caveat())
