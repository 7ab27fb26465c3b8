"""Doctor's DynamoDB checks: the endpoint, the table and its stream, and the items of one bounded scan."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from cruddur_ops.ddb.model import GROUP_INDEX, GROUP_PREFIX, MESSAGE_PREFIX, TABLE
from cruddur_ops.doctor.context import FAIL, OK, WARN, Check, Context, Scan, _capped, _short
from cruddur_ops.errors import CruddurError
from cruddur_ops.settings import LOCAL_REGION, Settings

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

    ctx.settings.guard_write("dynamodb", f"change table {ctx.table}")
    client = ctx.require_dynamodb()
    if ctx.description() is None:
        spec = expected_spec(ctx.table)
        result = schema.load(client, [spec])[0]
        return f"table {result.name} {result.status}"
    client.update_table(TableName=ctx.table, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    return f"stream of {ctx.table} enabled (NEW_IMAGE)"


# --- 6. timestamps ------------------------------------------------------------------------------------------------------
def check_message_timestamps(ctx: Context) -> Check:
    scan = ctx.scan()
    horizon = ctx.now + FUTURE_SLACK
    problems = []
    for item in scan.items:
        pk, sk = str(item.get("pk", "")), item.get("sk")
        kind = "message" if pk.startswith(MESSAGE_PREFIX) else "group row" if pk.startswith(GROUP_PREFIX) else None
        if kind is None:
            continue
        try:
            moment = datetime.fromisoformat(str(sk))
        except ValueError:
            problems.append({"pk": pk, "sk": sk, "kind": kind, "problem": "not an ISO 8601 time"})
            continue
        if moment.tzinfo is None or moment.utcoffset() is None:
            problems.append({"pk": pk, "sk": sk, "kind": kind, "problem": "naive (no UTC offset)"})
        elif moment > horizon:
            problems.append({"pk": pk, "sk": sk, "kind": kind, "problem": "in the future"})
    if problems:
        counts: defaultdict[Any, int] = defaultdict(int)
        for p in problems:
            counts[p["problem"]] += 1
        return Check("message-timestamps", FAIL,
                     f"{len(problems)} item(s) with a bad time: " + ", ".join(f"{n} {k}" for k, n in counts.items())
                     + "; new messages sort before them" + scan.caveat(),
                     "times are UTC with an offset (2024-02-28T23:50:00+00:00): reseed with `cruddur ddb seed` "
                     "(a seed `start` in the future: move it back); write new ones with "
                     "datetime.now(timezone.utc).isoformat()", details=_capped(problems))
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


def _stale_rows(scan: Scan) -> tuple[list[dict], list[dict]]:
    """(rows not on their conversation's last message, rows of conversations without messages)."""
    last = _last_messages(scan)
    stale, orphans = [], []
    for row in scan.group_rows:
        group = row.get("message_group_uuid")
        if group not in last:
            orphans.append({"pk": row["pk"], "sk": row.get("sk"), "message_group_uuid": group})
            continue
        sk, text = last[group]
        if row.get("sk") != sk or row.get("message") != text:
            stale.append({"pk": row["pk"], "sk": row.get("sk"), "message_group_uuid": group, "last_message_at": sk,
                          "behind": str(row.get("sk", "")) < sk})
    return stale, orphans


def check_group_rows_current(ctx: Context) -> Check:
    scan = ctx.scan()
    stale, orphans = _stale_rows(scan)
    if stale:
        groups = {s["message_group_uuid"] for s in stale}
        return Check("group-rows-current", FAIL,
                     f"{len(stale)} group row(s) of {len(groups)} conversation(s) do not show the conversation's last "
                     "message: the stream processor is not running" + scan.caveat(),
                     "run `cruddur ddb stream process` (and keep `--follow` running beside the app), or "
                     "`cruddur doctor --fix`", details=_capped(stale), fixable=any(s["behind"] for s in stale))
    if orphans:
        return Check("group-rows-current", WARN,
                     f"{len(orphans)} group row(s) belong to conversations without messages" + scan.caveat(),
                     "delete them, or reseed: `cruddur ddb seed`", details=_capped(orphans))
    return Check("group-rows-current", OK,
                 f"all {len(scan.group_rows):,} group rows show their conversation's last message" + scan.caveat())


def fix_group_rows_current(ctx: Context) -> str:
    from cruddur_ops.ddb import stream

    ctx.settings.guard_write("dynamodb", f"move group rows in {ctx.table}")
    scan = ctx.scan()
    last = _last_messages(scan)
    stale, _ = _stale_rows(scan)
    moved = unmoved = 0
    for group in dict.fromkeys(s["message_group_uuid"] for s in stale if s["behind"]):
        sk, text = last[group]
        for move in stream.apply_message(ctx.dynamodb(), ctx.table, group, sk, text):
            if move.outcome == "moved":
                moved += 1
            else:
                unmoved += 1
    return f"moved {moved} group row(s) to their last message" + (f"; {unmoved} left as they were" if unmoved else "")


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
        return Check("duplicate-conversations", WARN,
                     f"{len(duplicates)} pair(s) of users have more than one conversation: "
                     + ", ".join(" & ".join(d["users"]) + f" ({len(d['message_group_uuids'])})" for d in duplicates[:5])
                     + scan.caveat(),
                     "keep one conversation per pair: delete the others' messages (pk MSG#<uuid>) and group rows; "
                     "add messages with `cruddur ddb pattern create-message --group <uuid>`",
                     details=_capped(duplicates))
    return Check("duplicate-conversations", OK,
                 f"{len(groups):,} conversation(s), at most one per pair of users" + scan.caveat())
