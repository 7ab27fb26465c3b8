"""A security and cost audit of DynamoDB tables and the account around them, one finding per check.

Per table: deletion protection, point-in-time recovery, encryption type, the stream the app needs, TTL, billing
mode, provisioned capacity against the last hour's consumption (CloudWatch), and owner/environment tags. For the
account: a CloudTrail trail that is logging and an AWS Config recorder that is recording.

Every finding is ``ok``, ``warn``, ``fail`` or ``n/a`` — n/a when the endpoint cannot answer (DynamoDB Local has no
backups, tags, encryption or CloudWatch) or the caller may not ask; n/a is never a failure. Each finding carries
the command that fixes it. ``apply_fixes`` turns on the two that are safe to turn on blindly: deletion
protection and point-in-time recovery.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

from cruddur_ops import checks
from cruddur_ops.checks import FAIL, NA, OK, STATUSES, WARN, Finding, FindingDoc  # noqa: F401  (STATUSES: re-exported)
from cruddur_ops.ddb.model import TABLE
from cruddur_ops.errors import NotFoundError

ACCOUNT = "account"

# The app's consumers: the message-group Lambda reads NewImage from the messages table's stream.
STREAM_TABLES = (TABLE,)
STREAM_VIEWS_WITH_NEW_IMAGE = ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")
OWNER_TAGS = ("owner", "team")
ENVIRONMENT_TAGS = ("environment", "env", "stage")
# Provisioned capacity whose peak use stays under this share is paid for and idle.
IDLE_SHARE = 0.2
FIXABLE = ("deletion-protection", "point-in-time-recovery")


class AuditDoc(TypedDict):
    endpoint: str
    local: bool
    tables: list[str]
    checks: list[FindingDoc]
    summary: dict[str, int]


@dataclass
class Report(checks.Report):
    endpoint: str
    local: bool
    tables: list[str]
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> AuditDoc:
        return {"endpoint": self.endpoint, "local": self.local, "tables": self.tables,
                "checks": [f.to_dict() for f in self.findings], "summary": self.summary()}


@dataclass
class Clients:
    """The clients an audit talks to; None for a service it must not or cannot ask."""

    dynamodb: Any
    cloudtrail: Any = None
    config: Any = None
    cloudwatch: Any = None
    local: bool = False
    endpoint: str = "AWS"
    endpoint_url: str | None = None  # for the fix commands, when it is not AWS itself

    @classmethod
    def from_settings(cls, settings) -> Clients:
        """DynamoDB always; CloudTrail, Config and CloudWatch too, unless DynamoDB is local and they have no
        endpoint of their own (then they would reach real AWS, which a local audit must not)."""
        local = settings.is_local("dynamodb")

        def other(service: str):
            if local and not settings.endpoint_for(service):
                return None
            return settings.client(service)

        return cls(settings.dynamodb(), other("cloudtrail"), other("config"), other("cloudwatch"), local,
                   settings.describe_endpoint("dynamodb"), settings.endpoint_for("dynamodb"))


def _call(fn: Callable, **kwargs) -> tuple[Any, str | None]:
    """(response, None), or (None, why) when the endpoint or the caller's policy cannot answer."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return fn(**kwargs), None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "Error")
        if code == "ResourceNotFoundException":
            raise
        if code == "UnknownOperationException":
            return None, "not supported by this endpoint"
        return None, f"cannot ask: {code}" + (f" ({error.get('Message')})" if error.get("Message") else "")
    except BotoCoreError as exc:
        return None, f"cannot ask: {type(exc).__name__}"


# --- the checks ----------------------------------------------------------------------------------------------------
class _TableAudit:
    def __init__(self, clients: Clients, name: str, *, stream_tables, now: datetime):
        self.c, self.name, self.stream_tables, self.now = clients, name, stream_tables, now
        self.table = clients.dynamodb.describe_table(TableName=name)["Table"]
        self.cli_suffix = f" --endpoint-url {clients.endpoint_url}" if clients.endpoint_url else ""

    def ask(self, what: str, fn: Callable, **kwargs) -> tuple[Any, str | None]:
        response, why = _call(fn, **kwargs)
        if why == "not supported by this endpoint":  # the engine's own answer (DynamoDB Local's), not its address
            why = f"this endpoint has no {what} (it answers UnknownOperationException, as DynamoDB Local does)"
        return response, why

    def aws(self, command: str) -> str:
        return f"aws dynamodb {command}{self.cli_suffix}"

    def finding(self, check: str, status: str, found: str, fix: str = "") -> Finding:
        return Finding(self.name, check, status, found, fix if status in (WARN, FAIL) else "")

    def deletion_protection(self) -> Finding:
        fix = self.aws(f"update-table --table-name {self.name} --deletion-protection-enabled") + \
            f"  (or: cruddur ddb audit {self.name} --fix)"
        if "DeletionProtectionEnabled" not in self.table:
            return self.finding("deletion-protection", NA, "the endpoint does not report deletion protection")
        if self.table["DeletionProtectionEnabled"]:
            return self.finding("deletion-protection", OK, "enabled: DeleteTable is refused")
        return self.finding("deletion-protection", FAIL, "disabled: one DeleteTable call removes the table and every item", fix)

    def point_in_time_recovery(self) -> Finding:
        response, why = self.ask("point-in-time recovery", self.c.dynamodb.describe_continuous_backups, TableName=self.name)
        if why:
            return self.finding("point-in-time-recovery", NA, why)
        pitr = response["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription") or {}
        status = pitr.get("PointInTimeRecoveryStatus", "DISABLED")
        if status == "ENABLED":
            days = pitr.get("RecoveryPeriodInDays")
            return self.finding("point-in-time-recovery", OK, "enabled" + (f": restorable to any second of the last {days} days" if days else ""))
        fix = self.aws(f"update-continuous-backups --table-name {self.name} --point-in-time-recovery-specification "
                       "PointInTimeRecoveryEnabled=true") + f"  (or: cruddur ddb audit {self.name} --fix)"
        return self.finding("point-in-time-recovery", FAIL, f"{status.lower()}: a bad write or delete cannot be undone", fix)

    def encryption(self) -> Finding:
        sse = self.table.get("SSEDescription")
        fix = self.aws(f"update-table --table-name {self.name} --sse-specification Enabled=true,SSEType=KMS")
        if not sse:
            _, why = _call(self.c.dynamodb.describe_continuous_backups, TableName=self.name)
            if why == "not supported by this endpoint":  # known by its answers: DynamoDB Local keeps no SSE either
                return self.finding("encryption", NA, "this endpoint keeps no encryption settings (it refuses "
                                    "DynamoDB's backup calls, as DynamoDB Local does)")
            return self.finding("encryption", WARN, "AWS owned key (the default): encrypted, but key use is not "
                                "visible in CloudTrail and no key policy limits it", fix)
        status, kind = sse.get("Status", "ENABLED"), sse.get("SSEType", "KMS")
        if status in ("ENABLED", "UPDATING"):
            key = sse.get("KMSMasterKeyArn")
            return self.finding("encryption", OK, f"{kind} key" + (f" {key}" if key else "") + ("" if status == "ENABLED" else f" ({status})"))
        return self.finding("encryption", FAIL, f"KMS key {status.lower()}: the table may become unreadable "
                            f"({sse.get('InaccessibleEncryptionDateTime', 'see the KMS key')})", "aws kms enable-key --key-id " + str(sse.get("KMSMasterKeyArn", "KEY")))

    def stream(self) -> Finding:
        spec = self.table.get("StreamSpecification") or {}
        view = spec.get("StreamViewType") if spec.get("StreamEnabled") else None
        if self.name not in self.stream_tables:
            return self.finding("stream", NA, f"the app reads no stream from this table (stream: {view or 'off'})")
        fix = self.aws(f"update-table --table-name {self.name} --stream-specification StreamEnabled=true,StreamViewType=NEW_IMAGE")
        if view in STREAM_VIEWS_WITH_NEW_IMAGE:
            return self.finding("stream", OK, f"enabled ({view}): the message-group handler gets new messages")
        if view:
            return self.finding("stream", FAIL, f"enabled as {view}, but the message-group handler reads NewImage", fix)
        return self.finding("stream", FAIL, "off: new messages never update the message-group rows", fix)

    def ttl(self) -> Finding:
        response, why = self.ask("time to live", self.c.dynamodb.describe_time_to_live, TableName=self.name)
        if why:
            return self.finding("ttl", NA, why)
        ttl = response.get("TimeToLiveDescription") or {}
        status = ttl.get("TimeToLiveStatus", "DISABLED")
        if status in ("ENABLED", "ENABLING"):
            return self.finding("ttl", OK, f"{status.lower()} on attribute {ttl.get('AttributeName')}")
        fix = ("have the app write an expiry (epoch seconds, e.g. expires_at), then: "
               + self.aws(f"update-time-to-live --table-name {self.name} --time-to-live-specification Enabled=true,AttributeName=expires_at"))
        return self.finding("ttl", WARN, "no TTL: no item ever expires, so the table (and its bill) grows forever", fix)

    def billing(self) -> tuple[Finding, Finding]:
        mode = (self.table.get("BillingModeSummary") or {}).get("BillingMode")
        throughput = self.table.get("ProvisionedThroughput") or {}
        if mode is None:
            mode = "PROVISIONED" if throughput.get("ReadCapacityUnits") else "PAY_PER_REQUEST"
        if mode == "PAY_PER_REQUEST":
            return (self.finding("billing-mode", OK, "on-demand (PAY_PER_REQUEST): pay per request, no capacity to manage"),
                    self.finding("capacity-vs-usage", NA, "on-demand: nothing is provisioned"))
        read, write = throughput.get("ReadCapacityUnits", 0), throughput.get("WriteCapacityUnits", 0)
        return (self.finding("billing-mode", OK, f"provisioned: {read} RCU, {write} WCU"), self.capacity(read, write))

    def capacity(self, read: int, write: int) -> Finding:
        if self.c.cloudwatch is None:
            why = "no CloudWatch for a local endpoint" if self.c.local else "CloudWatch not available"
            return self.finding("capacity-vs-usage", NA, why)
        parts, statuses = [], []
        for kind, metric, provisioned in (("reads", "ConsumedReadCapacityUnits", read), ("writes", "ConsumedWriteCapacityUnits", write)):
            response, unanswered = _call(
                self.c.cloudwatch.get_metric_statistics, Namespace="AWS/DynamoDB", MetricName=metric,
                Dimensions=[{"Name": "TableName", "Value": self.name}], StartTime=self.now - timedelta(hours=1),
                EndTime=self.now, Period=60, Statistics=["Sum"])
            if unanswered:
                return self.finding("capacity-vs-usage", NA, unanswered)
            per_second = [p["Sum"] / 60 for p in response.get("Datapoints", [])]
            peak, average = max(per_second, default=0.0), sum(per_second) * 60 / 3600
            parts.append(f"{kind}: peak {peak:.2f}/s, average {average:.2f}/s of {provisioned} provisioned")
            if peak > provisioned:
                statuses.append(("over", kind))
            elif peak < IDLE_SHARE * provisioned:
                statuses.append(("idle", kind))
        found = "last hour " + "; ".join(parts)
        over = [k for s, k in statuses if s == "over"]
        idle = [k for s, k in statuses if s == "idle"]
        if over:
            return self.finding("capacity-vs-usage", WARN, f"{found} — {' and '.join(over)} above capacity: requests throttle",
                                self.aws(f"update-table --table-name {self.name} --billing-mode PAY_PER_REQUEST") + "  (or raise --provisioned-throughput)")
        if idle:
            return self.finding("capacity-vs-usage", WARN, f"{found} — {' and '.join(idle)} under {IDLE_SHARE:.0%} of capacity: paid for and idle",
                                self.aws(f"update-table --table-name {self.name} --billing-mode PAY_PER_REQUEST") + "  (or lower --provisioned-throughput)")
        return self.finding("capacity-vs-usage", OK, found)

    def tags(self) -> Finding:
        arn = self.table.get("TableArn", self.name)
        response, why = self.ask("tags", self.c.dynamodb.list_tags_of_resource, ResourceArn=arn)
        if why:
            return self.finding("tags", NA, why)
        tags = {t["Key"]: t["Value"] for t in response.get("Tags", [])}

        def named(words):
            return next((f"{k}={v}" for k, v in tags.items() if k.lower().rsplit(":", 1)[-1].rsplit("/", 1)[-1] in words), None)

        owner, environment = named(OWNER_TAGS), named(ENVIRONMENT_TAGS)
        if owner and environment:
            return self.finding("tags", OK, f"{owner}, {environment}")
        missing = [w for w, v in (("owner", owner), ("environment", environment)) if not v]
        found = f"no {' or '.join(missing)} tag" + (f" (tags: {', '.join(f'{k}={v}' for k, v in tags.items())})" if tags else " (no tags)")
        fix = self.aws(f"tag-resource --resource-arn {arn} --tags " + " ".join(f"Key={w},Value=…" for w in missing))
        return self.finding("tags", WARN, found, fix)

    def run(self) -> list[Finding]:
        billing, capacity = self.billing()
        return [self.deletion_protection(), self.point_in_time_recovery(), self.encryption(), self.stream(),
                self.ttl(), billing, capacity, self.tags()]


def cloudtrail(client) -> Finding:
    """A trail that is logging (any one; a multi-region one is best)."""
    if client is None:
        return Finding(ACCOUNT, "cloudtrail", NA, "no CloudTrail endpoint for a local DynamoDB (set AWS_ENDPOINT_URL_CLOUDTRAIL to check one)")
    response, why = _call(client.describe_trails, includeShadowTrails=True)
    if why:
        return Finding(ACCOUNT, "cloudtrail", NA, why)
    trails = response.get("trailList", [])
    create = ("aws s3 mb s3://BUCKET && aws cloudtrail create-trail --name cruddur-trail --s3-bucket-name BUCKET "
              "--is-multi-region-trail && aws cloudtrail start-logging --name cruddur-trail")
    if not trails:
        return Finding(ACCOUNT, "cloudtrail", FAIL, "no trail: API calls (DeleteTable, UpdateTable, …) are not recorded", create)
    logging: list[str] = []
    idle: list[str] = []
    for trail in trails:
        status, why = _call(client.get_trail_status, Name=trail.get("TrailARN") or trail["Name"])
        if why:
            return Finding(ACCOUNT, "cloudtrail", NA, why)
        label = trail["Name"] + (" (multi-region)" if trail.get("IsMultiRegionTrail") else "")
        (logging if status.get("IsLogging") else idle).append(label)
    if logging:
        return Finding(ACCOUNT, "cloudtrail", OK, f"logging: {', '.join(logging)}")
    name = trails[0]["Name"]
    return Finding(ACCOUNT, "cloudtrail", FAIL, f"trail(s) not logging: {', '.join(idle)}", f"aws cloudtrail start-logging --name {name}")


def config_recorder(client) -> Finding:
    """An AWS Config recorder that is recording (resource changes, e.g. a table's settings, are kept)."""
    if client is None:
        return Finding(ACCOUNT, "config-recorder", NA, "no AWS Config endpoint for a local DynamoDB (set AWS_ENDPOINT_URL_CONFIG_SERVICE to check one)")
    response, why = _call(client.describe_configuration_recorder_status)
    if why:
        return Finding(ACCOUNT, "config-recorder", NA, why)
    recorders = response.get("ConfigurationRecordersStatus", [])
    if not recorders:
        return Finding(ACCOUNT, "config-recorder", FAIL, "no configuration recorder: changes to resources are not recorded",
                       "aws configservice put-configuration-recorder --configuration-recorder name=default,roleARN=ROLE_ARN "
                       "--recording-group allSupported=true && aws configservice put-delivery-channel --delivery-channel "
                       "name=default,s3BucketName=BUCKET && aws configservice start-configuration-recorder "
                       "--configuration-recorder-name default")
    recording = [r["name"] for r in recorders if r.get("recording")]
    if recording:
        return Finding(ACCOUNT, "config-recorder", OK, f"recording: {', '.join(recording)}")
    name = recorders[0]["name"]
    last = recorders[0].get("lastStatus")
    return Finding(ACCOUNT, "config-recorder", FAIL, f"recorder {name} is not recording" + (f" (last status {last})" if last else ""),
                   f"aws configservice start-configuration-recorder --configuration-recorder-name {name}")


def table_names(client) -> list[str]:
    return [n for page in client.get_paginator("list_tables").paginate() for n in page["TableNames"]]


def audit(clients: Clients, tables: list[str] | None = None, *, stream_tables=STREAM_TABLES,
          now: datetime | None = None) -> Report:
    """Every check for ``tables`` (default: every table on the endpoint), then the account's."""
    now = now or datetime.now(UTC)
    names = list(tables) if tables else table_names(clients.dynamodb)
    report = Report(clients.endpoint, clients.local, names)
    for name in names:
        try:
            report.findings += _TableAudit(clients, name, stream_tables=stream_tables, now=now).run()
        except clients.dynamodb.exceptions.ResourceNotFoundException:
            raise NotFoundError(f"no table '{name}' on {clients.endpoint}") from None
    report.findings += [cloudtrail(clients.cloudtrail), config_recorder(clients.config)]
    return report


def fixable(report: Report) -> list[Finding]:
    """The failed findings ``apply_fixes`` can turn into ok."""
    return [f for f in report.failed if f.check in FIXABLE]


class FixDoc(TypedDict):
    table: str
    check: str
    action: str


def apply_fixes(client, findings: list[Finding]) -> list[FixDoc]:
    """Turn on point-in-time recovery and deletion protection where ``findings`` say they are off."""
    done: list[FixDoc] = []
    for finding in sorted(findings, key=lambda f: (f.scope, FIXABLE.index(f.check))):
        if finding.check == "point-in-time-recovery":
            client.update_continuous_backups(TableName=finding.scope,
                                             PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
            done.append({"table": finding.scope, "check": finding.check, "action": "enabled point-in-time recovery"})
        elif finding.check == "deletion-protection":
            client.update_table(TableName=finding.scope, DeletionProtectionEnabled=True)
            client.get_waiter("table_exists").wait(TableName=finding.scope, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
            done.append({"table": finding.scope, "check": finding.check, "action": "enabled deletion protection"})
    return done
