"""Flags + environment -> one frozen Settings, and the factory for every boto3 client.

The environment follows the AWS SDK (``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_<SERVICE>``, ``AWS_PROFILE``,
``AWS_REGION`` / ``AWS_DEFAULT_REGION``) and libpq (``CONNECTION_URL`` / ``DATABASE_URL``,
``PROD_CONNECTION_URL``). Nothing else in the package reads ``os.environ`` or ``Settings.env``: every key the tool
knows has a typed property below (the RDS instance and security group ids, the client IP, the message table
override, the log level, the Cognito pool), and :meth:`Settings.child_env` hands the environment to child
processes (psql, initdb, pg_ctl).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cruddur_ops.errors import ConfirmationError, InputError, ProdGuardError
from cruddur_ops.targets import endpoint_host_is_local, is_loopback_host, judge_endpoint  # noqa: F401

LOCAL_REGION = "us-east-1"
LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}

# The SDK's per-service variable suffix for the clients cruddur makes.
SERVICE_ENV = {
    "dynamodb": "DYNAMODB",
    "dynamodbstreams": "DYNAMODB_STREAMS",
    "cognito-idp": "COGNITO_IDENTITY_PROVIDER",
    "ec2": "EC2",
    "rds": "RDS",
    "cloudtrail": "CLOUDTRAIL",
    "config": "CONFIG_SERVICE",
    "s3": "S3",
}


# Where `rds update-sg-rule` finds the IP to allow when --ip is not given, in this order.
CLIENT_IP_ENV = ("CRUDDUR_CLIENT_IP", "GITPOD_IP", "CODESPACES_IP")
MESSAGE_TABLE_ENV = "DDB_MESSAGE_TABLE"  # the app's variable naming the messages table (the Lambda reads it)



# Operations a read client may send to a production endpoint; any other operation needs a write client.
READ_OPERATIONS = ("Describe", "List", "Get", "Query", "Scan", "BatchGet", "TransactGet", "Lookup", "Select",
                   "AdminGet", "Head")

# Every write client or connection asked for in this process, as (service, action, destructive): what the
# command-tree test reads to learn which commands write (nothing keeps that list by hand).
WRITE_REQUESTS: list[tuple[str, str, bool]] = []


@dataclass(frozen=True)
class Action:
    """What a write client is for: ``Action("drop table", "t", destructive=True, yes=yes)``.

    ``destructive`` actions are confirmed where the client is made: locally ``question`` is asked (``--yes``
    skips it); on production the user types ``resource`` at a terminal and ``--yes`` alone is refused.
    ``question`` may be a callable that receives a read client (or read-only Database) of the same target, for a
    question that needs a count; it runs after the production guard, so a refused write reads nothing either.
    """

    verb: str
    resource: str = ""
    destructive: bool = False
    yes: bool = False
    question: str | Callable[[Any], str | None] | None = None
    where: str = ""
    prod_question: str | None = None  # a non-destructive action that still asks once on production (seed, setup)
    name: str = ""  # the name typed on production (default: resource)

    @property
    def text(self) -> str:
        return f"{self.verb} {self.resource}" if self.resource else self.verb

    @property
    def typed(self) -> str:
        return self.name or self.resource


def is_production(prod: bool, local: bool) -> bool:
    """The one answer to "is this production?": --prod, or a target that is not loopback (or a local socket)."""
    return prod or not local


def is_local_url(url: str | None) -> bool:
    """True only when urllib3 will send to a loopback host (see cruddur_ops.targets)."""
    return endpoint_host_is_local(url)


def _read_only(client, where: str) -> None:
    """A read client to production refuses every other operation before it is sent (fail closed: a command
    that forgot to ask for a write client cannot write there)."""

    def refuse(model, **_):
        if not model.name.startswith(READ_OPERATIONS):
            raise ProdGuardError(f"refusing {model.name} on {where}: this client was made for reading; "
                                 "a write needs a write client (and the production guard)")

    client.meta.events.register("before-parameter-build", refuse)


def default_data_dir(env: Mapping[str, str]) -> Path:
    if env.get("CRUDDUR_HOME"):
        return Path(env["CRUDDUR_HOME"]).expanduser()
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME", "~")) / ".local" / "share")
    return Path(base).expanduser() / "cruddur"


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to reach its engines, from flags first and the environment second."""

    endpoint_url: str | None = None  # --endpoint-url: every AWS service
    profile: str | None = None
    region: str | None = None
    prod: bool = False
    debug: bool = False
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    data_dir: Path = Path(".cruddur")
    # how a destructive action is confirmed: the CLI installs its prompt (cli/options.py); without one, a
    # destructive action is refused unless --yes on a local target
    confirmer: Callable[[Settings, Action, bool, Any], None] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **flags) -> Settings:
        env = dict(os.environ if env is None else env)
        flags = {k: v for k, v in flags.items() if v is not None}
        return cls(
            endpoint_url=flags.get("endpoint_url"),
            profile=flags.get("profile") or env.get("AWS_PROFILE"),
            region=flags.get("region") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
            prod=bool(flags.get("prod", False)),
            debug=bool(flags.get("debug", False)),
            env=env,
            data_dir=Path(flags["data_dir"]) if flags.get("data_dir") else default_data_dir(env),
            confirmer=flags.get("confirmer"),
        )

    # --- AWS -------------------------------------------------------------------------------------
    def endpoint_for(self, service: str) -> str | None:
        """The endpoint a client of ``service`` talks to; None means AWS itself.

        As the SDK resolves it: --endpoint-url, ``AWS_ENDPOINT_URL_<SERVICE>``, ``AWS_ENDPOINT_URL``, then the
        ``endpoint_url`` of the profile (or of its ``services`` section) in the AWS config file.
        """
        if self.endpoint_url:
            return self.endpoint_url
        suffix = SERVICE_ENV.get(service, service.upper().replace("-", "_"))
        if self.env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
            return None
        from_env = self.env.get(f"AWS_ENDPOINT_URL_{suffix}") or self.env.get("AWS_ENDPOINT_URL")
        if from_env:
            return from_env
        from cruddur_ops.targets import configured_endpoint

        return configured_endpoint(service, profile=self.profile, region=self.region, env=self.env)

    def is_local(self, service: str = "dynamodb") -> bool:
        return is_local_url(self.endpoint_for(service))

    def describe_endpoint(self, service: str = "dynamodb") -> str:
        return self.endpoint_for(service) or f"AWS {service} ({self.region or 'default region'})"

    def is_production(self, service: str = "dynamodb") -> bool:
        """--prod, or an endpoint that is not loopback: destructive actions there need the typed name."""
        return is_production(self.prod, self.is_local(service))

    def guard_write(self, service: str = "dynamodb", action: str = "write") -> None:
        """The production guard alone (no confirmation), for callers not yet converted to ``client(write=...)``."""
        self._guard(service, Action(action))

    def _guard(self, service: str, action: Action) -> None:
        """Refuse to write to a non-loopback endpoint unless --prod. Sends no request. (A loopback endpoint is
        reached without any proxy, see :meth:`client`, so no proxy can carry a local write off the machine.)"""
        WRITE_REQUESTS.append((service, action.text, action.destructive))
        endpoint = self.endpoint_for(service)
        problem = judge_endpoint(endpoint).problem if endpoint else None
        if problem:
            raise ProdGuardError(f"refusing to {action.text} on {endpoint!r}: it is ambiguous ({problem}), so it "
                                 "counts as production and is never sent; write it as http(s)://host:port")
        if not is_local_url(endpoint) and not self.prod:
            raise ProdGuardError(
                f"refusing to {action.text} on {self.describe_endpoint(service)}: it is not a local endpoint; "
                "pass --prod to act on production"
            )

    def confirm(self, action: Action, *, production: bool, read: Callable[[], Any] | None = None) -> None:
        """Confirm a destructive (or production-asking) action once: the CLI's prompt, else --yes locally."""
        if not (action.destructive or (production and action.prod_question)):
            return
        if self.confirmer is not None:
            self.confirmer(self, action, production, read)
            return
        if production:
            raise ProdGuardError(f"refusing to {action.text} on production: no terminal to type "
                                 f"'{action.typed}' on")
        if not action.yes:
            raise ConfirmationError(f"refusing to {action.text} without confirmation: pass --yes")

    def authorize(self, service: str, action: Action) -> None:
        """The guard, then (for a destructive action) the confirmation: what every write client goes through."""
        self._guard(service, action)
        self.confirm(action, production=self.is_production(service),
                     read=lambda: self.client(service))

    def client(self, service: str, *, validate: bool = True, attempts: int | None = None,
               write: Action | None = None):
        """A boto3 client for ``service`` with the endpoint, region, credentials and retries of these settings.

        ``validate=False`` skips botocore's parameter validation, for callers that build their requests
        themselves (the seed's batches: it costs ~0.7 s of CPU per 20,000 items). ``attempts`` caps botocore's
        HTTP attempts per call whatever the environment says, for callers that own their retries (the batch
        engine, ddb/batch.py, uses 1).
        """
        if write is not None:
            self.authorize(service, write)
        import boto3
        from botocore.config import Config

        endpoint = self.endpoint_for(service)
        if endpoint is not None and judge_endpoint(endpoint).problem:
            raise InputError(f"refusing the endpoint {endpoint!r}: {judge_endpoint(endpoint).problem}; "
                             "write it as http(s)://host:port")
        local = is_local_url(endpoint)
        region = self.region or (LOCAL_REGION if local else None)
        session_args = {}
        if self.profile:
            session_args["profile_name"] = self.profile
        try:
            session = boto3.session.Session(region_name=region, **session_args)
        except Exception as exc:  # botocore.exceptions.ProfileNotFound
            raise InputError(str(exc)) from exc
        if session.region_name is None:
            raise InputError("no AWS region: pass --region or set AWS_REGION")
        # the endpoint was resolved above (flags, environment, config file): botocore must not pick another
        config_args: dict = {"max_pool_connections": 32, "parameter_validation": validate,
                             "ignore_configured_endpoint_urls": True}
        if local:
            # a loopback endpoint is reached directly: never through HTTP(S)_PROXY, which could carry a "local"
            # write (signed, with its items) off the machine. An explicit empty map, so botocore does not read
            # the environment's proxies; os.environ itself is left alone.
            config_args.update(connect_timeout=2, read_timeout=30, proxies={})
        if service == "s3" and endpoint:  # an endpoint of one's own (moto, MinIO) has no bucket subdomains
            config_args["s3"] = {"addressing_style": "path"}
        if attempts is not None:
            config_args["retries"] = {"mode": "standard", "total_max_attempts": attempts}
        elif not (self.env.get("AWS_MAX_ATTEMPTS") or self.env.get("AWS_RETRY_MODE")):
            config_args["retries"] = {"mode": "adaptive", "max_attempts": 3 if local else 10}
        client_args = {"config": Config(**config_args)}
        if endpoint:
            client_args["endpoint_url"] = endpoint
        if local and not self.profile and not self.env.get("AWS_ACCESS_KEY_ID"):
            client_args.update(LOCAL_CREDENTIALS)
        if local:
            from cruddur_ops.local.dynamodb_local import SECRET, key_for

            key = key_for(self.data_dir, endpoint)  # the data dir's DynamoDB Local refuses any other key
            if key:
                client_args.update(aws_access_key_id=key, aws_secret_access_key=SECRET)
        client = session.client(service, **client_args)
        if is_local_url(client.meta.endpoint_url) != local:  # judge what the SDK will really use
            raise ProdGuardError(f"the {service} client would use {client.meta.endpoint_url}, not {endpoint or 'AWS'}; "
                                 "refusing to guess which one is meant")
        if write is None and not local:
            _read_only(client, self.describe_endpoint(service))
        return client

    def dynamodb(self, *, validate: bool = True, attempts: int | None = None, write: Action | None = None):
        """A read client; with ``write=Action("drop table", "t", destructive=True)`` the guard (and, on
        production, the typed confirmation) runs here, once, before a write-capable client exists."""
        return self.client("dynamodb", validate=validate, attempts=attempts, write=write)

    def database(self, *, write: Action | None = None):
        """The PostgreSQL target of these settings; read-only on production unless asked ``write=Action(...)``,
        which runs the guard (and the confirmation) first, before any connection."""
        from cruddur_ops.pg.database import Database

        return self.writable(Database.from_settings(self), write) if write is not None else Database.from_settings(self)

    def writable(self, db, action: Action):
        """``db`` (any Database) made writable after the guard and the confirmation."""
        WRITE_REQUESTS.append(("postgresql", action.text, action.destructive))
        db.guard_write(prod=self.prod, action=action.text)
        self.confirm(dataclasses.replace(action, name=action.name or (db.require_name() if action.destructive else ""),
                                         where=action.where or db.masked),
                     production=is_production(self.prod, db.is_local), read=lambda: db)
        return dataclasses.replace(db, writable=True)

    def dynamodb_streams(self):
        """The DynamoDB Streams client. DynamoDB Local serves streams on its own endpoint, so a local DynamoDB
        endpoint is used for streams too unless AWS_ENDPOINT_URL_DYNAMODB_STREAMS (or --endpoint-url) says otherwise."""
        if self.endpoint_for("dynamodbstreams") is None and self.is_local("dynamodb"):
            return dataclasses.replace(self, endpoint_url=self.endpoint_for("dynamodb")).client("dynamodbstreams")
        return self.client("dynamodbstreams")

    @property
    def has_access_key(self) -> bool:
        """Whether AWS_ACCESS_KEY_ID is set (a local endpoint then uses it instead of dummy credentials)."""
        return bool(self.env.get("AWS_ACCESS_KEY_ID"))

    # --- the environment's other keys -------------------------------------------------------------------------
    @property
    def db_instance_id(self) -> str | None:
        """DB_INSTANCE_ID: the RDS instance of `cruddur rds`."""
        return self.env.get("DB_INSTANCE_ID") or None

    @property
    def db_sg_id(self) -> str | None:
        """DB_SG_ID: the security group of the RDS instance."""
        return self.env.get("DB_SG_ID") or None

    @property
    def db_sg_rule_id(self) -> str | None:
        """DB_SG_RULE_ID: the ingress rule `rds update-sg-rule` points at the client IP."""
        return self.env.get("DB_SG_RULE_ID") or None

    @property
    def client_ip(self) -> tuple[str, str] | None:
        """(variable, IP) from the first of CRUDDUR_CLIENT_IP, GITPOD_IP, CODESPACES_IP that is set."""
        for name in CLIENT_IP_ENV:
            if self.env.get(name):
                return name, self.env[name]
        return None

    @property
    def message_table(self) -> str | None:
        """DDB_MESSAGE_TABLE: the app's override of the messages table's name."""
        return self.env.get(MESSAGE_TABLE_ENV) or None

    @property
    def log_level(self) -> str:
        """LOG_LEVEL, upper case (default INFO)."""
        return (self.env.get("LOG_LEVEL") or "INFO").upper()

    @property
    def executable_path(self) -> str | None:
        """PATH, where child processes and their binaries (psql, initdb, pg_ctl) are found."""
        return self.env.get("PATH")

    def child_env(self) -> dict[str, str]:
        """A copy of the environment, for a child process that inherits it (psql; initdb and pg_ctl take PATH and HOME)."""
        return dict(self.env)

    # --- PostgreSQL -------------------------------------------------------------------------------
    @property
    def connection_url(self) -> str | None:
        """The database URL in use: PROD_CONNECTION_URL with --prod, else CONNECTION_URL or DATABASE_URL."""
        if self.prod:
            return self.env.get("PROD_CONNECTION_URL") or None
        return self.env.get("CONNECTION_URL") or self.env.get("DATABASE_URL") or None

    @property
    def connection_url_source(self) -> str:
        """Which variable :attr:`connection_url` came from: PROD_CONNECTION_URL, CONNECTION_URL, DATABASE_URL or default."""
        if self.prod:
            return "PROD_CONNECTION_URL"
        if self.env.get("CONNECTION_URL"):
            return "CONNECTION_URL"
        return "DATABASE_URL" if self.env.get("DATABASE_URL") else "default"

    @property
    def libpq_env(self) -> dict[str, str]:
        """The variables libpq reads on its own (PGHOST, PGSERVICE, PGSERVICEFILE, …, and HOME for its files):
        the production guard judges the hosts libpq will really use."""
        return {k: v for k, v in self.env.items() if k.startswith("PG") or k == "HOME"}

    @property
    def cognito_pool_id(self) -> str | None:
        """AWS_COGNITO_USER_POOL_ID: the app's user pool."""
        return self.env.get("AWS_COGNITO_USER_POOL_ID") or None
