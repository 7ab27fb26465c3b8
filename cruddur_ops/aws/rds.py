"""The RDS instance behind PROD_CONNECTION_URL: its state, and the security group rule that lets one IP in.

The rule is one ingress rule of the instance's security group (``DB_SG_ID``, ``DB_SG_RULE_ID``), rewritten to
``IP/32`` on the PostgreSQL port whenever the developer's IP changes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from datetime import UTC, datetime

from cruddur_ops.errors import CruddurError, InputError, NotFoundError
from cruddur_ops.settings import CLIENT_IP_ENV

POSTGRES_PORT = 5432
# Where a developer environment may publish its public IP, in the order they are tried.
IP_ENV = CLIENT_IP_ENV  # CRUDDUR_CLIENT_IP, GITPOD_IP, CODESPACES_IP
STOPPED = "stopped"
AVAILABLE = "available"


def _code(exc) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def client_cidr(ip: str | None, env: Mapping[str, str]) -> tuple[str, str]:
    """The CIDR to allow (``IP/32`` or ``IP/128``) and where the IP came from: ``--ip``, else the environment."""
    source = "--ip"
    if not ip:
        for name in IP_ENV:
            if env.get(name):
                ip, source = env[name].strip(), name
                break
    if not ip:
        raise InputError(
            "no IP to allow: pass --ip IP (your public IP, e.g. --ip \"$(curl -s https://checkip.amazonaws.com)\") "
            f"or set one of {', '.join(IP_ENV)}"
        )
    try:
        address = ipaddress.ip_address(ip.split("/")[0])
    except ValueError:
        raise InputError(f"'{ip}' (from {source}) is not an IP address") from None
    return f"{address}/{address.max_prefixlen}", source


def rule_description(now: datetime | None = None) -> str:
    """What the rule says about itself: the tool and when (EC2 allows letters, digits, spaces and ._-:/()#,@[]+=&;{}!$*)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return f"cruddur rds update-sg-rule {now.strftime('%Y-%m-%dT%H:%M:%SZ')}"


def _rule_doc(rule: dict) -> dict:
    return {
        "group_id": rule.get("GroupId"),
        "rule_id": rule.get("SecurityGroupRuleId"),
        "cidr": rule.get("CidrIpv4") or rule.get("CidrIpv6"),
        "port": rule.get("FromPort"),
        "description": rule.get("Description"),
    }


def _cidr_field(cidr: str) -> str:
    return "CidrIpv6" if ":" in cidr else "CidrIpv4"


def get_rule(ec2, rule_id: str) -> dict:
    from botocore.exceptions import ClientError

    try:
        rules = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rule_id])["SecurityGroupRules"]
    except ClientError as exc:
        if _code(exc).startswith("InvalidSecurityGroupRuleId"):
            raise NotFoundError(
                f"security group rule '{rule_id}' does not exist (DB_SG_RULE_ID / --rule-id); "
                "add one with `cruddur rds update-sg-rule --create`"
            ) from None
        raise
    if not rules:
        raise NotFoundError(f"security group rule '{rule_id}' does not exist (DB_SG_RULE_ID / --rule-id)")
    return rules[0]


def update_rule(ec2, rule_id: str, cidr: str, *, group_id: str | None = None, port: int = POSTGRES_PORT,
                description: str | None = None) -> dict:
    """Point the ingress rule ``rule_id`` at ``cidr`` on ``port``. Returns the rule as it now is, plus ``previous_cidr``."""
    rule = get_rule(ec2, rule_id)
    if group_id and rule["GroupId"] != group_id:
        raise CruddurError(f"security group rule '{rule_id}' belongs to {rule['GroupId']}, not to {group_id} (DB_SG_ID)")
    if rule.get("IsEgress"):
        raise CruddurError(f"security group rule '{rule_id}' is an egress rule; the database needs an ingress rule")
    description = description or rule_description()
    ec2.modify_security_group_rules(
        GroupId=rule["GroupId"],
        SecurityGroupRules=[{
            "SecurityGroupRuleId": rule_id,
            "SecurityGroupRule": {
                "IpProtocol": "tcp", "FromPort": port, "ToPort": port,
                _cidr_field(cidr): cidr, "Description": description,
            },
        }],
    )
    doc = _rule_doc(get_rule(ec2, rule_id))
    return {**doc, "previous_cidr": rule.get("CidrIpv4") or rule.get("CidrIpv6"), "created": False}


def create_rule(ec2, group_id: str, cidr: str, *, port: int = POSTGRES_PORT, description: str | None = None) -> dict:
    """Add an ingress rule for ``cidr`` on ``port`` to ``group_id`` (or find the one that exists); return it."""
    from botocore.exceptions import ClientError

    try:
        rules = ec2.describe_security_group_rules(
            Filters=[{"Name": "group-id", "Values": [group_id]}]
        )["SecurityGroupRules"]
    except ClientError as exc:
        if _code(exc).startswith("InvalidGroup"):
            raise NotFoundError(f"security group '{group_id}' does not exist (DB_SG_ID / --group-id)") from None
        raise
    for rule in rules:
        if (not rule.get("IsEgress") and rule.get("IpProtocol") == "tcp" and rule.get("FromPort") == port
                and rule.get("ToPort") == port and cidr in (rule.get("CidrIpv4"), rule.get("CidrIpv6"))):
            return {**_rule_doc(rule), "previous_cidr": None, "created": False}
    key = "Ipv6Ranges" if ":" in cidr else "IpRanges"
    cidr_key = "CidrIpv6" if ":" in cidr else "CidrIp"
    try:
        response = ec2.authorize_security_group_ingress(
            GroupId=group_id,
            IpPermissions=[{
                "IpProtocol": "tcp", "FromPort": port, "ToPort": port,
                key: [{cidr_key: cidr, "Description": description or rule_description()}],
            }],
        )
    except ClientError as exc:
        if _code(exc).startswith("InvalidGroup"):
            raise NotFoundError(f"security group '{group_id}' does not exist (DB_SG_ID / --group-id)") from None
        raise
    return {**_rule_doc(response["SecurityGroupRules"][0]), "previous_cidr": None, "created": True}


# --- the instance ---------------------------------------------------------------------------------------
def _instance_doc(instance: dict) -> dict:
    endpoint = instance.get("Endpoint") or {}
    return {
        "instance_id": instance["DBInstanceIdentifier"],
        "status": instance.get("DBInstanceStatus"),
        "endpoint": f"{endpoint['Address']}:{endpoint.get('Port', POSTGRES_PORT)}" if endpoint.get("Address") else None,
        "class": instance.get("DBInstanceClass"),
        "engine": instance.get("Engine"),
        "engine_version": instance.get("EngineVersion"),
        "storage_gb": instance.get("AllocatedStorage"),
        "publicly_accessible": instance.get("PubliclyAccessible"),
    }


def describe_instance(rds, instance_id: str) -> dict:
    """Status, endpoint (host:port), class, engine and version of the instance."""
    from botocore.exceptions import ClientError

    try:
        instances = rds.describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"]
    except ClientError as exc:
        if _code(exc).startswith("DBInstanceNotFound"):
            raise NotFoundError(f"no RDS instance '{instance_id}' (DB_INSTANCE_ID / --instance-id)") from None
        raise
    if not instances:
        raise NotFoundError(f"no RDS instance '{instance_id}' (DB_INSTANCE_ID / --instance-id)")
    return _instance_doc(instances[0])


def _change_state(rds, instance_id: str, action: str) -> dict:
    from botocore.exceptions import ClientError

    before = describe_instance(rds, instance_id)
    target = AVAILABLE if action == "start" else STOPPED
    if before["status"] == target:
        return {**before, "previous_status": before["status"], "changed": False}
    call = rds.start_db_instance if action == "start" else rds.stop_db_instance
    try:
        instance = call(DBInstanceIdentifier=instance_id)["DBInstance"]
    except ClientError as exc:
        if _code(exc).startswith("InvalidDBInstanceState"):
            raise CruddurError(f"cannot {action} RDS instance '{instance_id}' while it is {before['status']}") from None
        raise
    return {**_instance_doc(instance), "previous_status": before["status"], "changed": True}


def start_instance(rds, instance_id: str) -> dict:
    """Start the instance (nothing to do when it is available already)."""
    return _change_state(rds, instance_id, "start")


def stop_instance(rds, instance_id: str) -> dict:
    """Stop the instance (nothing to do when it is stopped already). RDS starts it again after 7 days."""
    return _change_state(rds, instance_id, "stop")
