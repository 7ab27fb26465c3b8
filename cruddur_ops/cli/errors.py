"""The error edge: the family of cruddur_ops/errors.py, and the SDK/driver errors mapped into it by class and by
the service that failed, become one line on stderr and the kind's exit status (README: "Exit codes").

Also the edge's signals: SIGTERM raises ``Terminated`` (a KeyboardInterrupt), so every Ctrl-C handler covers it
too; ``interruptible(summary)`` turns either into ``Interrupted`` with one line of what was done (130 / 143).
"""

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from cruddur_ops.errors import (
    AuthError,
    ConflictError,
    CruddurError,
    EngineError,
    InputError,
    Interrupted,
    NotFoundError,
    ServiceError,
)
from cruddur_ops.settings import Settings

LOCAL_HINT = "is DynamoDB Local running? start it with `cruddur local up`"

SERVICE_NAMES = {
    "dynamodb": "DynamoDB", "dynamodbstreams": "DynamoDB Streams", "cognito-idp": "Cognito", "ec2": "EC2",
    "rds": "RDS", "cloudtrail": "CloudTrail", "config": "AWS Config",
}
# (request parameter, what it names) per service, first match wins
RESOURCE_PARAMS = {
    "dynamodb": [("TableName", "table"), ("TableArn", "table"), ("ResourceArn", "table")],
    "dynamodbstreams": [("StreamArn", "stream")],
    "cognito-idp": [("UserPoolId", "user pool"), ("Username", "user")],
    "rds": [("DBInstanceIdentifier", "DB instance")],
    "ec2": [("SecurityGroupRuleIds", "security group rule"), ("GroupId", "security group"),
            ("GroupIds", "security group")],
}
NOT_FOUND_HINTS = {
    "dynamodb": "create it with `cruddur ddb schema-load`",
    "dynamodbstreams": "is the table's stream on? see `cruddur ddb describe`",
    "cognito-idp": "check --pool-id / AWS_COGNITO_USER_POOL_ID and the region",
    "rds": "check --instance-id / DB_INSTANCE_ID and the region",
    "ec2": "check --group-id / DB_SG_ID, --rule-id / DB_SG_RULE_ID and the region",
}
AUTH_CODES = {
    "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException", "ExpiredToken",
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthFailure", "NotAuthorizedException",
    "InvalidClientTokenId", "SignatureDoesNotMatch", "MissingAuthenticationToken", "UnauthorizedException",
    "OptInRequired",
}
CONFLICT_CODES = {
    "ResourceInUseException", "ConditionalCheckFailedException", "TransactionCanceledException",
    "InvalidDBInstanceState", "InvalidDBInstanceStateFault", "DBInstanceAlreadyExists", "DBInstanceAlreadyExistsFault",
    "InvalidPermission.Duplicate", "UsernameExistsException", "TableAlreadyExistsException",
    "DuplicateResourceException", "ResourceConflictException",
}
INPUT_CODES = {
    "ValidationException", "ValidationError", "InvalidParameterValue", "InvalidParameterValueException",
    "InvalidParameterCombination", "InvalidParameterException", "InvalidParameter", "MissingParameter",
    "SerializationException", "InvalidAction", "InvalidGroupId.Malformed", "InvalidSecurityGroupRuleId.Malformed",
    "InvalidParameterCombinationException",
}


# --- which client failed -----------------------------------------------------------------------------------------
def _failing_client(exc: BaseException) -> tuple[Any, dict]:
    """The botocore client whose call raised ``exc`` and that call's parameters, read from the traceback."""
    from botocore.client import BaseClient

    found, params = None, {}
    tb = exc.__traceback__
    while tb is not None:
        local = tb.tb_frame.f_locals
        for name in ("self", "client"):
            if isinstance(local.get(name), BaseClient):
                found = local[name]
                if isinstance(local.get("api_params"), dict):
                    params = local["api_params"]
                elif isinstance(local.get("params"), dict):
                    params = local["params"]
                break
        tb = tb.tb_next
    return found, params


def _resource(service: str, params: dict) -> tuple[str, str] | None:
    for key, kind in RESOURCE_PARAMS.get(service, []):
        value = params.get(key)
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        if value:
            return kind, str(value)
    if service == "dynamodb" and isinstance(params.get("RequestItems"), dict):
        return "table", ", ".join(params["RequestItems"])
    return None


def _service_context(exc: BaseException, settings: Settings | None) -> tuple[str | None, str, dict]:
    """(service, endpoint as shown, request parameters) of the call that failed."""
    client, params = _failing_client(exc)
    if client is not None:
        return client.meta.service_model.service_name, client.meta.endpoint_url, params
    url = (getattr(exc, "kwargs", None) or {}).get("endpoint_url")
    if settings is not None:
        for service in SERVICE_NAMES:
            try:
                if url and settings.endpoint_for(service) == url:
                    return service, url, params
            except Exception:
                break
    return None, url or "AWS", params


# --- botocore -----------------------------------------------------------------------------------------------------
def _client_error(exc, settings: Settings | None) -> CruddurError:
    error = exc.response.get("Error", {}) or {}
    code, message = str(error.get("Code", "Error")), str(error.get("Message", "") or "").strip()
    operation = getattr(exc, "operation_name", "") or "the request"
    service, endpoint, params = _service_context(exc, settings)
    label = SERVICE_NAMES.get(service or "", service or "AWS")
    resource = _resource(service or "", params)
    where = f"({label} {operation} on {endpoint})"
    if code == "ResourceNotFoundException" or "NotFound" in code or code.startswith("NoSuch"):
        what = f"{resource[0]} {resource[1]}" if resource else "the resource"
        hint = NOT_FOUND_HINTS.get(service or "")
        if service == "dynamodb" and operation == "DeleteTable":
            hint = "nothing to drop; `cruddur ddb list-tables` lists the tables there"
        return NotFoundError(f"{label} {what} not found {where}: {message or code}", hint=hint)
    if code in AUTH_CODES:
        return AuthError(f"{label} refused the request {where}: {code}: {message}",
                         hint="check your AWS credentials (AWS_PROFILE / AWS_ACCESS_KEY_ID) and their permissions"
                              f" for {operation}")
    about = f" {resource[0]} {resource[1]}" if resource else ""
    if code in CONFLICT_CODES:
        return ConflictError(f"{label}{about}: {code}: {message} {where}")
    if code in INPUT_CODES:
        return InputError(f"{label}{about}: {code}: {message} {where}")
    return ServiceError(f"{label}{about}: {code}: {message} {where}")


def _botocore_error(exc: BaseException, settings: Settings | None) -> CruddurError | None:
    from botocore import exceptions as bx

    if isinstance(exc, bx.ClientError):
        return _client_error(exc, settings)
    if isinstance(exc, (bx.ConnectionError, bx.HTTPClientError)):
        service, endpoint, _ = _service_context(exc, settings)
        url = (getattr(exc, "kwargs", None) or {}).get("endpoint_url") or endpoint
        hint = None
        from cruddur_ops.targets import endpoint_host_is_local

        if endpoint_host_is_local(url):
            label = SERVICE_NAMES.get(service or "", service or "the AWS endpoint")
            hint = LOCAL_HINT if service == "dynamodb" else f"is the local {label} endpoint at {url} running?"
        return EngineError(f"cannot reach {url}: {type(exc).__name__}", hint=hint)
    if isinstance(exc, (bx.NoCredentialsError, bx.PartialCredentialsError)):
        return AuthError("no AWS credentials found", hint="set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
                                                          "(for local engines: eval \"$(cruddur local env)\")")
    if isinstance(exc, bx.NoRegionError):
        return InputError("no AWS region", hint="pass --region or set AWS_REGION")
    if isinstance(exc, bx.InvalidRegionError):
        return InputError(str(exc), hint="pass --region or set AWS_REGION to a region name such as us-east-1")
    if isinstance(exc, bx.ProfileNotFound):
        return InputError(str(exc), hint="pass --profile or set AWS_PROFILE to a profile of your AWS config")
    if isinstance(exc, (bx.ParamValidationError, bx.ValidationError, bx.EndpointProviderError,
                        bx.InvalidEndpointConfigurationError)):
        return InputError(" ".join(str(exc).split()))
    if isinstance(exc, bx.WaiterError):
        return ServiceError(" ".join(str(exc).split()))
    if isinstance(exc, bx.BotoCoreError):
        return CruddurError(" ".join(str(exc).split()))
    return None


# --- psycopg ------------------------------------------------------------------------------------------------------
def _psycopg_error(exc: BaseException, settings: Settings | None) -> CruddurError | None:
    import psycopg
    from psycopg import errors as pe

    from cruddur_ops.pg.database import Database, reason

    if not isinstance(exc, psycopg.Error):
        return None
    where = "PostgreSQL"
    if settings is not None:
        try:
            where = f"PostgreSQL {Database.from_settings(settings).masked}"
        except CruddurError:
            pass
    text = f"{where}: {reason(exc)}"
    if isinstance(exc, (pe.InsufficientPrivilege, pe.InvalidAuthorizationSpecification, pe.InvalidPassword)):
        return AuthError(text, hint="check the user and password of the connection URL, and its grants")
    if isinstance(exc, (pe.UndefinedTable, pe.UndefinedColumn)):
        return NotFoundError(text, hint="load the schema with `cruddur db schema-load` (or `cruddur db setup`)")
    if isinstance(exc, pe.InvalidCatalogName):
        return NotFoundError(text, hint="create it with `cruddur db create` (or `cruddur db setup`)")
    if isinstance(exc, psycopg.IntegrityError):
        return ConflictError(text)
    if isinstance(exc, (psycopg.DataError, pe.SyntaxError)):
        return InputError(text)
    if isinstance(exc, psycopg.OperationalError):
        return EngineError(text, hint="is PostgreSQL running there? start one with `cruddur local up`")
    return CruddurError(text)


def translate(exc: BaseException, settings: Settings | None) -> CruddurError | None:
    """The family member for an error the user can fix, or None for a bug (which keeps its traceback)."""
    if isinstance(exc, CruddurError):
        return exc
    module = type(exc).__module__ or ""
    if module.startswith("botocore") or module.startswith("boto3"):
        return _botocore_error(exc, settings)
    if module.startswith("psycopg"):
        return _psycopg_error(exc, settings)
    if isinstance(exc, (PermissionError, FileNotFoundError, IsADirectoryError, NotADirectoryError)):
        return InputError(str(exc))
    return None


def line(err: CruddurError) -> str:
    """The one line a person reads: the message, then the hint (control characters from data escaped)."""
    from cruddur_ops.cli.render import printable

    text = " ".join(str(err).split()) or err.code
    hint = getattr(err, "hint", None)
    return printable(f"{text}; {hint}" if hint else text)


def document(err: CruddurError) -> dict:
    """The ``--output json`` error document."""
    return {"error": {"code": err.code, "message": " ".join(str(err).split()), "hint": getattr(err, "hint", None)}}


def user_message(exc: BaseException, settings: Settings | None) -> str | None:
    """The one-line message for an error the user can fix, or None for a bug."""
    err = translate(exc, settings)
    return None if err is None else line(err)


# --- signals ------------------------------------------------------------------------------------------------------
class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be, so every interrupt handler (psycopg's cancel included) covers it."""

    signum = signal.SIGTERM


def _on_sigterm(signum, frame):
    raise Terminated()


def install_signal_handlers() -> None:
    """SIGTERM → Terminated (exit 143). SIGINT stays Python's KeyboardInterrupt (exit 130)."""
    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread (an embedding host): leave signals alone
        pass


def signal_of(exc: BaseException) -> int:
    return int(getattr(exc, "signum", signal.SIGINT))


@contextmanager
def interruptible(summary: Callable[[], str]) -> Iterator[None]:
    """On SIGINT/SIGTERM inside the block, raise Interrupted(summary()): what was done, and that a rerun
    completes it. The edge prints that one line and exits 130 (SIGINT) or 143 (SIGTERM)."""
    try:
        yield
    except KeyboardInterrupt as exc:
        raise Interrupted(summary(), signum=signal_of(exc)) from None
