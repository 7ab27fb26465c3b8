"""Between DynamoDB's typed attribute values (``{"S": "…"}``) and plain Python/JSON values."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def _number(text: str) -> int | float:
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() and "e" not in text.lower() else float(value)


def plain_value(av: dict) -> Any:
    ((kind, value),) = av.items()
    if kind == "S":
        return value
    if kind == "N":
        return _number(value)
    if kind == "BOOL":
        return value
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: plain_value(v) for k, v in value.items()}
    if kind == "L":
        return [plain_value(v) for v in value]
    if kind == "SS":
        return list(value)
    if kind == "NS":
        return [_number(v) for v in value]
    if kind == "B":
        import base64

        return base64.b64encode(value).decode("ascii")
    if kind == "BS":
        import base64

        return [base64.b64encode(v).decode("ascii") for v in value]
    raise ValueError(f"unknown attribute type {kind}")


def to_plain(item: dict) -> dict:
    """``{"sk": {"S": "2024-…"}}`` -> ``{"sk": "2024-…"}``; numbers become int or float.

    Keys come out in a stable order: ``pk``, ``sk``, then the rest alphabetically.
    """
    order = sorted(item, key=lambda k: (k != "pk", k != "sk", k))
    return {k: plain_value(item[k]) for k in order}


def attr_value(value: Any) -> dict:
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float, Decimal)):
        return {"N": str(value)}
    if value is None:
        return {"NULL": True}
    if isinstance(value, dict):
        return {"M": {k: attr_value(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [attr_value(v) for v in value]}
    if isinstance(value, bytes):
        return {"B": value}
    raise TypeError(f"cannot store {type(value).__name__} in DynamoDB")


def to_attrs(item: dict) -> dict:
    """``{"sk": "2024-…"}`` -> ``{"sk": {"S": "2024-…"}}``."""
    return {k: attr_value(v) for k, v in item.items()}
