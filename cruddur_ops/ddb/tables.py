"""Listing and describing tables, in the plain shapes the CLI prints."""

from __future__ import annotations


def _keys(schema: list[dict], types: dict) -> str:
    return " ".join(f"{k['AttributeName']}({types.get(k['AttributeName'], '?')}) {k['KeyType']}" for k in schema)


def _throughput(value: dict | None) -> dict | None:
    value = value or {}
    if not (value.get("ReadCapacityUnits") or value.get("WriteCapacityUnits")):
        return None
    return {"read": value.get("ReadCapacityUnits"), "write": value.get("WriteCapacityUnits")}


def _projection(projection: dict | None) -> dict:
    projection = projection or {}
    return {"type": projection.get("ProjectionType"), "non_key_attributes": list(projection.get("NonKeyAttributes") or [])}


def _asked(call) -> tuple[dict | None, str | None]:
    """(the answer, None), or (None, why) when the engine does not answer this call (DynamoDB Local lacks some)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return call(), None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") == "ResourceNotFoundException":
            raise
        return None, f"{error.get('Code') or 'error'}: {error.get('Message') or exc}"
    except BotoCoreError as exc:
        return None, str(exc)


def describe(client, name: str, *, full: bool = True) -> dict:
    """Keys, indexes, stream, billing and size of one table; with ``full`` (``ddb describe``) also what
    DescribeTimeToLive and DescribeContinuousBackups answer (``ttl``, ``point_in_time_recovery``; None with
    ``unavailable`` saying why when the engine does not answer them)."""
    t = client.describe_table(TableName=name)["Table"]
    types = {a["AttributeName"]: a["AttributeType"] for a in t.get("AttributeDefinitions", [])}
    indexes = []
    for group, kind in (("GlobalSecondaryIndexes", "GSI"), ("LocalSecondaryIndexes", "LSI")):
        for i in t.get(group) or []:
            projection = _projection(i.get("Projection"))
            indexes.append({
                "name": i["IndexName"], "kind": kind, "keys": _keys(i["KeySchema"], types),
                "projection": projection["type"], "non_key_attributes": projection["non_key_attributes"],
                "provisioned": _throughput(i.get("ProvisionedThroughput")) if kind == "GSI" else None,
                "on_demand_throughput": i.get("OnDemandThroughput"),
                "status": i.get("IndexStatus", "ACTIVE"), "item_count": i.get("ItemCount"),
                "size_bytes": i.get("IndexSizeBytes"),
            })
    stream = t.get("StreamSpecification") or {}
    billing = (t.get("BillingModeSummary") or {}).get("BillingMode") or (
        "PAY_PER_REQUEST" if not (t.get("ProvisionedThroughput") or {}).get("ReadCapacityUnits") else "PROVISIONED")
    throughput = t.get("ProvisionedThroughput") or {}
    sse = t.get("SSEDescription") or {}
    out = {
        "name": t["TableName"], "status": t.get("TableStatus"), "arn": t.get("TableArn"),
        "keys": _keys(t["KeySchema"], types), "indexes": indexes,
        "stream": {"enabled": bool(stream.get("StreamEnabled")), "view_type": stream.get("StreamViewType"),
                   "arn": t.get("LatestStreamArn")},
        "billing": billing,
        "provisioned": {"read": throughput.get("ReadCapacityUnits"), "write": throughput.get("WriteCapacityUnits")}
        if billing == "PROVISIONED" else None,
        "item_count": t.get("ItemCount", 0), "size_bytes": t.get("TableSizeBytes", 0),
        "created_at": t["CreationDateTime"].isoformat() if hasattr(t.get("CreationDateTime"), "isoformat") else t.get("CreationDateTime"),
        "deletion_protection": t.get("DeletionProtectionEnabled", False),
        "table_class": (t.get("TableClassSummary") or {}).get("TableClass") or "STANDARD",
        "sse": {"status": sse.get("Status"), "type": sse.get("SSEType"), "kms_key_arn": sse.get("KMSMasterKeyArn")}
        if sse else {"status": None, "type": None, "kms_key_arn": None, "note": "AWS owned key (the default)"},
        "replicas": [r.get("RegionName") for r in t.get("Replicas") or []],
    }
    if full:
        unavailable: dict[str, str] = {}
        ttl, why = _asked(lambda: client.describe_time_to_live(TableName=name)["TimeToLiveDescription"])
        if why:
            unavailable["ttl"] = why
        out["ttl"] = {"status": ttl.get("TimeToLiveStatus"), "attribute": ttl.get("AttributeName")} if ttl else None
        backups, why = _asked(lambda: client.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"])
        if why:
            unavailable["point_in_time_recovery"] = why
        pitr = (backups or {}).get("PointInTimeRecoveryDescription") or {}
        out["point_in_time_recovery"] = pitr.get("PointInTimeRecoveryStatus") if backups else None
        out["unavailable"] = unavailable
    return out


def table_names(client) -> list[str]:
    return [n for page in client.get_paginator("list_tables").paginate() for n in page["TableNames"]]


def summary(d: dict) -> dict:
    """A table's row in `ddb list-tables`, from its :func:`describe`."""
    return {"name": d["name"], "status": d["status"], "item_count": d["item_count"],
            "size_bytes": d["size_bytes"], "indexes": [i["name"] for i in d["indexes"]],
            "billing": d["billing"], "stream": d["stream"]["view_type"] if d["stream"]["enabled"] else "off"}


def list_tables(client) -> list[dict]:
    """Every table with status, item count and indexes (one DescribeTable each)."""
    return [summary(describe(client, name, full=False)) for name in table_names(client)]
