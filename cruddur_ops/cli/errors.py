"""The error edge: CruddurError and the SDK/driver errors a user can fix become one line and exit 1."""

from __future__ import annotations

from cruddur_ops.errors import CruddurError
from cruddur_ops.settings import Settings

LOCAL_HINT = "is DynamoDB Local running? start it with `cruddur local up`"


def _pg_message(exc: BaseException) -> str | None:
    from cruddur_ops.pg.database import mask_text

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return mask_text(text)


def user_message(exc: BaseException, settings: Settings | None) -> str | None:
    """The one-line message for an error the user can fix, or None for a bug (which keeps its traceback)."""
    if isinstance(exc, CruddurError):
        return str(exc)
    module = type(exc).__module__ or ""
    name = type(exc).__name__
    endpoint = settings.describe_endpoint("dynamodb") if settings else "DynamoDB"
    if module.startswith("botocore"):
        if hasattr(exc, "response") and isinstance(exc.response, dict):  # ClientError and its subclasses
            error = exc.response.get("Error", {})
            code, message = error.get("Code", "Error"), error.get("Message", "")
            operation = getattr(exc, "operation_name", "")
            if code == "ResourceNotFoundException":
                return f"{message or 'not found'} ({operation} on {endpoint}); create it with `cruddur ddb schema-load`"
            if code in ("UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException"):
                return f"{code}: {message} — check your AWS credentials (AWS_PROFILE / AWS_ACCESS_KEY_ID)"
            return f"{code}: {message} ({operation} on {endpoint})"
        if name in ("EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError", "ReadTimeoutError"):
            url = getattr(exc, "kwargs", {}).get("endpoint_url") or endpoint
            if settings and settings.is_local("dynamodb"):
                return f"cannot reach {url}: {LOCAL_HINT}"
            return f"cannot reach {url}: {name}"
        if name == "NoCredentialsError":
            return "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (for local engines: eval \"$(cruddur local env)\")"
        if name == "NoRegionError":
            return "no AWS region: pass --region or set AWS_REGION"
        if name in ("ProfileNotFound", "ParamValidationError", "WaiterError"):
            return str(exc)
    if module.startswith("psycopg"):
        return _pg_message(exc)
    if isinstance(exc, (PermissionError, FileNotFoundError, IsADirectoryError)):
        return str(exc)
    return None
