"""Flags + environment -> one frozen Settings, and the factory for every boto3 client.

The environment follows the AWS SDK (``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_<SERVICE>``, ``AWS_PROFILE``,
``AWS_REGION`` / ``AWS_DEFAULT_REGION``) and libpq (``CONNECTION_URL`` / ``DATABASE_URL``,
``PROD_CONNECTION_URL``). Nothing else in the package reads ``os.environ``.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

from cruddur_ops.errors import CruddurError, ProdGuardError

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
}


def is_loopback_host(host: str | None) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1 — the only hosts that count as local."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_local_url(url: str | None) -> bool:
    return url is not None and is_loopback_host(urlsplit(url).hostname)


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

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **flags) -> "Settings":
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
        )

    # --- AWS -------------------------------------------------------------------------------------
    def endpoint_for(self, service: str) -> str | None:
        """The endpoint a client of ``service`` talks to; None means AWS itself."""
        if self.endpoint_url:
            return self.endpoint_url
        suffix = SERVICE_ENV.get(service, service.upper().replace("-", "_"))
        if self.env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
            return None
        return self.env.get(f"AWS_ENDPOINT_URL_{suffix}") or self.env.get("AWS_ENDPOINT_URL") or None

    def is_local(self, service: str = "dynamodb") -> bool:
        return is_local_url(self.endpoint_for(service))

    def describe_endpoint(self, service: str = "dynamodb") -> str:
        return self.endpoint_for(service) or f"AWS {service} ({self.region or 'default region'})"

    def guard_write(self, service: str = "dynamodb", action: str = "write") -> None:
        """Refuse to write to a non-loopback endpoint unless --prod was given. Sends no request."""
        if not self.is_local(service) and not self.prod:
            raise ProdGuardError(
                f"refusing to {action} on {self.describe_endpoint(service)}: it is not a local endpoint; "
                "pass --prod to act on production"
            )

    def client(self, service: str, *, validate: bool = True, attempts: int | None = None):
        """A boto3 client for ``service`` with the endpoint, region, credentials and retries of these settings.

        ``validate=False`` skips botocore's parameter validation, for callers that build their requests
        themselves (the seed's batches: it costs ~0.7 s of CPU per 20,000 items). ``attempts`` caps botocore's
        HTTP attempts per call whatever the environment says, for callers that own their retries (the batch
        engine, ddb/batch.py, uses 1).
        """
        import boto3
        from botocore.config import Config

        endpoint = self.endpoint_for(service)
        local = is_local_url(endpoint)
        region = self.region or (LOCAL_REGION if local else None)
        session_args = {}
        if self.profile:
            session_args["profile_name"] = self.profile
        try:
            session = boto3.session.Session(region_name=region, **session_args)
        except Exception as exc:  # botocore.exceptions.ProfileNotFound
            raise CruddurError(str(exc)) from exc
        if session.region_name is None:
            raise CruddurError("no AWS region: pass --region or set AWS_REGION")
        config_args: dict = {"max_pool_connections": 32, "parameter_validation": validate}
        if local:
            config_args.update(connect_timeout=2, read_timeout=30)
        if attempts is not None:
            config_args["retries"] = {"mode": "standard", "total_max_attempts": attempts}
        elif not (self.env.get("AWS_MAX_ATTEMPTS") or self.env.get("AWS_RETRY_MODE")):
            config_args["retries"] = {"mode": "adaptive", "max_attempts": 3 if local else 10}
        client_args = {"config": Config(**config_args)}
        if endpoint:
            client_args["endpoint_url"] = endpoint
        if local and not self.profile and not self.env.get("AWS_ACCESS_KEY_ID"):
            client_args.update(LOCAL_CREDENTIALS)
        return session.client(service, **client_args)

    def dynamodb(self, *, validate: bool = True, attempts: int | None = None):
        return self.client("dynamodb", validate=validate, attempts=attempts)

    # --- PostgreSQL -------------------------------------------------------------------------------
    @property
    def connection_url(self) -> str | None:
        """The database URL in use: PROD_CONNECTION_URL with --prod, else CONNECTION_URL or DATABASE_URL."""
        if self.prod:
            return self.env.get("PROD_CONNECTION_URL") or None
        return self.env.get("CONNECTION_URL") or self.env.get("DATABASE_URL") or None

    @property
    def cognito_pool_id(self) -> str | None:
        return self.env.get("AWS_COGNITO_USER_POOL_ID") or None
