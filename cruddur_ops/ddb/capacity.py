"""Consumed capacity: add up what DynamoDB reports per call, and price it at on-demand rates."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from cruddur_ops.errors import InputError

DEFAULT_PRICE_FILE = Path(__file__).resolve().parent.parent / "data" / "prices.json"


@dataclass
class Capacity:
    """Capacity units consumed by one logical call (all its pages or batches)."""

    kind: str = "read"  # read | write: which request unit price applies
    total: float = 0.0
    table: float = 0.0
    indexes: dict[str, float] = field(default_factory=dict)
    requests: int = 0
    scanned: int = 0  # items examined, for scans

    def add(self, consumed: dict | list | None) -> None:
        """Add a response's ``ConsumedCapacity`` (one dict, or a list from batch calls)."""
        if consumed is None:
            return
        for entry in consumed if isinstance(consumed, list) else [consumed]:
            self.total += entry.get("CapacityUnits", 0.0) or 0.0
            self.table += (entry.get("Table") or {}).get("CapacityUnits", 0.0) or 0.0
            for group in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
                for name, used in (entry.get(group) or {}).items():
                    self.indexes[name] = self.indexes.get(name, 0.0) + (used.get("CapacityUnits", 0.0) or 0.0)

    def merge(self, other: "Capacity") -> None:
        self.total += other.total
        self.table += other.table
        self.requests += other.requests
        for name, used in other.indexes.items():
            self.indexes[name] = self.indexes.get(name, 0.0) + used

    def to_dict(self, prices: "Prices | None" = None) -> dict:
        doc = {
            "total": round(self.total, 4),
            "table": round(self.table, 4),
            "indexes": {k: round(v, 4) for k, v in sorted(self.indexes.items())},
        }
        if prices is not None:
            doc["cost"] = prices.cost(self.kind, self.total)
        return doc


@dataclass(frozen=True)
class Prices:
    """On-demand request-unit prices (USD per million), with the date and region they were read for."""

    read_per_million: float
    write_per_million: float
    region: str
    as_of: str
    source: str

    @classmethod
    def load(cls, path: Path | None = None) -> "Prices":
        path = Path(path) if path else DEFAULT_PRICE_FILE
        try:
            doc = json.loads(path.read_text("utf-8"))
            prices = cls(
                read_per_million=float(doc["on_demand"]["read_request_unit_per_million"]),
                write_per_million=float(doc["on_demand"]["write_request_unit_per_million"]),
                region=str(doc["region"]),
                as_of=str(doc["as_of"]),
                source=str(path),
            )
        except FileNotFoundError:
            raise InputError("price file not found", path=path) from None
        except IsADirectoryError:
            raise InputError("price file is a directory, not a file", path=path) from None
        except OSError as exc:
            raise InputError(f"cannot read price file: {exc.strerror or exc}", path=path) from None
        except (ValueError, KeyError, TypeError) as exc:
            why = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            raise InputError(
                f"not a price file ({why}); expected region, as_of and on_demand."
                "{read,write}_request_unit_per_million",
                path=path,
            ) from None
        for unit, price in (("read", prices.read_per_million), ("write", prices.write_per_million)):
            if not math.isfinite(price) or price < 0:
                raise InputError(f"on_demand.{unit}_request_unit_per_million must be a price ≥ 0, not {price}", path=path)
        return prices

    def cost(self, kind: str, units: float) -> dict:
        per_million = self.write_per_million if kind == "write" else self.read_per_million
        usd = units * per_million / 1_000_000
        return {
            "usd": round(usd, 10),
            "usd_per_million_calls": round(usd * 1_000_000, 4),
            "unit": f"{kind} request units",
            "region": self.region,
            "as_of": self.as_of,
        }
