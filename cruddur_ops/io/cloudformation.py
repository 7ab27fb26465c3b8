"""CloudFormation and SAM templates: the YAML short tags (``!Ref x``) and a table resource as a CreateTable request."""

from __future__ import annotations

from typing import Any

from cruddur_ops.io import yamlfile

# CloudFormation properties that are not part of CreateTable; they are set by other calls, so skip them.
CFN_ONLY = {
    "PointInTimeRecoverySpecification", "TimeToLiveSpecification", "KinesisStreamSpecification",
    "ContributorInsightsSpecification", "ImportSourceSpecification",
}

_CFN_LOADER = None


def loader():
    """A safe loader that reads CloudFormation's short tags (``!Ref x`` -> ``{"Ref": "x"}``)."""
    global _CFN_LOADER
    if _CFN_LOADER is None:
        import yaml

        class CloudFormationLoader(yamlfile._loader()):  # type: ignore[misc]  # a class made at run time
            pass

        def construct(loader, suffix, node):
            if isinstance(node, yaml.ScalarNode):
                value = loader.construct_scalar(node)
            elif isinstance(node, yaml.SequenceNode):
                value = loader.construct_sequence(node, deep=True)
            else:
                value = loader.construct_mapping(node, deep=True)
            return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": value}

        CloudFormationLoader.add_multi_constructor("!", construct)
        _CFN_LOADER = CloudFormationLoader
    return _CFN_LOADER


def table_request(props: dict, logical_id: str) -> dict:
    """The CreateTable request of an ``AWS::DynamoDB::Table`` resource's properties."""
    request = {k: v for k, v in props.items() if k not in CFN_ONLY}
    request.setdefault("TableName", logical_id)
    stream = request.get("StreamSpecification")
    if isinstance(stream, dict) and "StreamEnabled" not in stream:
        request["StreamSpecification"] = {"StreamEnabled": True, **stream}
    sse = request.get("SSESpecification")
    if isinstance(sse, dict) and "SSEEnabled" in sse:
        request["SSESpecification"] = {("Enabled" if k == "SSEEnabled" else k): v for k, v in sse.items()}
    for group in ("GlobalSecondaryIndexes",):
        for index in request.get(group) or []:
            if isinstance(index, dict):
                index.pop("ContributorInsightsSpecification", None)
    return request


def simple_table_request(props: dict, logical_id: str) -> dict:
    """The CreateTable request of an ``AWS::Serverless::SimpleTable`` resource's properties."""
    key = props.get("PrimaryKey") or {"Name": "id", "Type": "String"}
    kinds: dict[Any, str] = {"String": "S", "Number": "N", "Binary": "B"}
    kind = kinds.get(key.get("Type"), key.get("Type"))
    request = {
        "TableName": props.get("TableName", logical_id),
        "AttributeDefinitions": [{"AttributeName": key.get("Name"), "AttributeType": kind}],
        "KeySchema": [{"AttributeName": key.get("Name"), "KeyType": "HASH"}],
    }
    if props.get("ProvisionedThroughput"):
        request["BillingMode"] = "PROVISIONED"
        request["ProvisionedThroughput"] = props["ProvisionedThroughput"]
    else:
        request["BillingMode"] = "PAY_PER_REQUEST"
    return request
