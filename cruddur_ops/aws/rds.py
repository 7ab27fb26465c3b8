"""The RDS instance behind PROD_CONNECTION_URL: its state, and the security group rule that lets one IP in.

The rule is one ingress rule of the instance's security group (``DB_SG_ID``, ``DB_SG_RULE_ID``), rewritten to
``IP/32`` (IPv4) or ``IP/128`` (IPv6) on the PostgreSQL port whenever the developer's IP changes, and described
again afterwards: a rule that does not then allow exactly that is an error, never a success.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from datetime import UTC, datetime

from cruddur_ops.errors import ConflictError, CruddurError, InputError, NotFoundError
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


def _rule_cidr(rule: dict) -> str | None:
    return rule.get("CidrIpv4") or rule.get("CidrIpv6")


def _same_network(a: str | None, b: str) -> bool:
    if not a:
        return False
    try:
        return ipaddress.ip_network(a, strict=False) == ipaddress.ip_network(b, strict=False)
    except ValueError:
        return False


def check_rule(rule: dict, cidr: str, port: int) -> None:
    """Raise unless the rule, as EC2 describes it now, allows exactly ``cidr`` on tcp ``port``."""
    now = (_rule_cidr(rule), rule.get("IpProtocol"), rule.get("FromPort"), rule.get("ToPort"))
    if not _same_network(now[0], cidr) or now[1:] != ("tcp", port, port):
        raise CruddurError(
            f"security group rule '{rule.get('SecurityGroupRuleId')}' was set to allow {cidr} on tcp port {port}, "
            f"but EC2 now describes it as {now[0] or 'no CIDR'} on {now[1]} port {now[2]}"
            + (f"–{now[3]}" if now[3] != now[2] else "")
            + "; check it with `aws ec2 describe-security-group-rules`"
        )


def update_rule(ec2, rule_id: str, cidr: str, *, group_id: str | None = None, port: int = POSTGRES_PORT,
                description: str | None = None) -> dict:
    """Point the ingress rule ``rule_id`` at ``cidr`` on ``port`` (``CidrIpv4`` or ``CidrIpv6``), then describe the
    rule again and check that it now allows exactly that. Returns the rule as it now is, plus ``previous_cidr``."""
    rule = get_rule(ec2, rule_id)
    if group_id and rule["GroupId"] != group_id:
        raise CruddurError(f"security group rule '{rule_id}' belongs to {rule['GroupId']}, not to {group_id} (DB_SG_ID)")
    if rule.get("IsEgress"):
        raise CruddurError(f"security group rule '{rule_id}' is an egress rule; the database needs an ingress rule")
    field = _cidr_field(cidr)
    if not rule.get(field):
        # EC2 cannot change a rule's type (IPv4 range, IPv6 range, prefix list, group) in place.
        kind = ("an IPv4 range" if rule.get("CidrIpv4") else "an IPv6 range" if rule.get("CidrIpv6")
                else "a prefix list or security group")
        family = "IPv6" if field == "CidrIpv6" else "IPv4"
        what = _rule_cidr(rule) or rule.get("PrefixListId") or (rule.get("ReferencedGroupInfo") or {}).get("GroupId")
        raise InputError(
            f"security group rule '{rule_id}' allows {kind} ({what}), and EC2 cannot turn it into an {family} rule for {cidr}: add one with "
            f"`cruddur rds update-sg-rule --ip {cidr.split('/')[0]} --create` and set DB_SG_RULE_ID to its id"
        )
    description = description or rule_description()
    ec2.modify_security_group_rules(
        GroupId=rule["GroupId"],
        SecurityGroupRules=[{
            "SecurityGroupRuleId": rule_id,
            "SecurityGroupRule": {
                "IpProtocol": "tcp", "FromPort": port, "ToPort": port,
                field: cidr, "Description": description,
            },
        }],
    )
    after = get_rule(ec2, rule_id)
    check_rule(after, cidr, port)
    return {**_rule_doc(after), "previous_cidr": _rule_cidr(rule), "created": False}


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
    created = response["SecurityGroupRules"][0]
    check_rule(created, cidr, port)
    return {**_rule_doc(created), "previous_cidr": None, "created": True}


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
            raise ConflictError(f"cannot {action} RDS instance '{instance_id}' while it is {before['status']}") from None
        raise
    return {**_instance_doc(instance), "previous_status": before["status"], "changed": True}


def start_instance(rds, instance_id: str) -> dict:
    """Start the instance (nothing to do when it is available already)."""
    return _change_state(rds, instance_id, "start")


def stop_instance(rds, instance_id: str) -> dict:
    """Stop the instance (nothing to do when it is stopped already). RDS starts it again after 7 days."""
    return _change_state(rds, instance_id, "stop")
