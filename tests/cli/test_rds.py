"""`cruddur rds …` on moto_server (EC2 and RDS)."""

from __future__ import annotations

import json

from tests.aws.fixtures import make_instance, make_security_group
from tests.conftest import no_result

RULE_KEYS = {"group_id", "rule_id", "cidr", "previous_cidr", "port", "description", "created", "ip_source"}


def test_create_then_update_the_rule_from_the_environment(cli, aws, aws_env):
    ec2 = aws("ec2")
    group = make_security_group(ec2)
    aws_env.setenv("DB_SG_ID", group)
    created = cli("rds", "update-sg-rule", "--create", "--ip", "198.51.100.1", "-o", "json")
    doc = json.loads(created.stdout)
    assert set(doc) == RULE_KEYS and doc["created"] is True and doc["cidr"] == "198.51.100.1/32" and doc["port"] == 5432
    assert f"export DB_SG_RULE_ID={doc['rule_id']}" in created.stderr

    aws_env.setenv("DB_SG_RULE_ID", doc["rule_id"])
    aws_env.setenv("GITPOD_IP", "203.0.113.7")
    updated = cli.json("rds", "update-sg-rule")
    assert updated["rule_id"] == doc["rule_id"] and updated["cidr"] == "203.0.113.7/32"
    assert updated["previous_cidr"] == "198.51.100.1/32" and updated["ip_source"] == "GITPOD_IP"
    assert updated["description"].startswith("cruddur rds update-sg-rule 20")


def test_update_without_an_ip_or_with_a_missing_rule_is_a_clear_error(cli, moto_env, aws_env):
    no_ip = cli("rds", "update-sg-rule", "--rule-id", "sgr-0123456789abcdef0", ok=False)
    assert no_ip.exit_code == 3 and "no IP to allow: pass --ip" in no_ip.stderr
    missing = cli("rds", "update-sg-rule", "--rule-id", "sgr-0123456789abcdef0", "--ip", "203.0.113.7", ok=False)
    assert missing.exit_code == 4 and "rule 'sgr-0123456789abcdef0' does not exist" in missing.stderr
    no_rule = cli("rds", "update-sg-rule", "--ip", "203.0.113.7", ok=False)
    assert "pass --rule-id or set DB_SG_RULE_ID" in no_rule.stderr


def test_instance_status_stop_start(cli, aws, aws_env):
    aws_env.setenv("DB_INSTANCE_ID", make_instance(aws("rds")))
    status = cli.json("rds", "status")
    assert set(status) == {"instance_id", "status", "endpoint", "class", "engine", "engine_version", "storage_gb", "publicly_accessible"}
    assert status["status"] == "available" and status["engine"] == "postgres"

    refused = cli("rds", "stop", ok=False)
    assert refused.exit_code == 7 and "pass --yes" in refused.stderr
    stopped = cli.json("rds", "stop", "--yes")
    assert (stopped["previous_status"], stopped["status"], stopped["changed"]) == ("available", "stopped", True)
    started = cli.json("rds", "start")
    assert (started["status"], started["changed"]) == ("available", True)
    assert cli.json("rds", "start")["changed"] is False


def test_no_instance_id_is_a_clear_error(cli, moto_env):
    result = cli("rds", "status", ok=False)
    assert result.exit_code == 3 and "pass --instance-id or set DB_INSTANCE_ID" in result.stderr


def test_aws_itself_needs_prod_before_any_request(cli, aws_env):
    aws_env.setenv("AWS_ENDPOINT_URL", "https://aws.example.invalid")
    for args in (["rds", "update-sg-rule", "--ip", "203.0.113.7", "--rule-id", "sgr-1"], ["rds", "stop", "--yes", "--instance-id", "db"],
                 ["rds", "start", "--instance-id", "db"], ["rds", "update-sg-rule", "--create", "--ip", "203.0.113.7", "--group-id", "sg-1"]):
        result = cli(*args, ok=False)
        assert result.exit_code == 6 and "pass --prod" in result.stderr, args


def test_an_ipv6_address_never_reports_the_old_ipv4_range(cli, aws, aws_env):
    ec2 = aws("ec2")
    group = make_security_group(ec2)
    aws_env.setenv("DB_SG_ID", group)
    rule = cli.json("rds", "update-sg-rule", "--create", "--ip", "198.51.100.1")["rule_id"]
    refused = cli("rds", "update-sg-rule", "--rule-id", rule, "--ip", "2001:db8::1", ok=False)
    assert refused.exit_code != 0 and no_result(refused.stdout)
    assert "cannot turn it into an IPv6 rule for 2001:db8::1/128" in refused.stderr and "now allows" not in refused.stderr
    created = cli.json("rds", "update-sg-rule", "--create", "--ip", "2001:db8::1")
    assert created["cidr"] == "2001:db8::1/128" and created["created"] is True
