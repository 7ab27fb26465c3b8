"""The Lambda entry point ``cruddur_ops.stream.handler``, kept for functions already deployed with it."""
from cruddur_ops.ddb.stream.lambda_handler import handler  # noqa: F401
