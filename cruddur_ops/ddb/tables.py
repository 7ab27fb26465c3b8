"""Listing and describing tables, in the plain shapes the CLI prints."""

from __future__ import annotations


def _keys(schema: list[dict], types: dict) -> str:
    return " ".join(f"{k['AttributeName']}({types.get(k['AttributeName'], '?')}) {k['KeyType']}" for k in schema)


def describe(client, name: str) -> dict:
    """Keys, indexes, stream, billing and size of one table."""
    t = client.describe_table(TableName=name)["Table"]
    types = {a["AttributeName"]: a["AttributeType"] for a in t.get("AttributeDefinitions", [])}
    indexes = []
    for group, kind in (("GlobalSecondaryIndexes", "GSI"), ("LocalSecondaryIndexes", "LSI")):
        for i in t.get(group) or []:
            indexes.append({
                "name": i["IndexName"], "kind": kind, "keys": _keys(i["KeySchema"], types),
                "projection": i.get("Projection", {}).get("ProjectionType"),
                "status": i.get("IndexStatus", "ACTIVE"), "item_count": i.get("ItemCount"),
                "size_bytes": i.get("IndexSizeBytes"),
            })
    stream = t.get("StreamSpecification") or {}
    billing = (t.get("BillingModeSummary") or {}).get("BillingMode") or (
        "PAY_PER_REQUEST" if not (t.get("ProvisionedThroughput") or {}).get("ReadCapacityUnits") else "PROVISIONED")
    throughput = t.get("ProvisionedThroughput") or {}
    return {
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
    }


def table_names(client) -> list[str]:
    return [n for page in client.get_paginator("list_tables").paginate() for n in page["TableNames"]]


def summary(d: dict) -> dict:
    """A table's row in `ddb list-tables`, from its :func:`describe`."""
    return {"name": d["name"], "status": d["status"], "item_count": d["item_count"],
            "size_bytes": d["size_bytes"], "indexes": [i["name"] for i in d["indexes"]],
            "billing": d["billing"], "stream": d["stream"]["view_type"] if d["stream"]["enabled"] else "off"}


def list_tables(client) -> list[dict]:
    """Every table with status, item count and indexes (one DescribeTable each)."""
    return [summary(describe(client, name)) for name in table_names(client)]
