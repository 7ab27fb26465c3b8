"""The monthly bill of a design (``cruddur ddb pattern cost``): measured reads, computed writes, storage.

- **Reads**: each declared access pattern runs once on the live table, with parameters read from an item its key
  template matches; DynamoDB's ConsumedCapacity for that call × its calls per second (``--rps name=N`` or
  ``rps:`` in the file) × the seconds of a month (``hours_per_month`` × 3600) is its read request units a month.
- **Writes**: for each entity, the write units one put of its average item costs in the table and in every
  GSI/LSI it lands in (1 per started KB; the GSI write amplification is total ÷ table), × its writes per second
  (``--rps Entity=N``).
- **Storage**: every item's size + 100 bytes of overhead, in the table and in each index it lands in.
- Both table classes (Standard, Standard-IA) are priced on demand and provisioned (capacity = units per second ÷
  ``provisioned_target_utilization``, rounded up); the cheapest is named. Prices: ``cruddur_ops/data/prices.json``
  (``table_classes``) or ``--price-file``; the free tier is left out.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cruddur_ops.ddb.capacity import price_file_text
from cruddur_ops.errors import InputError

OVERHEAD = 100  # bytes DynamoDB adds to each item for storage (table and index)
GB = 1024 ** 3
CLASS_NAMES = {"STANDARD": "Standard", "STANDARD_INFREQUENT_ACCESS": "Standard-IA"}
CLASS_FIELDS = ("read_request_unit_per_million", "write_request_unit_per_million", "storage_gb_month", "rcu_hour", "wcu_hour")


@dataclass(frozen=True)
class MonthlyPrices:
    classes: dict[str, dict[str, float]]
    hours: float
    utilization: float
    region: str
    as_of: str
    source: str

    @classmethod
    def load(cls, path: Path | None = None) -> MonthlyPrices:
        path, text = price_file_text(path)
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise InputError(f"cannot read price file: {exc}", path=path) from None
        if not isinstance(doc, dict) or not isinstance(doc.get("table_classes"), dict):
            raise InputError("table_classes: the monthly cost needs prices per table class "
                             f"({', '.join(CLASS_NAMES)}: {', '.join(CLASS_FIELDS)})", path=path)
        classes: dict[str, dict[str, float]] = {}
        for name, prices in doc["table_classes"].items():
            if name not in CLASS_NAMES or not isinstance(prices, dict):
                raise InputError(f"table_classes.{name}: expected one of {', '.join(CLASS_NAMES)} with its prices", path=path)
            for f in CLASS_FIELDS:
                value = prices.get(f)
                if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                    raise InputError(f"table_classes.{name}.{f}: must be a price ≥ 0, not {value!r}", path=path)
            classes[name] = {f: float(prices[f]) for f in CLASS_FIELDS}
        hours = doc.get("hours_per_month", 730)
        utilization = doc.get("provisioned_target_utilization", 0.7)
        if not isinstance(hours, (int, float)) or hours <= 0 or not isinstance(utilization, (int, float)) or not 0 < utilization <= 1:
            raise InputError("hours_per_month must be > 0 and provisioned_target_utilization in (0, 1]", path=path)
        return cls(classes, float(hours), float(utilization), str(doc.get("region", "")), str(doc.get("as_of", "")), str(path))

    @property
    def seconds(self) -> float:
        return self.hours * 3600

    def to_dict(self) -> dict:
        return {"source": self.source, "region": self.region, "as_of": self.as_of, "hours_per_month": self.hours,
                "provisioned_target_utilization": self.utilization, "table_classes": self.classes}


@dataclass
class Measured:
    pattern: Any  # patterns.Pattern
    parameters: dict[str, str] | None
    units: float | None  # read units of one call, as DynamoDB reported them
    items: int = 0
    note: str = ""


@dataclass
class EntityWrites:
    entity: str
    items: int = 0
    bytes: int = 0
    table_units: int = 0  # summed over the items, one put each
    index_units: dict[str, int] = field(default_factory=dict)

    def per_put(self) -> dict:
        n = self.items or 1
        table = self.table_units / n
        indexes = {k: v / n for k, v in self.index_units.items()}
        total = table + sum(indexes.values())
        return {"table": round(table, 4), "indexes": {k: round(v, 4) for k, v in indexes.items()}, "total": round(total, 4)}


@dataclass
class Storage:
    table_bytes: int = 0
    index_bytes: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.table_bytes + sum(self.index_bytes.values())


def _index_shapes(description: dict) -> list[tuple[str, tuple[str, ...], str, frozenset]]:
    table_keys = {k["AttributeName"] for k in description["KeySchema"]}
    out = []
    for group in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        for index in description.get(group) or []:
            keys = tuple(k["AttributeName"] for k in index["KeySchema"])
            projection = index.get("Projection") or {}
            out.append((index["IndexName"], keys, projection.get("ProjectionType", "ALL"),
                        frozenset(table_keys | set(keys) | set(projection.get("NonKeyAttributes") or ()))))
    return out


def _units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def survey(client, spec, table: str, *, segments: int = 4, on_progress=None):
    """One parallel scan: storage, write units per entity, and an item for each pattern's parameters."""
    from cruddur_ops.ddb.entities import Template
    from cruddur_ops.ddb.scan import iter_pages
    from cruddur_ops.ddb.typed import item_size, to_plain
    from cruddur_ops.ddb.validate import Checker

    description = client.describe_table(TableName=table)["Table"]
    shapes = _index_shapes(description)
    hash_key, range_key = spec.key_names()
    checker = Checker(table, spec.entities.values(), [k for k in (hash_key, range_key) if k], {})
    storage = Storage(index_bytes={s[0]: 0 for s in shapes})
    writes = {name: EntityWrites(name) for name in spec.entities}
    wanted = {p.name: p for p in spec.patterns.values()}
    found: dict[str, dict] = {}
    templates = {p.name: Template(p.key_template) for p in wanted.values()}
    for page in iter_pages(client, table, segments=segments):
        for typed in page:
            size = item_size(typed)
            storage.table_bytes += size + OVERHEAD
            item = to_plain(typed)
            entity, _ = checker.classify(item) if spec.entities else (None, None)
            w = writes.get(entity.name) if entity else None
            if w is not None:
                w.items += 1
                w.bytes += size
                w.table_units += _units(size)
            for name, keys, projection, projected in shapes:
                if all(k in typed for k in keys):
                    isize = size if projection == "ALL" else item_size({k: v for k, v in typed.items() if k in projected})
                    storage.index_bytes[name] += isize + OVERHEAD
                    if w is not None:
                        w.index_units[name] = w.index_units.get(name, 0) + _units(isize)
            for pname in [n for n in wanted if n not in found]:
                p = wanted[pname]
                if p.entity and entity is not None and entity.name != p.entity:
                    continue
                if p.key_attr not in item or (p.sort_attr and p.sort_attr not in item):
                    continue
                if p.index and not all(k in item for k in spec.key_names(p.index) if k):
                    continue
                params = templates[pname].match(item[p.key_attr])
                if params is None:
                    continue
                ok = True
                for t in p.sort_templates:  # fixed sort values need nothing; a {param} is read off the item
                    template = Template(t)
                    if not template.fields:
                        continue
                    got = template.match(item[p.sort_attr]) if p.sort_attr else None
                    if got is None:
                        ok = False
                        break
                    params.update(got)
                if ok:
                    found[pname] = params
        if on_progress:
            on_progress(len(page))
    return storage, writes, found, description


def measure(client, spec, table: str, found: dict[str, dict]) -> list[Measured]:
    """Run each pattern once with the parameters found; its read units per call as DynamoDB reports them."""
    from cruddur_ops.ddb import patterns

    out = []
    for p in spec.patterns.values():
        params = found.get(p.name)
        if params is None:
            out.append(Measured(p, None, None, note="no item matches its key template: nothing to run it on "
                                                    "(fill the table first: cruddur ddb generate)"))
            continue
        params = {k: v for k, v in params.items() if k in p.parameters}
        result = patterns.run_pattern(client, p, params, table=table)
        out.append(Measured(p, params, result.capacity.total, result.count))
    return out


def _rate(rates: dict[str, float], name: str, declared: float | None) -> float:
    return rates[name] if name in rates else (declared or 0.0)


def report(client, spec, *, table: str | None = None, rates: dict[str, float] | None = None,
           prices: MonthlyPrices | None = None, segments: int = 4, on_progress=None) -> dict:
    """The monthly cost document of one table (see the module's docstring)."""
    table = table or spec.name
    rates = dict(rates or {})
    prices = prices or MonthlyPrices.load()
    known = set(spec.patterns) | set(spec.entities)
    unknown = sorted(set(rates) - known)
    if unknown:
        raise InputError(f"--rps {unknown[0]}: not a pattern or entity of {spec.name} "
                         f"(patterns: {', '.join(spec.patterns) or 'none'}; entities: {', '.join(spec.entities) or 'none'})")
    storage, writes, found, description = survey(client, spec, table, segments=segments, on_progress=on_progress)
    measured = measure(client, spec, table, found)
    seconds = prices.seconds
    pattern_rows, read_units_per_second = [], 0.0
    for m in measured:
        rps = _rate(rates, m.pattern.name, m.pattern.rps)
        per_month = (m.units or 0.0) * rps * seconds
        read_units_per_second += (m.units or 0.0) * rps
        pattern_rows.append({
            "pattern": m.pattern.name, "entity": m.pattern.entity, "index": m.pattern.index, "parameters": m.parameters,
            "items": m.items, "read_units_per_call": m.units, "rps": rps, "read_units_per_month": round(per_month, 4),
            "monthly_usd": {c: round(per_month / 1e6 * p["read_request_unit_per_million"], 6) for c, p in prices.classes.items()},
            "note": m.note})
    entity_rows, write_units_per_second = [], 0.0
    for name, w in writes.items():
        per_put = w.per_put()
        wps = _rate(rates, name, spec.entities[name].rps)
        per_month = per_put["total"] * wps * seconds
        write_units_per_second += per_put["total"] * wps
        entity_rows.append({
            "entity": name, "items": w.items, "avg_item_bytes": round(w.bytes / w.items, 1) if w.items else None,
            "write_units_per_put": per_put,
            "gsi_write_amplification": round(per_put["total"] / per_put["table"], 4) if per_put["table"] else None,
            "writes_per_second": wps, "write_units_per_month": round(per_month, 4),
            "monthly_usd": {c: round(per_month / 1e6 * p["write_request_unit_per_million"], 6) for c, p in prices.classes.items()}})
    gb = storage.total / GB
    totals: dict[str, dict] = {}
    reads_month = sum(r["read_units_per_month"] for r in pattern_rows)
    writes_month = sum(r["write_units_per_month"] for r in entity_rows)
    rcu = math.ceil(read_units_per_second / prices.utilization) if read_units_per_second else 0
    wcu = math.ceil(write_units_per_second / prices.utilization) if write_units_per_second else 0
    for c, p in prices.classes.items():
        store = gb * p["storage_gb_month"]
        od_reads = reads_month / 1e6 * p["read_request_unit_per_million"]
        od_writes = writes_month / 1e6 * p["write_request_unit_per_million"]
        pr_reads = rcu * p["rcu_hour"] * prices.hours
        pr_writes = wcu * p["wcu_hour"] * prices.hours
        totals[c] = {
            "on_demand": {"reads": round(od_reads, 6), "writes": round(od_writes, 6), "storage": round(store, 6),
                          "total": round(od_reads + od_writes + store, 6)},
            "provisioned": {"rcu": rcu, "wcu": wcu, "reads": round(pr_reads, 6), "writes": round(pr_writes, 6),
                            "storage": round(store, 6), "total": round(pr_reads + pr_writes + store, 6)}}
    options = [(t[mode]["total"], c, mode) for c, t in totals.items() for mode in ("on_demand", "provisioned")]
    best = min(options, key=lambda o: (o[0], o[1] != "STANDARD", o[2] != "on_demand"))
    by_class = {c: min(t["on_demand"]["total"], t["provisioned"]["total"]) for c, t in totals.items()}
    cheaper_class = min(by_class, key=lambda c: (by_class[c], c != "STANDARD"))
    return {
        "table": table, "prices": prices.to_dict(), "patterns": pattern_rows, "entities": entity_rows,
        "storage": {"table_bytes": storage.table_bytes, "index_bytes": storage.index_bytes, "total_bytes": storage.total,
                    "gb": round(gb, 9),
                    "monthly_usd": {c: round(gb * p["storage_gb_month"], 6) for c, p in prices.classes.items()}},
        "totals": totals,
        "cheapest": {"table_class": best[1], "capacity_mode": best[2], "monthly_usd": best[0]},
        "cheaper_table_class": cheaper_class,
    }
