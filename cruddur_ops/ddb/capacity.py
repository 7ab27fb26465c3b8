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
    source: str = "reported"  # reported by DynamoDB, or computed from item sizes (WriteEstimate)

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

    def merge(self, other: Capacity) -> None:
        self.total += other.total
        self.table += other.table
        self.requests += other.requests
        for name, used in other.indexes.items():
            self.indexes[name] = self.indexes.get(name, 0.0) + used

    def to_dict(self, prices: Prices | None = None, *, items: int | None = None) -> dict:
        """The units per table and index; with ``prices``, their cost: per call for one request, or, for a run
        that wrote ``items`` items, the cost of the run and per million such items."""
        doc = {
            "total": round(self.total, 4),
            "table": round(self.table, 4),
            "indexes": {k: round(v, 4) for k, v in sorted(self.indexes.items())},
            "source": self.source,
        }
        if prices is not None:
            doc["cost"] = prices.cost(self.kind, self.total, items=items)
        return doc


@dataclass(frozen=True)
class IndexShape:
    name: str
    keys: tuple[str, ...]  # the index's own key attributes: an item without them is not in the index
    projection: str  # ALL | KEYS_ONLY | INCLUDE
    projected: frozenset[str]  # table keys + index keys + INCLUDE's NonKeyAttributes


class WriteEstimate:
    """Write units computed the way DynamoDB bills on-demand writes of new items, without asking it.

    Each put costs 1 write unit per started KB of the item, in the table and again in every index the item
    lands in (an item lands in an index only when it has the index's keys; the size is what the index
    projects). A delete costs 1 unit. Asking DynamoDB instead (ReturnConsumedCapacity) costs DynamoDB Local
    about a quarter of its write throughput (docs/benchmarks.md).
    """

    def __init__(self, description: dict):
        table_keys = {k["AttributeName"] for k in description["KeySchema"]}
        self.indexes = []
        for group in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            for index in description.get(group) or []:
                keys = tuple(k["AttributeName"] for k in index["KeySchema"])
                projection = index.get("Projection") or {}
                self.indexes.append(IndexShape(
                    index["IndexName"], keys, projection.get("ProjectionType", "ALL"),
                    frozenset(table_keys | set(keys) | set(projection.get("NonKeyAttributes") or ()))))
        self.capacity = Capacity("write", source="computed")

    @staticmethod
    def _units(size: int) -> int:
        return max(1, math.ceil(size / 1024))

    def put(self, item: dict, size_of) -> None:
        """Count one put of a plain item; ``size_of(item)`` gives its DynamoDB size in bytes."""
        c = self.capacity
        units = self._units(size_of(item))
        c.table += units
        c.total += units
        for index in self.indexes:
            if all(k in item for k in index.keys):
                if index.projection == "ALL":
                    used = units
                else:
                    used = self._units(size_of({k: v for k, v in item.items() if k in index.projected}))
                c.indexes[index.name] = c.indexes.get(index.name, 0.0) + used
                c.total += used

    def delete(self) -> None:
        self.capacity.table += 1
        self.capacity.total += 1


def price_file_text(path: Path | str | None = None) -> tuple[Path, str]:
    """The price file (``--price-file``, else the bundled one) and its text: the one reader every cost uses; a file
    that cannot be read is one InputError naming it."""
    path = Path(path) if path else DEFAULT_PRICE_FILE
    try:
        return path, path.read_text("utf-8")
    except FileNotFoundError:
        raise InputError("price file not found", path=path) from None
    except IsADirectoryError:
        raise InputError("price file is a directory, not a file", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read price file: {getattr(exc, 'strerror', None) or exc}", path=path) from None


@dataclass(frozen=True)
class Prices:
    """On-demand request-unit prices (USD per million), with the date and region they were read for."""

    read_per_million: float
    write_per_million: float
    region: str
    as_of: str
    source: str

    @classmethod
    def load(cls, path: Path | None = None) -> Prices:
        path, text = price_file_text(path)
        try:
            doc = json.loads(text)
            prices = cls(
                read_per_million=float(doc["on_demand"]["read_request_unit_per_million"]),
                write_per_million=float(doc["on_demand"]["write_request_unit_per_million"]),
                region=str(doc["region"]),
                as_of=str(doc["as_of"]),
                source=str(path),
            )
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

    def cost(self, kind: str, units: float, *, items: int | None = None) -> dict:
        """``usd`` for ``units``; with ``items`` (a run that wrote that many), ``usd_per_million_items``, else the
        units are one call's and ``usd_per_million_calls`` is what a million such calls cost."""
        per_million = self.write_per_million if kind == "write" else self.read_per_million
        usd = units * per_million / 1_000_000
        scale = {"usd_per_million_items": round(usd / items * 1_000_000, 4) if items else 0.0} if items is not None \
            else {"usd_per_million_calls": round(usd * 1_000_000, 4)}
        return {
            "usd": round(usd, 10),
            **scale,
            "unit": f"{kind} request units",
            "region": self.region,
            "as_of": self.as_of,
        }
