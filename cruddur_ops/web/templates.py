"""The page layout and the HTML fragments the views fill in. Every value that reaches HTML goes through
:func:`h` (``html.escape`` with quotes): items are hostile data. Fragments return ``Html`` (already escaped),
so nothing is escaped twice and nothing raw slips in by accident.
"""

from __future__ import annotations

import html
import string
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlencode


class Html(str):
    """Text that is already HTML (escaped where needed). Adding plain text to it escapes that text."""

    def __add__(self, other: object) -> Html:
        return Html(str.__add__(self, h(other)))

    def __radd__(self, other: object) -> Html:
        return Html(str.__add__(h(other), self))


def h(value: Any) -> Html:
    """Escape anything for HTML text or a quoted attribute; ``Html`` passes through."""
    if isinstance(value, Html):
        return value
    return Html(html.escape("" if value is None else str(value), quote=True))


def join(parts: Iterable[Any], sep: str = "") -> Html:
    return Html(sep.join(h(p) for p in parts))


def seg(value: str) -> str:
    """One path segment: every reserved character percent-encoded, and dots too (so a key ending in ``.json``
    is never taken for the JSON twin's suffix)."""
    return quote(value, safe="").replace(".", "%2E")


def url(path: str, params: Mapping[str, Any] | None = None) -> str:
    pairs = [(k, v) for k, v in (params or {}).items() if v not in (None, "", False)]
    return path + ("?" + urlencode(pairs) if pairs else "")


def link(href: str, text: Any, cls: str = "") -> Html:
    return Html(f'<a href="{h(href)}"' + (f' class="{h(cls)}"' if cls else "") + f">{h(text)}</a>")


def tag(name: str, content: Any = "", **attrs: Any) -> Html:
    shown = "".join(f' {k.rstrip("_").replace("_", "-")}="{h(v)}"' for k, v in attrs.items() if v is not None)
    return Html(f"<{name}{shown}>{h(content)}</{name}>")


def table(headers: list[Any], rows: Iterable[Iterable[Any]], cls: str = "") -> Html:
    head = join(tag("th", c) for c in headers)
    body = join(Html(f"<tr>{join(tag('td', c) for c in row)}</tr>") for row in rows)
    return Html(f'<table class="{h(cls)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')


def facts(pairs: Iterable[tuple[Any, Any]]) -> Html:
    inner = join(Html(f"<dt>{h(k)}</dt><dd>{h(v)}</dd>") for k, v in pairs)
    return Html(f'<dl class="facts">{inner}</dl>')


def pre(text: Any, cls: str = "code") -> Html:
    return Html(f'<pre class="{h(cls)}">{h(text)}</pre>')


def field(label: str, name: str, value: Any = "", *, size: int = 40, placeholder: str = "", hint: str = "") -> Html:
    return Html(f'<label>{h(label)} <input type="text" name="{h(name)}" value="{h(value)}" size="{size}" '
                f'placeholder="{h(placeholder)}"></label>' + (f' <small>{h(hint)}</small>' if hint else ""))


def select(label: str, name: str, options: list[tuple[str, str]], chosen: str | None) -> Html:
    opts = join(Html(f'<option value="{h(v)}"' + (" selected" if v == (chosen or "") else "") + f">{h(t)}</option>")
                for v, t in options)
    return Html(f'<label>{h(label)} <select name="{h(name)}">{opts}</select></label>')


def checkbox(label: str, name: str, checked: bool) -> Html:
    return Html(f'<label><input type="checkbox" name="{h(name)}" value="1"' + (" checked" if checked else "")
                + f"> {h(label)}</label>")


def form(action: str, body: Any, submit: str = "Run", hidden: Mapping[str, Any] | None = None) -> Html:
    inputs = join(Html(f'<input type="hidden" name="{h(k)}" value="{h(v)}">') for k, v in (hidden or {}).items())
    return Html(f'<form method="get" action="{h(action)}">{inputs}{h(body)} '
                f'<button type="submit">{h(submit)}</button></form>')


def exports(path: str, params: Mapping[str, Any]) -> Html:
    """Links to the current result as JSON, JSON lines and CSV (the CLI's codec and CSV writer)."""
    links = join((link(url(path + suffix, params), name) for suffix, name in ((".json", "JSON"), (".jsonl", "JSONL"),
                                                                            (".csv", "CSV"))), " · ")
    return Html(f'<p class="exports">Export: {links}</p>')


def capacity(doc: Mapping[str, Any] | None) -> Html:
    """Consumed capacity and what it costs at on-demand prices."""
    if not doc:
        return Html("")
    cost = doc.get("cost") or {}
    pairs: list[tuple[str, Any]] = [("read units", f"{doc.get('total', 0):g}"), ("table", f"{doc.get('table', 0):g}")]
    pairs += [(f"index {k}", f"{v:g}") for k, v in (doc.get("indexes") or {}).items()]
    if cost:
        pairs += [("cost", f"${cost['usd']:.10f}".rstrip("0").rstrip(".") if cost["usd"] else "$0"),
                  ("per million such calls", f"${cost.get('usd_per_million_calls', 0):,.4f}"),
                  ("prices", f"{cost.get('unit')}, {cost.get('region')}, as of {cost.get('as_of')}")]
    return Html(f'<section class="capacity"><h3>Consumed capacity and cost</h3>{facts(pairs)}</section>')


LAYOUT = string.Template("""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title · cruddur web</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1f2a44;color:#fff;padding:.6em 1.2em;display:flex;gap:1.2em;align-items:baseline;flex-wrap:wrap}
header a{color:#fff;text-decoration:none;font-weight:600}
header .target{font-size:12px;opacity:.85}
.banner{padding:.45em 1.2em;font-weight:600}
.banner.ro{background:#e7eefc;color:#1f3a7a}.banner.prod{background:#b3261e;color:#fff}
main{padding:1em 1.2em;max-width:1400px}
h1{font-size:20px;margin:.2em 0 .6em}h2{font-size:16px;margin:1.2em 0 .4em}h3{font-size:14px;margin:.8em 0 .3em}
nav.crumbs{font-size:13px;margin-bottom:.4em}nav.crumbs a{color:#2456c6}
table{border-collapse:collapse;background:#fff;margin:.3em 0 1em;font-size:13px}
th,td{border:1px solid #d9dde5;padding:3px 7px;vertical-align:top;text-align:left}
th{background:#eef1f6;position:sticky;top:0}
td .t{display:inline-block;font:11px ui-monospace,monospace;color:#6a3fb5;background:#f1ebfb;border-radius:3px;padding:0 3px;margin-right:4px}
td .v{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;white-space:pre-wrap;overflow-wrap:anywhere}
td.absent{color:#9aa2b1;font-style:italic}
.empty{color:#b3261e}
a{color:#2456c6}
.kinds span{display:inline-block;background:#eef1f6;border-radius:3px;padding:0 5px;margin:0 3px 2px 0;font-size:12px}
form{background:#fff;border:1px solid #d9dde5;padding:.6em .8em;margin:.4em 0 1em}
form label{display:inline-block;margin:.2em 1em .2em 0}
input[type=text],select,textarea{font:13px ui-monospace,monospace;padding:2px 4px}
button{font-weight:600;padding:3px 12px}
pre.code{background:#1d2330;color:#e9edf5;padding:.6em .8em;overflow-x:auto;font-size:12px;white-space:pre-wrap;word-break:break-all}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:2px 14px;margin:.3em 0}
dl.facts dt{color:#5b6475}dl.facts dd{margin:0;font-family:ui-monospace,monospace}
.finding{color:#8a4b00;font-size:12px}.finding.fail{color:#b3261e}
.pager a{margin-right:1em}
.exports{font-size:13px}
.error{background:#fdecea;border:1px solid #f5c2bd;padding:.6em .8em;color:#8c1d18}
small{color:#5b6475}
</style></head>
<body>
<header><a href="/">cruddur web</a><a href="$app_href">app view</a><span class="target">$target</span></header>
$banner
<main>
<nav class="crumbs">$crumbs</nav>
<h1>$heading</h1>
$body
<p><small>This page as JSON: <a href="$json_href">$json_text</a></small></p>
</main></body></html>
""")


def page(*, title: str, heading: str, body: Any, target: str, production: bool, crumbs: list[tuple[str, str]],
         json_href: str, app_href: str) -> str:
    if production:
        banner = Html(f'<div class="banner prod">PRODUCTION target ({h(target)}): read-only — this server never '
                      "writes, and refuses every POST, PUT, PATCH and DELETE</div>")
    else:
        banner = Html('<div class="banner ro">read-only: this server never writes (POST, PUT, PATCH and DELETE are '
                      "refused)</div>")
    trail = join((link(href, text) if href else h(text) for text, href in crumbs), " / ")
    return LAYOUT.substitute(title=h(title), heading=h(heading), body=h(body), target=h(target), banner=banner,
                             crumbs=trail, json_href=h(json_href), json_text=h(json_href), app_href=h(app_href))
