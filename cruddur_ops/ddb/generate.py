"""Realistic items for every declared entity (``cruddur ddb generate``), consistent across entities.

The items come in trees: a root entity's item, then its children (``generate: {parent, per_parent}``, or the
entities whose keys carry a parent's key fields: an ``Order`` keyed ``CUST#{customer_id}`` under a ``Customer``),
so a child always refers to a parent made before it; other references (an order line's ``product_id``) pick an
item already made. Values follow each attribute's type and hints (min/max, enum values, format, length, a Faker
provider), else its name (``email``, ``*_id``, ``city``, ``description`` …) through Faker. The same ``seed`` gives
the same items (times are counted from ``now``, a day-aligned instant by default). The table's TTL attribute gets
seconds since the epoch, 1–90 days ahead.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cruddur_ops.ddb.entities import Attribute, Entity, parents
from cruddur_ops.errors import InputError

DEFAULT_FAN_OUT = (1, 3)
POOL = 5_000  # made items kept per entity for references
POOL_SIZE = 512  # Faker values made per attribute; later values are drawn from them
OPTIONAL = 0.7  # share of items that carry an optional attribute
TRIES = 5  # new values for an item whose key was already made


@dataclass
class Made:
    table: str
    entity: str
    item: dict  # plain values (ddb/typed.py)
    typed: dict | None = None  # the same item as DynamoDB attribute values, when made ahead (take_ahead)


def _words(name: str) -> str:
    return name.lower()


class Values:
    """Attribute values from Faker (imported here, lazily) and one seeded random generator."""

    def __init__(self, seed: int | None, now: datetime):
        from faker import Faker

        self.rng = random.Random(seed)
        self.fake = Faker()
        self.fake.seed_instance(seed if seed is not None else random.randrange(2**32))
        self.now = now
        self.makers: dict[tuple, Callable[[], Any]] = {}
        self.pools: dict[tuple, list] = {}

    def uuid(self) -> str:
        import uuid

        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _faker(self, a: Attribute) -> Callable[[], Any]:
        """The text maker of an attribute (its Faker provider, or one chosen by its name), found once."""
        key = (a.name, a.type, a.faker, a.length)
        maker = self.makers.get(key)
        if maker is None:
            if a.faker:
                try:
                    provider = getattr(self.fake, a.faker)
                except AttributeError:
                    raise InputError(f"attribute '{a.name}': Faker has no provider '{a.faker}'") from None
                maker = provider if a.type not in ("string", "email", "uuid") else (lambda: str(provider()))
            elif a.type == "email":
                maker = self.fake.safe_email
            else:
                maker = self._text_maker(a)
            self.makers[key] = maker
        return maker

    def _pooled(self, a: Attribute, maker: Callable[[], Any]) -> Any:
        """Faker is slow (hundreds of µs a value): outside keys, the first POOL_SIZE values of an attribute are
        made by Faker and later ones drawn from them."""
        pool = self.pools.setdefault((a.name, a.type, a.faker), [])
        if len(pool) < POOL_SIZE:
            value = maker()
            pool.append(value)
            return value
        return pool[self.rng.randrange(POOL_SIZE)]

    def of(self, a: Attribute, *, ttl: bool = False, unique: bool = False) -> Any:
        """A value for ``a``; ``unique``: it is part of an item's key (never drawn from a pool)."""
        rng, kind = self.rng, a.type
        if ttl:
            return int(self.now.timestamp()) + rng.randint(86_400, 90 * 86_400)
        if kind == "uuid" and not a.faker:
            return self.uuid()
        if a.faker or kind in ("email", "string"):
            maker = self._faker(a)
            return maker() if unique else self._pooled(a, maker)
        if kind == "integer":
            return rng.randint(int(a.min if a.min is not None else 0), int(a.max if a.max is not None else 1000))
        if kind in ("decimal", "number"):
            low, high = a.min if a.min is not None else 0, a.max if a.max is not None else 1000
            return round(rng.uniform(low, high), 2)  # a float with two decimals: JSON and DynamoDB keep its digits
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "timestamp":
            moment = self.now - timedelta(seconds=rng.uniform(0, 365 * 86_400))
            if a.format == "epoch":
                return int(moment.timestamp())
            if a.format == "date":
                return moment.date().isoformat()
            return moment.isoformat()
        if kind == "enum":
            return rng.choice(a.values)
        if kind == "map":
            return {n: self.of(m) for n, m in a.members.items() if m.required or rng.random() < OPTIONAL}
        low, high = a.length or (1, 3)
        n = rng.randint(low, high)
        if kind == "list":
            item = a.items or Attribute(a.name, "string")
            return [self.of(item) for _ in range(n)]
        if kind == "string_set":
            words = self._faker(Attribute(a.name, "string"))
            return {"$ss": sorted({self._pooled(a, words) for _ in range(max(1, n))})}
        if kind == "number_set":
            return {"$ns": sorted({rng.randint(0, 1000) for _ in range(max(1, n))})}
        if kind in ("binary", "binary_set"):
            blobs = sorted({__import__("base64").b64encode(rng.randbytes(16)).decode() for _ in range(max(1, n))})
            return {"$b64": blobs[0]} if kind == "binary" else {"$bs": blobs}
        raise InputError(f"attribute '{a.name}': cannot generate type {kind}")  # pragma: no cover

    def _text_maker(self, a: Attribute) -> Callable[[], str]:
        fake, name = self.fake, _words(a.name)
        make: Callable[[], Any] = fake.word
        if "email" in name:
            make = fake.safe_email
        elif "isbn" in name:
            make = fake.isbn13
        elif name.endswith(("_id", "_uuid", "uuid")) or name == "id":
            make = self.uuid
        else:
            for words, maker in (
                (("first_name",), fake.first_name), (("last_name", "surname"), fake.last_name),
                (("handle", "username", "user_name", "login"), fake.user_name),
                (("name", "author", "owner", "contact"), fake.name), (("phone", "mobile"), fake.phone_number),
                (("city",), fake.city), (("country",), fake.country), (("address", "street"), fake.street_address),
                (("zip", "postcode", "postal"), fake.postcode), (("company", "vendor", "brand"), fake.company),
                (("url", "website", "link"), lambda: f"https://{fake.domain_word()}.invalid/{fake.uri_path()}"),
                (("title", "subject", "headline"), lambda: fake.sentence(nb_words=4).rstrip(".")),
                (("description", "text", "message", "body", "comment", "bio", "content", "summary", "review", "note"),
                 fake.sentence),
                (("sku", "code"), lambda: fake.bothify("??-#####").upper()),
                (("color", "colour"), fake.color_name), (("currency",), fake.currency_code),
                (("status", "state", "type", "category", "kind", "tag", "label"), fake.word),
            ):
                if any(w in name for w in words):
                    make = maker
                    break
        if not a.length:
            return lambda: str(make())
        low, high = a.length

        def sized() -> str:
            want = self.rng.randint(low, high)
            value = str(make())
            while len(value) < want:
                value += " " + fake.sentence()
            return value[:want]

        return sized


@dataclass
class Plan:
    entities: dict[str, Entity]
    refs: dict[str, list[str]]
    primary: dict[str, str | None]
    children: dict[str, list[str]]
    roots: list[str]
    ttl: dict[str, str] = field(default_factory=dict)  # table -> TTL attribute


def plan(entities: dict[str, Entity], *, ttl: dict[str, str] | None = None) -> Plan:
    """Who is whose parent, and which entities start a tree."""
    refs = parents(entities)
    primary: dict[str, str | None] = {}
    for e in entities.values():
        if e.parent:
            primary[e.name] = e.parent
            continue
        mine = set(e.key_fields)
        under = [p for p in refs[e.name] if set(entities[p].key_fields) <= mine]
        primary[e.name] = max(under, key=lambda p: len(entities[p].key_fields)) if under else None
    children: dict[str, list[str]] = {n: [] for n in entities}
    for n, p in primary.items():
        if p:
            children[p].append(n)
    referenced = {r for rs in refs.values() for r in rs}
    roots = sorted((n for n, p in primary.items() if p is None), key=lambda n: (n not in referenced, list(entities).index(n)))
    return Plan(entities, refs, primary, children, roots, dict(ttl or {}))


def items(p: Plan, *, seed: int | None = None, now: datetime | None = None) -> Iterator[Made]:
    """An endless, deterministic stream of items, parents before their children; take what you need."""
    if now is None:
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        now = today
    values = Values(seed, now)
    rng = values.rng
    pools: dict[str, list[dict]] = {n: [] for n in p.entities}
    seen: set[tuple] = set()
    key_fields = {n: set(e.key_fields) for n, e in p.entities.items()}

    def remember(name: str, made: dict) -> None:
        pool = pools[name]
        if len(pool) < POOL:
            pool.append(made)
        else:
            pool[rng.randrange(POOL)] = made

    def make(e: Entity, inherited: dict) -> tuple[dict, dict] | None:
        ttl = p.ttl.get(e.table)
        for _ in range(TRIES):
            v = dict(inherited)
            for ref in p.refs[e.name]:
                if ref == p.primary.get(e.name) or not pools[ref]:
                    continue
                chosen = rng.choice(pools[ref])
                for f in p.entities[ref].key_fields:
                    if f in e.attributes and f not in v:
                        v[f] = chosen[f]
            for name, a in e.attributes.items():
                if name in v:
                    continue
                in_key = name in key_fields[e.name]
                if a.required or a.key_only or in_key or rng.random() < OPTIONAL:
                    v[name] = values.of(a, ttl=name == ttl, unique=in_key)
            keys = {attr: t.render(v) for attr, t in e.keys.items()}
            identity = (e.table, *sorted(keys.items()))
            if identity in seen:
                continue
            seen.add(identity)
            item = dict(keys)
            for mapping in e.indexes.values():
                for attr, t in mapping.items():
                    if attr not in item and all(f in v for f in t.fields):
                        item[attr] = t.render(v)
            for name, a in e.attributes.items():
                if not a.key_only and name in v and name not in item:
                    item[name] = v[name]
            return v, item
        return None

    def grow(name: str, inherited: dict, *, children: bool = True) -> Iterator[Made]:
        e = p.entities[name]
        made = make(e, inherited)
        if made is None:
            return
        v, item = made
        remember(name, v)
        yield Made(e.table, name, item)
        for child in p.children[name] if children else []:
            c = p.entities[child]
            low, high = c.per_parent or DEFAULT_FAN_OUT
            passed = {f: v[f] for f in c.attributes if f in v and f in e.attributes}
            for _ in range(rng.randint(low, high)):
                yield from grow(child, passed)

    if not p.roots:
        raise InputError("no entity to start from: every entity has a parent (a cycle of generate.parent)")
    weights = [p.entities[r].weight for r in p.roots]
    for root in p.roots:  # one item of each root first, so references find an item
        yield from grow(root, {}, children=False)
    while True:
        root = rng.choices(p.roots, weights)[0]
        yield from grow(root, {})


def take(p: Plan, count: int, *, table: str | None = None, entity: str | None = None, seed: int | None = None,
         now: datetime | None = None) -> Iterator[Made]:
    """``count`` items of ``table`` (or of ``entity``) from the stream."""
    if entity is not None and entity not in p.entities:
        raise InputError(f"no entity '{entity}' (entities: {', '.join(p.entities)})")
    if table is not None:  # only the table's entities and those they refer to: no time spent on the others
        keep = {n for n, e in p.entities.items() if e.table == table}
        while True:
            more = {r for n in keep for r in p.refs[n]} - keep
            if not more:
                break
            keep |= more
        if keep != set(p.entities):
            p = plan({n: e for n, e in p.entities.items() if n in keep}, ttl=p.ttl)
    made, idle = 0, 0
    for m in items(p, seed=seed, now=now):
        if made >= count:
            return
        if (entity is not None and m.entity != entity) or (table is not None and m.table != table):
            idle += 1
            if idle > 100_000:
                raise InputError(f"generating {entity or table}: none made in 100,000 items (check per_parent)")
            continue
        idle = 0
        made += 1
        yield m


AHEAD_CHUNK = 500  # items per message from the producer process


def _produce(conn, p: Plan, count: int, table: str | None, entity: str | None, seed: int | None,
             now: datetime | None) -> None:
    from cruddur_ops.ddb.typed import to_attrs

    try:
        chunk: list[tuple[str, str, dict]] = []
        for m in take(p, count, table=table, entity=entity, seed=seed, now=now):
            chunk.append((m.table, m.entity, to_attrs(m.item)))
            if len(chunk) == AHEAD_CHUNK:
                conn.send(chunk)
                chunk = []
        if chunk:
            conn.send(chunk)
        conn.send(None)
    except (KeyboardInterrupt, BrokenPipeError):
        pass
    except Exception as exc:  # handed to the consumer, raised there
        try:
            conn.send(exc)
        except Exception:
            conn.send(InputError(str(exc)))
    finally:
        conn.close()


def take_ahead(p: Plan, count: int, *, table: str | None = None, entity: str | None = None, seed: int | None = None,
               now: datetime | None = None) -> Iterator[Made]:
    """:func:`take`, made in a forked producer process (values and their DynamoDB form), so Faker's CPU runs
    beside the writer's threads instead of between them. The same items in the same order; where fork is not
    available, :func:`take` itself."""
    import multiprocessing

    try:
        ctx = multiprocessing.get_context("fork")
    except ValueError:  # pragma: no cover - no fork on this platform
        yield from take(p, count, table=table, entity=entity, seed=seed, now=now)
        return
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_produce, args=(sender, p, count, table, entity, seed, now), daemon=True)
    proc.start()
    sender.close()
    try:
        while True:
            try:
                message = receiver.recv()
            except EOFError:
                raise InputError("the item generator stopped without a word (see its exit status "
                                 f"{proc.exitcode})") from None
            if message is None:
                return
            if isinstance(message, BaseException):
                raise message
            for t, e, typed in message:
                yield Made(t, e, {}, typed)
    finally:
        receiver.close()
        if proc.is_alive():
            proc.terminate()
        proc.join()


@dataclass
class Result:
    table: str
    items: int
    by_entity: dict[str, int]
    seconds: float
    retries: int = 0

    def to_dict(self) -> dict:
        return {"table": self.table, "items_written": self.items, "by_entity": self.by_entity,
                "seconds": round(self.seconds, 3),
                "items_per_second": round(self.items / self.seconds, 1) if self.seconds else None,
                "retries": self.retries}


def write(client, table: str, made: Iterator[Made], *, key_names: tuple[str, ...], workers: int = 16,
          on_progress: Callable[[int], None] | None = None, give_up_after: float = 60.0) -> Result:
    """Put the items through the batch engine (ddb/batch.py)."""
    from cruddur_ops.ddb.batch import BatchWriter
    from cruddur_ops.ddb.typed import to_attrs

    counts: dict[str, int] = {}

    def requests() -> Iterator[dict]:
        for m in made:
            counts[m.entity] = counts.get(m.entity, 0) + 1
            yield {"PutRequest": {"Item": m.typed if m.typed is not None else to_attrs(m.item)}}

    writer = BatchWriter(client, table, workers=workers, capacity=False, on_progress=on_progress,
                         key_names=key_names, give_up_after=give_up_after)
    started = time.perf_counter()
    stats = writer.write(requests())
    return Result(table, stats.written, counts, time.perf_counter() - started, stats.retries)
