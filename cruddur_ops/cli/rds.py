"""`cruddur rds …`: the production RDS instance — its state, and the security group rule for your IP."""

from typing import Annotated, Optional

import typer

from cruddur_ops.cli import render
from cruddur_ops.cli.options import OutputOpt, YesOpt, settings
from cruddur_ops.cli.render import Column, Section
from cruddur_ops.errors import InputError
from cruddur_ops.settings import Action, Settings

app = typer.Typer(
    no_args_is_help=True,
    help="RDS: the instance in DB_INSTANCE_ID (status, start, stop) and the ingress rule DB_SG_RULE_ID for your IP.",
)

InstanceOpt = Annotated[
    Optional[str], typer.Option("--instance-id", help="DB instance identifier (default: DB_INSTANCE_ID).", show_default=False)
]


def _required(value: str | None, option: str, env_name: str, settings_: Settings) -> str:
    value = value or {"DB_INSTANCE_ID": settings_.db_instance_id, "DB_SG_ID": settings_.db_sg_id,
                      "DB_SG_RULE_ID": settings_.db_sg_rule_id}[env_name]
    if not value:
        raise InputError(f"no {option[2:].replace('-', ' ')}: pass {option} or set {env_name}")
    return value


def _facts(title: str, doc: dict, keys: list[str]) -> Section:
    return Section(title, [Column("", "field"), Column("", "value")], [{"field": k, "value": doc.get(k)} for k in keys])


@app.command("update-sg-rule")
def update_sg_rule(
    ctx: typer.Context,
    ip: Annotated[Optional[str], typer.Option("--ip", help="IP to allow (default: CRUDDUR_CLIENT_IP, GITPOD_IP or CODESPACES_IP).", show_default=False)] = None,
    group_id: Annotated[Optional[str], typer.Option("--group-id", help="Security group id (default: DB_SG_ID).", show_default=False)] = None,
    rule_id: Annotated[Optional[str], typer.Option("--rule-id", help="Security group rule id (default: DB_SG_RULE_ID).", show_default=False)] = None,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="PostgreSQL port.")] = 5432,
    create: Annotated[bool, typer.Option("--create", help="Add a new ingress rule to the group instead, and print its id.")] = False,
    output: OutputOpt = None,
) -> None:
    """Point the database's ingress rule at IP/32 (IPv6: IP/128) on the PostgreSQL port, described with the tool
    and time; the rule is described again afterwards and must then allow exactly that.

    Example: cruddur rds update-sg-rule --ip 203.0.113.7 --prod
    """
    from cruddur_ops.aws import rds

    s = settings(ctx)
    cidr, source = rds.client_cidr(ip, dict([s.client_ip]) if s.client_ip else {})
    if create:
        group = _required(group_id, "--group-id", "DB_SG_ID", s)
        doc = rds.create_rule(s.client("ec2", write=Action("add a security group rule")), group, cidr, port=port)
        if doc["created"]:
            render.note(f"added rule {doc['rule_id']} to {group}; keep its id:")
            render.note(f"export DB_SG_RULE_ID={doc['rule_id']}")
        else:
            render.note(f"{group} already allows {cidr} on port {port} (rule {doc['rule_id']})")
    else:
        rule = _required(rule_id, "--rule-id", "DB_SG_RULE_ID", s)
        doc = rds.update_rule(s.client("ec2", write=Action("modify a security group rule")), rule, cidr, group_id=group_id or s.db_sg_id, port=port)
        render.note(f"rule {doc['rule_id']} now allows {doc['cidr']} (was {doc['previous_cidr'] or 'nothing'})")
    doc = {**doc, "ip_source": source}
    render.emit(doc, output, lambda: [_facts("Security group rule", doc, [
        "group_id", "rule_id", "cidr", "previous_cidr", "port", "description", "created", "ip_source"])])


INSTANCE_KEYS = ["instance_id", "status", "endpoint", "class", "engine", "engine_version", "storage_gb", "publicly_accessible"]


@app.command("status")
def status(ctx: typer.Context, instance_id: InstanceOpt = None, output: OutputOpt = None) -> None:
    """Show the instance's status, endpoint, class and engine version.

    Example: cruddur rds status --output json
    """
    from cruddur_ops.aws import rds

    s = settings(ctx)
    doc = rds.describe_instance(s.client("rds"), _required(instance_id, "--instance-id", "DB_INSTANCE_ID", s))
    render.emit(doc, output, lambda: [_facts("RDS instance", doc, INSTANCE_KEYS)])


@app.command("start")
def start(ctx: typer.Context, instance_id: InstanceOpt = None, output: OutputOpt = None) -> None:
    """Start the stopped instance (nothing to do when it is available).

    Example: cruddur rds start --prod
    """
    from cruddur_ops.aws import rds

    s = settings(ctx)
    instance = _required(instance_id, "--instance-id", "DB_INSTANCE_ID", s)
    doc = rds.start_instance(s.client("rds", write=Action("start", instance)), instance)
    render.note(f"{instance}: {doc['previous_status']} → {doc['status']}" if doc["changed"] else f"{instance} is available already")
    render.emit(doc, output, lambda: [_facts("RDS instance", doc, INSTANCE_KEYS + ["previous_status", "changed"])])


@app.command("stop")
def stop(ctx: typer.Context, instance_id: InstanceOpt = None, yes: YesOpt = False, output: OutputOpt = None) -> None:
    """Stop the instance (asks first); RDS starts a stopped instance again after seven days.

    Example: cruddur rds stop --prod --yes
    """
    from cruddur_ops.aws import rds

    s = settings(ctx)
    instance = _required(instance_id, "--instance-id", "DB_INSTANCE_ID", s)
    client = s.client("rds", write=Action("stop", instance, destructive=True, yes=yes, where=s.describe_endpoint("rds"),
                                          question=f"Stop RDS instance {instance}? The app loses its database until it is started again."))
    doc = rds.stop_instance(client, instance)
    render.note(f"{instance}: {doc['previous_status']} → {doc['status']}" if doc["changed"] else f"{instance} is stopped already")
    render.emit(doc, output, lambda: [_facts("RDS instance", doc, INSTANCE_KEYS + ["previous_status", "changed"])])
