"""cruddur_ops.aws.rds: the client IP, the security group rule, and the instance's state (on moto)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cruddur_ops.aws import rds
from cruddur_ops.errors import CruddurError, InputError, NotFoundError
from tests.aws.fixtures import make_instance, make_security_group


def test_client_cidr_prefers_the_flag_then_the_environment():
    assert rds.client_cidr("203.0.113.7", {"GITPOD_IP": "198.51.100.1"}) == ("203.0.113.7/32", "--ip")
    assert rds.client_cidr(None, {"GITPOD_IP": "198.51.100.1"}) == ("198.51.100.1/32", "GITPOD_IP")
    assert rds.client_cidr(None, {"CODESPACES_IP": " 2001:db8::5 "}) == ("2001:db8::5/128", "CODESPACES_IP")


def test_client_cidr_without_an_ip_says_how_to_pass_one():
    with pytest.raises(InputError, match="pass --ip IP"):
        rds.client_cidr(None, {})
    with pytest.raises(InputError, match="'not-an-ip' \\(from GITPOD_IP\\) is not an IP address"):
        rds.client_cidr(None, {"GITPOD_IP": "not-an-ip"})


def test_the_description_names_the_tool_and_the_time():
    when = datetime(2024, 2, 29, 23, 59, 1, tzinfo=UTC)
    assert rds.rule_description(when) == "cruddur rds update-sg-rule 2024-02-29T23:59:01Z"


def test_create_then_update_the_rule(aws):
    ec2 = aws("ec2")
    group = make_security_group(ec2)
    created = rds.create_rule(ec2, group, "198.51.100.1/32")
    assert created["created"] is True and created["rule_id"].startswith("sgr-") and created["port"] == 5432
    again = rds.create_rule(ec2, group, "198.51.100.1/32")
    assert (again["created"], again["rule_id"]) == (False, created["rule_id"])

    updated = rds.update_rule(ec2, created["rule_id"], "203.0.113.7/32", group_id=group)
    assert updated["cidr"] == "203.0.113.7/32" and updated["previous_cidr"] == "198.51.100.1/32"
    assert updated["description"].startswith("cruddur rds update-sg-rule ")
    (rule,) = ec2.describe_security_group_rules(SecurityGroupRuleIds=[created["rule_id"]])["SecurityGroupRules"]
    assert (rule["CidrIpv4"], rule["FromPort"], rule["ToPort"], rule["IpProtocol"]) == ("203.0.113.7/32", 5432, 5432, "tcp")


def test_a_rule_that_does_not_exist_is_a_clear_error(aws):
    with pytest.raises(NotFoundError, match="rule 'sgr-0123456789abcdef0' does not exist.*--create"):
        rds.update_rule(aws("ec2"), "sgr-0123456789abcdef0", "203.0.113.7/32")


def test_a_rule_of_another_group_is_refused(aws):
    ec2 = aws("ec2")
    rule = rds.create_rule(ec2, make_security_group(ec2), "198.51.100.1/32")["rule_id"]
    with pytest.raises(CruddurError, match="not to sg-other"):
        rds.update_rule(ec2, rule, "203.0.113.7/32", group_id="sg-other")


def test_creating_in_a_missing_group_is_a_clear_error(aws):
    with pytest.raises(NotFoundError, match="security group 'sg-0123456789abcdef0' does not exist"):
        rds.create_rule(aws("ec2"), "sg-0123456789abcdef0", "198.51.100.1/32")


def test_instance_status_stop_and_start(aws):
    client = aws("rds")
    instance = make_instance(client)
    status = rds.describe_instance(client, instance)
    assert status["status"] == "available" and status["engine"] == "postgres" and status["endpoint"].endswith(":5432")
    assert status["class"] == "db.t3.micro" and status["engine_version"] == "15.4"
    stopped = rds.stop_instance(client, instance)
    assert (stopped["previous_status"], stopped["status"], stopped["changed"]) == ("available", "stopped", True)
    assert rds.stop_instance(client, instance)["changed"] is False
    started = rds.start_instance(client, instance)
    assert (started["previous_status"], started["status"], started["changed"]) == ("stopped", "available", True)


def test_a_missing_instance_is_a_clear_error(aws):
    with pytest.raises(NotFoundError, match="no RDS instance 'nope'"):
        rds.describe_instance(aws("rds"), "nope")


def _sent(ec2, operation: str) -> list[dict]:
    """The parameters of every ``operation`` call the real client makes (botocore's own event hook)."""
    calls: list[dict] = []
    ec2.meta.events.register(f"provide-client-params.ec2.{operation}", lambda params, **_: calls.append(params))
    return calls


def test_an_ipv6_address_is_sent_as_cidr_ipv6_and_checked_afterwards(aws):
    ec2 = aws("ec2")
    group = make_security_group(ec2)
    created = rds.create_rule(ec2, group, "2001:db8::5/128")
    assert created["cidr"] == "2001:db8::5/128" and created["created"] is True
    sent = _sent(ec2, "ModifySecurityGroupRules")
    try:
        updated = rds.update_rule(ec2, created["rule_id"], "2001:db8::1/128", group_id=group)
    except CruddurError as exc:
        # moto keeps the old range on a CidrIpv6 modify: the check afterwards turns that into an error, not a success
        assert "was set to allow 2001:db8::1/128" in str(exc) and "now describes it as 2001:db8::5/128" in str(exc)
    else:
        assert updated["cidr"] == "2001:db8::1/128" and updated["previous_cidr"] == "2001:db8::5/128"
    (request,) = sent
    rule = request["SecurityGroupRules"][0]["SecurityGroupRule"]
    assert rule["CidrIpv6"] == "2001:db8::1/128" and "CidrIpv4" not in rule


def test_an_ipv6_address_for_an_ipv4_rule_is_refused_before_any_change(aws):
    ec2 = aws("ec2")
    group = make_security_group(ec2)
    rule = rds.create_rule(ec2, group, "198.51.100.1/32")["rule_id"]
    sent = _sent(ec2, "ModifySecurityGroupRules")
    with pytest.raises(InputError, match=r"allows an IPv4 range \(198.51.100.1/32\).*cannot turn it into an IPv6 rule"
                                         r".*--ip 2001:db8::1 --create"):
        rds.update_rule(ec2, rule, "2001:db8::1/128", group_id=group)
    assert sent == []
    (now,) = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rule])["SecurityGroupRules"]
    assert now["CidrIpv4"] == "198.51.100.1/32"


def test_a_rule_that_does_not_allow_what_was_asked_is_an_error(aws):
    ec2 = aws("ec2")
    rule_id = rds.create_rule(ec2, make_security_group(ec2), "198.51.100.1/32")["rule_id"]
    described = rds.get_rule(ec2, rule_id)
    rds.check_rule(described, "198.51.100.1/32", 5432)  # what EC2 describes is what was asked: no error
    with pytest.raises(CruddurError, match=r"was set to allow 203.0.113.7/32 on tcp port 5432, but EC2 now describes "
                                           r"it as 198.51.100.1/32 on tcp port 5432"):
        rds.check_rule(described, "203.0.113.7/32", 5432)
    with pytest.raises(CruddurError, match="on tcp port 5433, but"):
        rds.check_rule(described, "198.51.100.1/32", 5433)
