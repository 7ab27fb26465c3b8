"""The pages: each view takes the request, calls the same library functions as the CLI, and returns a ``Page``:
the document its ``.json`` twin prints (the CLI's ``-o json`` shape where a command prints the same thing) and
the HTML made from that same document. Exportable pages also name their rows (``.jsonl`` / ``.csv``).
"""

from __future__ import annotations

import shlex
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cruddur_ops.errors import InputError, NotFoundError
from cruddur_ops.web.templates import (
    Html,
    capacity,
    checkbox,
    exports,
    form,
    h,
    join,
    link,
    pre,
    seg,
    select,
    table,
    tag,
    url,
)
from cruddur_ops.web.templates import (
    field as text_field,
)

MAX_LIMIT = 1000  # items one query or pattern run shows at most
KEYS_TTL = 30.0  # seconds a table's DescribeTable is reused


@dataclass
class Request:
    path: str  # without the export suffix
    params: dict[str, str]

    def get(self, name: str, default: str = "") -> str:
        return self.params.get(name, default).strip()

    def int(self, name: str, default: int, *, low: int = 1, high: int = MAX_LIMIT) -> int:
        text = self.get(name)
        if not text:
            return default
        try:
            value = int(text)
        except ValueError:
            raise InputError(f"{name} must be a whole number, not '{text[:40]}'") from None
        if not low <= value <= high:
            raise InputError(f"{name} must be between {low} and {high}, not {value}")
        return value

    def flag(self, name: str) -> bool:
        return self.get(name) not in ("", "0", "false", "off")


@dataclass
class Page:
    title: str
    doc: Any  # what the .json twin prints
    body: Html
    crumbs: list[tuple[str, str]] = field(default_factory=list)
    rows: list[dict] | None = None  # what .jsonl and .csv export; None: this page has no rows to export


class App:
    """What the views share: the settings, one DynamoDB client (boto3 clients are thread-safe), the prices, the
    schema files' access patterns (read once), and the app's table."""

    def __init__(self, settings, *, table: str, prices=None):
        self.settings = settings
        self.table = table
        if prices is None:
            from cruddur_ops.ddb.capacity import Prices

            prices = Prices.load()
        self.prices = prices
        self._client = None
        self._scan_client = None
        self._keys: dict[str, Any] = {}
        self._specs: list | None = None
        self._lock = threading.Lock()

    @property
    def production(self) -> bool:
        return self.settings.is_production("dynamodb")

    @property
    def target(self) -> str:
        return self.settings.describe_endpoint("dynamodb")

    def client(self):
        with self._lock:
            if self._client is None:
                self._client = self.settings.dynamodb()
            return self._client

    def scan_client(self):
        """A second client, for the partition pages' key-only scans only: its Scan responses keep their items as
        DynamoDB JSON (scan.WireItems), parsed by json alone instead of botocore's shape walk."""
        with self._lock:
            if self._scan_client is None:
                from cruddur_ops.ddb.scan import WireItems

                client = self.settings.dynamodb()
                WireItems(client).__enter__()  # for the life of this client, which makes no other Scan
                self._scan_client = client
            return self._scan_client

    def keys(self, table: str):
        """The table's keys and description (one DescribeTable per table, kept for KEYS_TTL seconds: the keys never
        change, and the item count shown beside them is DescribeTable's approximate figure anyway)."""
        from cruddur_ops.ddb import query

        now = time.monotonic()
        with self._lock:
            kept = self._keys.get(table)
        if kept is None or now - kept[0] > KEYS_TTL:
            kept = (now, query.table_keys(self.client(), table))
            with self._lock:
                if len(self._keys) > 256:
                    self._keys.clear()
                self._keys[table] = kept
        return kept[1]

    def specs(self) -> list:
        """The tables of the schema files (their declared access patterns); none when there are no files."""
        if self._specs is None:
            from cruddur_ops import defaults
            from cruddur_ops.ddb import schema

            files = defaults.schema_files()
            self._specs = list(schema.read(files).tables) if files else []
        return self._specs

    def patterns_for(self, table: str) -> dict:
        """The access patterns declared for ``table`` (or, for the app's table under another name, the app's)."""
        from cruddur_ops.ddb.model import TABLE

        for spec in self.specs():
            if spec.name == table:
                return dict(spec.patterns)
        if table == self.table:
            for spec in self.specs():
                if spec.name == TABLE:
                    return dict(spec.patterns)
        return {}


# --- small renderers -----------------------------------------------------------------------------------------
def t_href(table: str, *rest: str) -> str:
    return "/t/" + seg(table) + "".join("/" + r for r in rest)


def value_cell(av: dict | None) -> Html:
    """One attribute with its DynamoDB type, exactly; an absent attribute and an empty string look different."""
    from cruddur_ops.ddb.browse import exact

    if av is None:
        return Html('<span class="absent-mark">absent</span>')
    kind, text = exact(av)
    if kind == "S" and text == "":
        return Html('<span class="t">S</span><span class="v empty">"" (empty string)</span>')
    return Html(f'<span class="t">{h(kind)}</span><span class="v">{h(text)}</span>')


def plain_text(value: Any) -> str:
    from cruddur_ops.ddb import typed

    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return typed.dumps(value)


def items_table(items: list[dict], *, item_href: Callable[[dict], str] | None = None,
                marks: Mapping[tuple[str, str], list[tuple[str, str]]] | None = None) -> Html:
    """Typed items (as DynamoDB returns them) as a table: every attribute's type and exact value."""
    from cruddur_ops.ddb.browse import columns

    if not items:
        return Html("<p><em>no items</em></p>")
    names = columns(items)
    head = join(tag("th", n) for n in names) + (Html("<th>JSON</th>") if item_href else Html(""))
    rows = []
    for item in items:
        cells = []
        for n in names:
            cls = "absent" if n not in item else None
            cells.append(Html(f'<td class="{cls}">' if cls else "<td>") + value_cell(item.get(n)) + Html("</td>"))
        if item_href:
            cells.append(Html("<td>") + link(item_href(item), "JSON") + Html("</td>"))
        rows.append(Html("<tr>") + join(cells) + Html("</tr>"))
        key = (_s(item.get("pk")), _s(item.get("sk")))
        for check, status in (marks or {}).get(key, []):
            rows.append(Html(f'<tr><td colspan="{len(names) + (1 if item_href else 0)}" class="finding {h(status)}">'
                             f"doctor {h(status)}: {h(check)} — this row</td></tr>"))
    return Html(f'<table class="items"><thead><tr>{head}</tr></thead><tbody>{join(rows)}</tbody></table>')


def _s(av: dict | None) -> str:
    if not av:
        return ""
    return str(next(iter(av.values())))


def plain_items_table(items: list[dict]) -> Html:
    """Plain items (ddb/typed's plain JSON) back to typed, for the same exact rendering."""
    from cruddur_ops.ddb import typed

    return items_table([typed.to_attrs(typed.jsonable(i)) for i in items])


def item_link(table: str, keys, item: dict) -> str:
    from cruddur_ops.ddb.browse import shown

    params = {"pk": shown(item[keys.key.hash])} if keys.key.hash in item else {}
    if keys.key.range and keys.key.range in item:
        params["sk"] = shown(item[keys.key.range])
    return url(t_href(table, "item") + ".json", params)


def pager(path: str, params: Mapping[str, Any], next_token: str | None, start: str | None) -> Html:
    parts = []
    if start:
        parts.append(link(url(path, {**params, "start": ""}), "« first page"))
    if next_token:
        parts.append(link(url(path, {**params, "start": next_token}), "next page »", "next"))
    return Html(f'<p class="pager">{join(parts)}</p>') if parts else Html("")


# --- / --------------------------------------------------------------------------------------------------------
def home(app: App, req: Request) -> Page:
    """Every table: item count, size, keys, indexes, billing, stream, TTL (DescribeTable's figures)."""
    from cruddur_ops.ddb import tables

    client = app.client()
    rows = []
    for name in tables.table_names(client):
        d = tables.describe(client, name)  # one DescribeTable: DynamoDB Local counts the items for each
        row = tables.summary(d)  # `cruddur ddb list-tables -o json`'s row, unchanged
        rows.append(row)
        row["keys"] = d["keys"]
        row["index_keys"] = {i["name"]: i["keys"] for i in d["indexes"]}
        row["ttl"] = _ttl(client, row["name"])
    doc = {"tables": rows, "count": len(rows)}
    body = table(["table", "items", "size (bytes)", "keys", "indexes", "billing", "stream", "TTL"], [
        [link(t_href(r["name"]), r["name"]), f"{r['item_count']:,}", f"{r['size_bytes']:,}", r["keys"],
         join((Html(f"{h(n)}: {h(k)}") for n, k in r["index_keys"].items()), Html("<br>")) or "—",
         r["billing"], r["stream"], r["ttl"]] for r in rows], "tables")
    if not rows:
        body = Html("<p>No tables. Create the app's with <code>cruddur ddb schema-load</code>, or run "
                    "<code>cruddur local demo</code>.</p>")
    return Page("Tables", doc, body, [("tables", "")])


def _ttl(client, name: str) -> str:
    try:
        d = client.describe_time_to_live(TableName=name).get("TimeToLiveDescription") or {}
    except Exception:  # DynamoDB Local answers it; a service without it shows "?"
        return "?"
    status = d.get("TimeToLiveStatus", "DISABLED")
    return f"{status} ({d['AttributeName']})" if d.get("AttributeName") else status


# --- /t/{table} -----------------------------------------------------------------------------------------------
def table_page(app: App, req: Request, table_name: str) -> Page:
    from cruddur_ops.ddb import browse

    keys = app.keys(table_name)
    index = req.get("index") or None
    prefix = req.get("prefix") or None
    limit = req.int("limit", browse.PARTITIONS_PER_PAGE, high=500)
    result = browse.partitions(app.scan_client(), keys, index=index, prefix=prefix, start=req.get("start") or None,
                               limit=limit)
    doc = result.to_dict(app.prices)
    doc["indexes"] = sorted(keys.indexes)
    key = keys.for_index(index)
    here = t_href(table_name)
    views = [link(here, "table", "on" if not index else "")] + [link(url(here, {"index": n}), f"index {n}")
                                                                 for n in sorted(keys.indexes)]
    search = form(here, text_field("partition key begins with", "prefix", prefix or "", size=30,
                                   placeholder="GRP#"), "Search", hidden={"index": index} if index else None)
    rows = []
    for p in result.partitions:
        value = browse.shown(p.value)
        href = url(t_href(table_name, "p", seg(value)), {"index": index})
        count = f"{p.items:,}" + ("+" if not p.complete else "")
        kinds = Html('<span class="kinds">{}</span>'.format(
            join(Html(f"<span>{h(k)} {n:,}</span>") for k, n in p.kinds.most_common())))
        rows.append([link(href, value) + (Html(" <small>(continued)</small>") if p.continued else Html("")),
                     count, kinds])
    kinds_all = ", ".join(f"{k} {n:,}" for k, n in doc["kinds"].items()) or "none"
    body = join([
        Html("<p>View: ") + join(views, " · ") + Html("</p>"),
        Html("<p>about ") + h(f"{keys.description.get('ItemCount', 0):,} items, {keys.description.get('TableSizeBytes', 0):,} "
                                "bytes (DescribeTable's figures, which AWS refreshes every few hours) · keys: ")
        + h(f"{key.hash} ({key.hash_type})" + (f", {key.range} ({key.range_type})" if key.range else ""))
        + Html(" · ") + link(t_href(table_name, "q"), "query") + Html(" · ")
        + link(t_href(table_name, "patterns"), "access patterns") + Html("</p>"),
        search,
        tag("h2", f"Item collections{' of index ' + index if index else ''}: {len(result.partitions)} on this page"),
        Html(f"<p><small>item kinds on this page: {h(kinds_all)}; {result.keys_read:,} keys read, "
             f"{doc['consumed_capacity']['total']:g} read units, {doc['latency_ms']} ms</small></p>"),
        table([f"partition ({key.hash})", "items", "item kinds"], rows, "partitions"),
        pager(here, {"index": index, "prefix": prefix, "limit": req.get("limit")}, result.next, result.start),
    ])
    return Page(table_name, doc, body, [("tables", "/"), (table_name, "")])


# --- /t/{table}/p/{pk} ---------------------------------------------------------------------------------------
def collection_page(app: App, req: Request, table_name: str, partition: str) -> Page:
    from cruddur_ops.ddb import browse

    keys = app.keys(table_name)
    index = req.get("index") or None
    limit = req.int("limit", browse.ITEMS_PER_PAGE)
    result = browse.collection(app.client(), keys, partition, index=index, start=req.get("start") or None,
                               limit=limit, desc=req.flag("desc"))
    doc = result.to_dict(app.prices)
    here = t_href(table_name, "p", seg(partition))
    params = {"index": index, "limit": req.get("limit"), "desc": req.get("desc"), "start": req.get("start")}
    key = keys.for_index(index)
    body = join([
        Html(f"<p>{h(key.hash)} = <code>{h(partition)}</code>" + (f" in index {h(index)}" if index else "")
             + f", sorted by {h(key.range or '(no sort key)')}" + (" newest first" if req.flag("desc") else "")
             + ". ") + link(url(here, {"index": index, "desc": "" if req.flag("desc") else "1"}),
                            "oldest first" if req.flag("desc") else "newest first") + Html("</p>"),
        Html(f"<p><small>{len(result.items)} items on this page; {doc['consumed_capacity']['total']:g} read units, "
             f"{doc['latency_ms']} ms</small></p>"),
        exports(here, params),
        items_table(result.items, item_href=lambda i: item_link(table_name, keys, i)),
        pager(here, {k: v for k, v in params.items() if k != "start"}, result.next, result.start),
        capacity(doc["consumed_capacity"]),
    ])
    return Page(f"{partition} · {table_name}", doc, body,
                [("tables", "/"), (table_name, t_href(table_name)), (partition, "")], rows=doc["items"])


# --- /t/{table}/item ------------------------------------------------------------------------------------------
def item_page(app: App, req: Request, table_name: str) -> Page:
    """One item by its key: `cruddur ddb get TABLE PK [SK] -o json`."""
    from cruddur_ops.ddb import query

    if not req.get("pk") and "pk" not in req.params:
        raise InputError("give the item's partition key as ?pk=…")
    keys = app.keys(table_name)
    result = query.get_item(app.client(), keys, req.params["pk"], req.params.get("sk"))
    doc = result.to_dict(app.prices)
    raw = query.item_key(keys, req.params["pk"], req.params.get("sk"))
    from cruddur_ops.ddb import typed

    body = join([items_table([typed.to_attrs(typed.jsonable(doc["item"]))]), capacity(doc["consumed_capacity"])])
    shown = " / ".join(str(v) for v in typed.to_plain(raw).values())
    return Page(f"{shown} · {table_name}", doc, body,
                [("tables", "/"), (table_name, t_href(table_name)), (shown, "")], rows=[doc["item"]])


# --- /t/{table}/q ---------------------------------------------------------------------------------------------
def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def query_page(app: App, req: Request, table_name: str) -> Page:
    from cruddur_ops.ddb import query as q

    keys = app.keys(table_name)
    p = {k: req.get(k) for k in ("partition", "sort", "index", "filter", "values", "names", "projection", "limit",
                                 "desc", "consistent")}
    here = t_href(table_name, "q")
    index_options = [("", "(table)")] + [(n, n) for n in sorted(keys.indexes)]
    the_form = form(here, join([
        text_field("partition key", "partition", p["partition"], size=46, placeholder="GRP#…"),
        text_field("sort", "sort", p["sort"], size=30, placeholder="begins_with 2026",
                   hint="=, <, <=, >, >= VALUE · between A and B · begins_with P"),
        select("index", "index", index_options, p["index"]), Html("<br>"),
        text_field("filter", "filter", p["filter"], size=40, placeholder="#h = :h"),
        Html('<label>values <textarea name="values" rows="2" cols="30" placeholder=":h=andrewbrown">')
        + h(p["values"]) + Html("</textarea></label>"),
        Html('<label>names <textarea name="names" rows="2" cols="22" placeholder="#h=user_handle">')
        + h(p["names"]) + Html("</textarea></label>"), Html("<br>"),
        text_field("projection", "projection", p["projection"], size=30, placeholder="pk, sk, message"),
        text_field("limit", "limit", p["limit"] or "100", size=5),
        checkbox("newest first", "desc", bool(p["desc"])), checkbox("consistent", "consistent", bool(p["consistent"])),
    ]))
    if not p["partition"]:
        return Page(f"Query {table_name}", {"table": table_name, "indexes": sorted(keys.indexes), "request": None}, join([the_form, Html("<p>Give a partition key to run a Query.</p>")]),
                    [("tables", "/"), (table_name, t_href(table_name)), ("query", "")])
    values = q.parse_assignments(_lines(p["values"]), "values")
    names: dict[str, str] = {}
    for pair in _lines(p["names"]):
        name, sep, attr = pair.partition("=")
        if not sep or not name.strip() or not attr:
            raise InputError(f"names takes #name=attribute per line, got '{pair[:60]}'")
        names[name.strip()] = attr.strip()
    limit = req.int("limit", 100)
    projection = [x.strip() for x in p["projection"].split(",") if x.strip()] or None
    request = q.build_query(keys, p["partition"], sort=p["sort"] or None, index=p["index"] or None,
                            filter=p["filter"] or None, values=values, names=names, projection=projection,
                            desc=req.flag("desc"), limit=limit, consistent=req.flag("consistent"))
    result = q.run_query(app.client(), request, limit=limit)
    # `cruddur ddb query -o json`'s document, then what the page adds: the request and the equivalent commands
    doc: dict[str, Any] = {"table": table_name, "index": p["index"] or None, "items": result.items, "count": result.count,
           "scanned_count": result.scanned, "pages": result.pages, "latency_ms": round(result.seconds * 1000, 2),
           "consumed_capacity": result.capacity.to_dict(app.prices),
           "request": q.wire_request(request), "aws_cli": q.aws_cli(request), "cruddur_cli": _cruddur_line(table_name, p)}
    body = join([
        the_form,
        tag("h2", "The request"), pre(_json(doc["request"])),
        tag("h3", "The same with cruddur"), pre(doc["cruddur_cli"]),
        tag("h3", "The same with the AWS CLI"), pre(doc["aws_cli"]),
        tag("h2", f"{result.count} items ({result.scanned} read, {result.pages} page(s), {doc['latency_ms']} ms)"),
        exports(here, {k: v for k, v in p.items() if v}),
        plain_items_table(result.items),
        capacity(doc["consumed_capacity"]),
    ])
    return Page(f"Query {table_name}", doc, body, [("tables", "/"), (table_name, t_href(table_name)), ("query", "")],
                rows=result.items)


def _json(doc: Any) -> str:
    from cruddur_ops.cli.render import to_json

    return to_json(doc)


def _cruddur_line(table_name: str, p: Mapping[str, str]) -> str:
    parts = ["cruddur", "ddb", "query", table_name, p["partition"]]
    for option, name in (("--sort", "sort"), ("--index", "index"), ("--filter", "filter"),
                         ("--projection", "projection"), ("--limit", "limit")):
        if p.get(name):
            parts += [option, p[name]]
    for line in _lines(p.get("values", "")):
        parts += ["--value", line]
    for line in _lines(p.get("names", "")):
        parts += ["--name", line]
    if p.get("desc"):
        parts.append("--desc")
    if p.get("consistent"):
        parts.append("--consistent")
    return " ".join(shlex.quote(x) for x in parts)


# --- /t/{table}/patterns -------------------------------------------------------------------------------------
def patterns_page(app: App, req: Request, table_name: str) -> Page:
    from cruddur_ops.ddb import patterns as pat
    from cruddur_ops.ddb import query as q

    declared = app.patterns_for(table_name)
    here = t_href(table_name, "patterns")
    crumbs = [("tables", "/"), (table_name, t_href(table_name)), ("access patterns", "")]
    chosen = req.get("pattern")
    forms = []
    for name, p in declared.items():
        fields = join(text_field(param, f"p.{param}", req.get(f"p.{param}") if name == chosen else "", size=40)
                      for param in p.parameters)
        fields += text_field("limit", "limit", req.get("limit") if name == chosen else "", size=5,
                             placeholder=str(p.limit or ""))
        key = f"{p.key_attr} = {p.key_template}"
        sort = f"; sort {p.sort_op} {', '.join(p.sort_templates)}" if p.sort_op else ""
        forms.append(Html(f'<h3 id="{h(name)}">{h(name)}</h3><p><small>{h(p.description)} — {h(key)}{h(sort)}'
                          + (f" on index {h(p.index)}" if p.index else "")
                          + (" · newest first" if p.newest_first else "") + "</small></p>")
                     + form(here, fields, "Run", hidden={"pattern": name}))
    listing = {"patterns": [p.to_dict() for p in declared.values()], "count": len(declared)}
    if not declared:
        return Page(f"Access patterns · {table_name}", listing,
                    Html(f"<p>No access patterns are declared for {h(table_name)} in the schema files "
                         "(AccessPatterns, see docs/modelling.md).</p>"), crumbs)
    if not chosen:
        return Page(f"Access patterns · {table_name}", listing, join(forms), crumbs)
    if chosen not in declared:
        raise NotFoundError(f"no access pattern '{chosen}' for {table_name} (declared: {', '.join(declared)})")
    pattern = declared[chosen]
    params = {k[2:]: v for k, v in req.params.items() if k.startswith("p.")}
    limit = req.int("limit", pattern.limit or 100) if req.get("limit") else None
    request = pat.build_request(pattern, params, limit=limit, table=table_name)
    result = pat.run(app.client(), request, reverse=pattern.reverse)
    # `cruddur ddb pattern run -o json`'s document (less the schema files), with the request sent
    doc = {"pattern": chosen, "table": request["TableName"], "index": request.get("IndexName"), "parameters": params,
           "items": result.items, "count": result.count, "pages": result.pages,
           "latency_ms": round(result.seconds * 1000, 2),
           "consumed_capacity": result.capacity.to_dict(app.prices), "request": q.wire_request(request),
           "aws_cli": q.aws_cli({k: v for k, v in request.items() if k != "ReturnConsumedCapacity"})}
    run_params = {"pattern": chosen, **{f"p.{k}": v for k, v in params.items()}, "limit": req.get("limit")}
    line = " ".join(shlex.quote(x) for x in ["cruddur", "ddb", "pattern", "run", chosen,
                                             *[a for k, v in params.items() for a in ("-p", f"{k}={v}")]]
                    + (["--limit", str(limit)] if limit else []) + (["--table", table_name] if table_name != pattern.table else []))
    body = join([
        tag("h2", f"{chosen}: {result.count} items ({doc['latency_ms']} ms)"),
        capacity(doc["consumed_capacity"]),
        exports(here, run_params),
        plain_items_table(result.items),
        tag("h3", "The request"), pre(_json(doc["request"])),
        tag("h3", "The same with cruddur"), pre(line),
        tag("h3", "The same with the AWS CLI"), pre(doc["aws_cli"]),
        tag("h2", "Every access pattern"), join(forms),
    ])
    return Page(f"{chosen} · {table_name}", doc, body, crumbs[:-1] + [("access patterns", here), (chosen, "")],
                rows=result.items)


# --- /cruddur -------------------------------------------------------------------------------------------------
DOCTOR_MAX_ITEMS = 20_000  # items doctor reads for /cruddur; bigger tables run it only when asked (?doctor=1)
APP_CHECKS = ["message-timestamps", "duplicate-group-rows", "group-rows-current", "group-rows-year"]


def app_page(app: App, req: Request) -> Page:
    """The app's view: each user's inbox as the app lists it (``begins_with(sk, <this year>)``, newest first, 20),
    each conversation's messages (pattern A), and doctor's findings beside the rows they concern."""
    import dataclasses

    from cruddur_ops.ddb import browse
    from cruddur_ops.ddb import patterns as pat
    from cruddur_ops.ddb.model import GROUP_PREFIX, MESSAGE_PREFIX
    from cruddur_ops.doctor import run_checks
    from cruddur_ops.doctor.context import Context

    table_name = app.table
    keys = app.keys(table_name)
    client = app.client()
    declared = app.patterns_for(table_name)
    if "list-conversations" not in declared or "get-conversation" not in declared:
        raise NotFoundError(f"the schema files declare no list-conversations/get-conversation patterns for {table_name}")
    year = req.get("year") or str(datetime.now(UTC).year)
    # the app's own list: pattern B with the year filter its query carries
    inbox_pattern = dataclasses.replace(declared["list-conversations"], sort_attr=keys.key.range, sort_op="begins_with",
                                        sort_templates=("{year}",))
    owners = browse.partitions(app.scan_client(), keys, prefix=GROUP_PREFIX, start=req.get("start") or None,
                               limit=req.int("users", 20, high=200))
    max_items = req.int("max_items", DOCTOR_MAX_ITEMS, high=100_000)
    # doctor reads the table's items: on its own for a table that small, else when asked (?doctor=1)
    approx = int(keys.description.get("ItemCount", 0) or 0)
    run_doctor = req.get("doctor") == "1" or (req.get("doctor") != "0" and approx <= max_items)
    checks: list = []
    scanned = None
    if run_doctor:
        with Context(app.settings, table=table_name, max_items=max_items, client=client) as ctx:
            checks = run_checks(ctx, APP_CHECKS)
            scanned = ctx.scanned
    marks: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for check in checks:
        for d in check.details:
            if "pk" in d and check.status in ("warn", "fail"):
                marks.setdefault((str(d["pk"]), str(d.get("sk") or d.get("kept_sk") or "")), []).append(
                    (f"{check.name}: {check.found}", check.status))
    handles: dict[str, str] = {}
    users: list[dict[str, Any]] = []
    conversations: dict[str, dict] = {}
    for p in owners.partitions:
        owner = str(browse.shown(p.value))[len(GROUP_PREFIX):]
        request = pat.build_request(inbox_pattern, {"user_uuid": owner, "year": year}, table=table_name)
        result = pat.run(client, request, reverse=inbox_pattern.reverse)
        for row in result.items:
            handles[str(row.get("user_uuid"))] = str(row.get("user_handle") or "")
            conversations.setdefault(str(row.get("message_group_uuid")), {})
        in_year = browse.count(client, request)
        flagged = [{"sk": sk, "finding": finding, "status": status}
                   for (pk, sk), found in marks.items() if pk == GROUP_PREFIX + owner
                   and not any(row.get("sk") == sk for row in result.items) for finding, status in found]
        users.append({"user_uuid": owner, "inbox": result.items, "count": result.count, "in_year": in_year,
                      "group_rows": p.items, "group_rows_complete": p.complete,
                      "hidden_by_year": max(0, p.items - in_year), "not_listed_findings": flagged,
                      "consumed_capacity": result.capacity.to_dict(app.prices), "request": request})
    for user in users:
        user["handle"] = handles.get(user["user_uuid"])
    for group in list(conversations):
        result = pat.run_pattern(client, declared["get-conversation"], {"message_group_uuid": group}, table=table_name)
        conversations[group] = {"message_group_uuid": group, "messages": result.items, "count": result.count,
                                "consumed_capacity": result.capacity.to_dict(app.prices)}
    doc = {"table": table_name, "year": year, "users": users, "conversations": list(conversations.values()),
           "doctor": {"run": run_doctor, "checks": [c.to_dict() for c in checks],
                      "scan": {"items": len(scanned.items), "max_items": scanned.max_items,
                               "truncated": scanned.truncated} if scanned else None},
           "next": owners.next}
    from cruddur_ops.ddb import typed

    def typed_rows(rows: list[dict]) -> list[dict]:
        return [typed.to_attrs(typed.jsonable(r)) for r in rows]

    parts = [Html(f"<p>The app lists a user's conversations with <code>pk = GRP#&lt;uuid&gt; AND begins_with(sk, "
                  f"'{h(year)}')</code>, newest first, 20 at most — a group row of another year is not shown. "
                  f"Table {h(table_name)}; doctor read {len(scanned.items) if scanned else 0:,} items"
                  + (f" (stopped at {max_items:,})" if scanned and scanned.truncated else "") + ".</p>"),
             tag("h2", "doctor")]
    if run_doctor:
        parts.append(table(["check", "status", "found"], [[c.name, c.status, c.found] for c in checks], "doctor"))
    else:
        parts.append(Html(f"<p>Not run: {h(table_name)} holds about {approx:,} items, more than the {max_items:,} "
                          "doctor would read on every visit. ") + link(
            url("/cruddur", {"doctor": "1", "year": req.get("year"), "max_items": req.get("max_items")}),
            f"Run doctor's checks on the first {max_items:,} items") + Html("</p>"))
    parts.append(tag("h2", f"Inboxes ({len(users)} users on this page)"))
    for user in users:
        title = f"{user['handle'] or user['user_uuid']} — {user['count']} conversation(s) listed, of {user['in_year']} in {year}"
        if user["hidden_by_year"] > 0:
            title += f", {user['hidden_by_year']} group row(s) hidden by the year filter"
        parts.append(tag("h3", title))
        parts.append(Html(f"<p><small>{h(user['user_uuid'])} · ") + link(
            t_href(table_name, "p", seg(GROUP_PREFIX + user["user_uuid"])), "every group row") + Html("</small></p>"))
        parts.append(items_table(typed_rows(user["inbox"]), marks=marks))
        if user["not_listed_findings"]:
            parts.append(Html("<p><small>doctor's findings on this user's group rows that the app does not list:"
                              "</small></p>"))
            parts.append(table(["sk", "status", "finding"], [[f["sk"], f["status"], f["finding"]]
                                                            for f in user["not_listed_findings"]], "not-listed"))
    parts.append(tag("h2", f"Conversations ({len(conversations)})"))
    for conv in conversations.values():
        group = conv["message_group_uuid"]
        parts.append(tag("h3", f"{group} — newest {conv['count']} message(s), oldest first"))
        parts.append(Html("<p><small>") + link(t_href(table_name, "p", seg(MESSAGE_PREFIX + group)), "every message")
                     + Html("</small></p>"))
        parts.append(items_table(typed_rows(conv["messages"]), marks=marks))
    parts.append(pager("/cruddur", {"year": req.get("year"), "users": req.get("users")}, owners.next, owners.start))
    return Page(f"The app's view of {table_name}", doc, join(parts), [("tables", "/"), ("app view", "")])
