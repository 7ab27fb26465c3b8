"""cruddur_ops/ddb/audit.py and `cruddur ddb audit`: on moto for the AWS paths, on DynamoDB Local for n/a."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from cruddur_ops.ddb import audit
from cruddur_ops.errors import NotFoundError
from cruddur_ops.settings import Action, Settings
from tests.conftest import no_result

KEYS = {"AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}


@pytest.fixture
def aws(aws_env):
    """moto's AWS, reached through the one client factory (no endpoint: real AWS, mocked)."""
    from moto import mock_aws

    with mock_aws():
        yield Settings.from_env(prod=True)


def _writer(settings, service: str):
    """The test prepares the (mocked) account through write clients: read clients for AWS cannot write."""
    return settings.client(service, write=Action("prepare the test account"))


def _table(settings, name="cruddur-messages", **extra):
    client = _writer(settings, "dynamodb")
    args = {"BillingMode": "PAY_PER_REQUEST", **KEYS, **extra}
    return client.create_table(TableName=name, **args)["TableDescription"]


def _by_check(report, scope=None):
    return {f.check: f for f in report.findings if scope is None or f.scope in (scope, audit.ACCOUNT)}


def _secure_account(settings):
    s3 = _writer(settings, "s3")
    s3.create_bucket(Bucket="audit-trail")
    trail = _writer(settings, "cloudtrail")
    trail.create_trail(Name="main", S3BucketName="audit-trail", IsMultiRegionTrail=True)
    trail.start_logging(Name="main")
    config = _writer(settings, "config")
    config.put_configuration_recorder(ConfigurationRecorder={"name": "default", "roleARN": "arn:aws:iam::123456789012:role/config"})
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "audit-trail"})
    config.start_configuration_recorder(ConfigurationRecorderName="default")


def _secure_table(settings, name="cruddur-messages"):
    description = _table(settings, name, DeletionProtectionEnabled=True, SSESpecification={"Enabled": True, "SSEType": "KMS"},
                         StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
                         Tags=[{"Key": "owner", "Value": "messaging"}, {"Key": "Environment", "Value": "prod"}])
    client = _writer(settings, "dynamodb")
    client.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    client.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"})
    return description


# --- moto: what a real account answers --------------------------------------------------------------------------
def test_a_bare_table_in_a_bare_account(aws):
    _table(aws)
    report = audit.audit(audit.Clients.from_settings(aws))
    assert report.tables == ["cruddur-messages"] and not report.local
    status = {check: f.status for check, f in _by_check(report).items()}
    assert status == {"deletion-protection": "fail", "point-in-time-recovery": "fail", "encryption": "warn",
                      "stream": "fail", "ttl": "warn", "billing-mode": "ok", "capacity-vs-usage": "n/a",
                      "tags": "warn", "cloudtrail": "fail", "config-recorder": "fail"}
    found = _by_check(report)
    assert found["deletion-protection"].fix.startswith("aws dynamodb update-table --table-name cruddur-messages --deletion-protection-enabled")
    assert "PointInTimeRecoveryEnabled=true" in found["point-in-time-recovery"].fix
    assert "StreamViewType=NEW_IMAGE" in found["stream"].fix
    assert found["tags"].found == "no owner or environment tag (no tags)"
    assert "aws cloudtrail create-trail" in found["cloudtrail"].fix
    assert "start-configuration-recorder" in found["config-recorder"].fix
    assert all(f.fix == "" for f in report.findings if f.status in ("ok", "n/a"))
    assert report.summary() == {"ok": 1, "warn": 3, "fail": 5, "n/a": 1}
    assert "--endpoint-url" not in found["deletion-protection"].fix  # AWS itself


def test_a_well_kept_table_in_a_well_kept_account(aws):
    _secure_table(aws)
    _secure_account(aws)
    report = audit.audit(audit.Clients.from_settings(aws))
    assert {f.check: f.status for f in report.findings} == {
        "deletion-protection": "ok", "point-in-time-recovery": "ok", "encryption": "ok", "stream": "ok", "ttl": "ok",
        "billing-mode": "ok", "capacity-vs-usage": "n/a", "tags": "ok", "cloudtrail": "ok", "config-recorder": "ok"}
    found = _by_check(report)
    assert found["tags"].found == "owner=messaging, Environment=prod"
    assert found["cloudtrail"].found == "logging: main (multi-region)"
    assert found["config-recorder"].found == "recording: default"
    assert found["encryption"].found.startswith("KMS key arn:aws:kms:")
    assert not report.failed


def test_stream_is_needed_only_where_the_app_reads_it(aws):
    _table(aws, "cruddur-messages", StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    _table(aws, "other-table")
    found = {f.scope: f for f in audit.audit(audit.Clients.from_settings(aws)).findings if f.check == "stream"}
    assert found["cruddur-messages"].status == "fail" and "reads NewImage" in found["cruddur-messages"].found
    assert (found["other-table"].status, found["other-table"].found) == ("n/a", "the app reads no stream from this table (stream: off)")


NOW = datetime.now(UTC).replace(second=0, microsecond=0)


def _consumed(settings, table, reads_per_second: list[float], writes_per_second: list[float]):
    """CloudWatch datapoints as DynamoDB publishes them: per-minute sums of consumed units."""
    cloudwatch = _writer(settings, "cloudwatch")
    for metric, series in (("ConsumedReadCapacityUnits", reads_per_second), ("ConsumedWriteCapacityUnits", writes_per_second)):
        cloudwatch.put_metric_data(Namespace="AWS/DynamoDB", MetricData=[
            {"MetricName": metric, "Dimensions": [{"Name": "TableName", "Value": table}], "Value": rate * 60,
             "Timestamp": NOW - timedelta(minutes=5 + i)} for i, rate in enumerate(series)])


@pytest.mark.parametrize("reads, writes, status, words", [
    ([3.0, 4.0], [2.0, 1.5], "ok", "reads: peak 4.00/s, average 0.12/s of 5 provisioned"),
    ([12.0, 1.0], [2.0], "warn", "reads above capacity: requests throttle"),
    ([0.2], [0.1], "warn", "reads and writes under 20% of capacity: paid for and idle"),
    ([], [], "warn", "peak 0.00/s"),
])
def test_provisioned_capacity_against_the_last_hour(aws, reads, writes, status, words):
    _table(aws, "orders", BillingMode="PROVISIONED", ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 2})
    _consumed(aws, "orders", reads, writes)
    found = _by_check(audit.audit(audit.Clients.from_settings(aws), ["orders"], now=NOW + timedelta(minutes=1)))
    assert found["billing-mode"].found == "provisioned: 5 RCU, 2 WCU"
    capacity = found["capacity-vs-usage"]
    assert capacity.status == status and words in capacity.found
    assert (capacity.fix != "") == (status == "warn")


def test_a_trail_that_is_not_logging_and_a_recorder_that_is_not_recording(aws):
    _writer(aws, "s3").create_bucket(Bucket="audit-trail")
    _writer(aws, "cloudtrail").create_trail(Name="quiet", S3BucketName="audit-trail")
    _writer(aws, "config").put_configuration_recorder(ConfigurationRecorder={"name": "rec", "roleARN": "arn:aws:iam::123456789012:role/c"})
    report = audit.audit(audit.Clients.from_settings(aws))  # no tables: the account checks alone
    assert report.tables == []
    found = _by_check(report)
    assert (found["cloudtrail"].status, found["cloudtrail"].found) == ("fail", "trail(s) not logging: quiet")
    assert found["cloudtrail"].fix == "aws cloudtrail start-logging --name quiet"
    assert (found["config-recorder"].status, found["config-recorder"].fix) == (
        "fail", "aws configservice start-configuration-recorder --configuration-recorder-name rec")


def test_a_check_the_caller_may_not_ask_is_na(aws):
    from botocore.exceptions import ClientError

    class Denied:
        def __getattr__(self, name):
            def call(**kwargs):
                raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, name)
            return call

    clients = audit.Clients(aws.dynamodb(), cloudtrail=Denied(), config=Denied(), cloudwatch=None)
    found = _by_check(audit.audit(clients))
    assert (found["cloudtrail"].status, found["cloudtrail"].found) == ("n/a", "cannot ask: AccessDeniedException (not allowed)")
    assert found["config-recorder"].status == "n/a"


def test_an_unknown_table_is_an_error(aws):
    with pytest.raises(NotFoundError, match="no table 'nope' on AWS dynamodb"):
        audit.audit(audit.Clients.from_settings(aws), ["nope"])


def test_fix_turns_on_deletion_protection_and_pitr(aws):
    _table(aws)
    clients = audit.Clients.from_settings(aws)
    todo = audit.fixable(audit.audit(clients))
    assert sorted(f.check for f in todo) == ["deletion-protection", "point-in-time-recovery"]
    done = audit.apply_fixes(_writer(aws, "dynamodb"), todo)
    assert [d["action"] for d in done] == ["enabled deletion protection", "enabled point-in-time recovery"]
    after = _by_check(audit.audit(clients))
    assert after["deletion-protection"].status == after["point-in-time-recovery"].status == "ok"


# --- the command on moto -------------------------------------------------------------------------------------------
def test_cli_json_shape_and_exit_code(cli, aws):
    _table(aws)
    result = cli("ddb", "audit", "--output", "json", ok=False)
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert list(doc) == ["endpoint", "local", "tables", "checks", "summary", "fixed"]
    assert doc["local"] is False and doc["tables"] == ["cruddur-messages"] and doc["fixed"] == []
    assert set(doc["checks"][0]) == {"scope", "check", "status", "found", "fix"}
    assert len(doc["checks"]) == 10 and doc["summary"]["fail"] == 5
    assert "5 check(s) failed, first: cruddur-messages deletion-protection" in result.stderr


def test_cli_passes_on_a_well_kept_account(cli, aws, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    _secure_table(aws)
    _secure_account(aws)
    result = cli("ddb", "audit", "cruddur-messages", "--output", "table")
    assert "Audit of cruddur-messages on AWS dynamodb" in result.stdout and "9 ok, 1 n/a" in result.stdout
    assert result.stderr == ""


def test_cli_fix_needs_prod_on_aws_and_refuses_before_any_request(cli, aws):
    _table(aws)
    result = cli("ddb", "audit", "--fix", "--yes", ok=False)
    assert result.exit_code == 6 and no_result(result.stdout)
    assert "refusing to turn on deletion protection and point-in-time recovery on AWS dynamodb" in result.stderr
    assert "pass --prod" in result.stderr
    assert aws.dynamodb().describe_table(TableName="cruddur-messages")["Table"]["DeletionProtectionEnabled"] is False


def test_cli_fix_asks_first(cli, aws):
    _table(aws)
    result = cli("ddb", "audit", "--fix", "--prod", ok=False)  # no terminal, no --yes
    assert result.exit_code == 7 and "without confirmation" in result.stderr
    assert aws.dynamodb().describe_table(TableName="cruddur-messages")["Table"]["DeletionProtectionEnabled"] is False


def test_cli_fix_with_prod_and_yes(cli, aws):
    _table(aws)
    doc = cli.json("ddb", "audit", "--fix", "--prod", "--yes", ok=False)
    assert [(f["check"], f["table"]) for f in doc["fixed"]] == [
        ("deletion-protection", "cruddur-messages"), ("point-in-time-recovery", "cruddur-messages")]
    status = {c["check"]: c["status"] for c in doc["checks"]}
    assert status["deletion-protection"] == status["point-in-time-recovery"] == "ok"
    assert status["stream"] == "fail"  # --fix leaves what is not safe to flip blindly


# --- DynamoDB Local: what it cannot answer is n/a -------------------------------------------------------------------
def test_local_dynamodb_keeps_the_other_services_away(aws_env):
    aws_env.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000")
    clients = audit.Clients.from_settings(Settings.from_env())
    assert clients.local and (clients.cloudtrail, clients.config, clients.cloudwatch) == (None, None, None)
    aws_env.setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", "http://127.0.0.1:5000")  # e.g. moto server
    clients = audit.Clients.from_settings(Settings.from_env())
    assert clients.cloudtrail is not None and clients.config is None and clients.cloudwatch is None
    clients = audit.Clients.from_settings(Settings.from_env(endpoint_url="http://localhost:4566"))  # LocalStack
    assert None not in (clients.cloudtrail, clients.config, clients.cloudwatch)


@pytest.fixture
def unprotect(ddb):
    """Turn deletion protection off again after the test, so the next test can drop the tables."""
    yield ddb
    for name in ddb.list_tables()["TableNames"]:
        ddb.update_table(TableName=name, DeletionProtectionEnabled=False)


@pytest.mark.integration
def test_audit_on_dynamodb_local(cli, messages_table, unprotect, ddb_local):
    messages_table.create_table(TableName="local-provisioned", BillingMode="PROVISIONED", **KEYS,
                                ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})
    result = cli("ddb", "audit", "--output", "json", ok=False)
    assert result.exit_code == 1  # deletion protection is off, and DynamoDB Local can say so
    doc = json.loads(result.stdout)
    assert doc["local"] is True and doc["endpoint"] == ddb_local
    assert sorted(doc["tables"]) == ["cruddur-messages", "local-provisioned"]
    messages = {c["check"]: c for c in doc["checks"] if c["scope"] in ("cruddur-messages", "account")}
    assert {k: c["status"] for k, c in messages.items()} == {
        "deletion-protection": "fail", "point-in-time-recovery": "n/a", "encryption": "n/a", "stream": "ok",
        "ttl": "warn", "billing-mode": "ok", "capacity-vs-usage": "n/a", "tags": "n/a",
        "cloudtrail": "n/a", "config-recorder": "n/a"}
    answered = "(it answers UnknownOperationException, as DynamoDB Local does)"
    assert messages["point-in-time-recovery"]["found"] == f"this endpoint has no point-in-time recovery {answered}"
    assert messages["tags"]["found"] == f"this endpoint has no tags {answered}"
    assert "keeps no encryption settings" in messages["encryption"]["found"]
    assert f"--endpoint-url {ddb_local}" in messages["deletion-protection"]["fix"]
    provisioned = {c["check"]: c for c in doc["checks"] if c["scope"] == "local-provisioned"}
    assert provisioned["capacity-vs-usage"]["found"] == "no CloudWatch for a local endpoint"
    assert provisioned["billing-mode"]["found"] == "provisioned: 1 RCU, 1 WCU"
    assert not [c for c in doc["checks"] if c["status"] == "fail" and c["check"] != "deletion-protection"]


@pytest.mark.integration
def test_fix_on_dynamodb_local_needs_no_prod(cli, messages_table, unprotect):
    doc = cli.json("ddb", "audit", "cruddur-messages", "--fix", "--yes")  # exits 0 once fixed
    assert doc["fixed"] == [{"table": "cruddur-messages", "check": "deletion-protection", "action": "enabled deletion protection"}]
    assert doc["summary"]["fail"] == 0
    assert messages_table.describe_table(TableName="cruddur-messages")["Table"]["DeletionProtectionEnabled"] is True
    again = cli("ddb", "audit", "cruddur-messages", "--fix", "--yes", "-o", "json")
    assert "nothing to turn on" in " ".join(again.stderr.split())
