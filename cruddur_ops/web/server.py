"""`cruddur web`'s HTTP server: the standard library's ThreadingHTTPServer, routes to the views, the JSON twins
and exports, and the refusals (a method that would write: 405; a foreign Host header: 421).

    /                         tables                    /.json
    /t/{table}                item collections          /t/{table}.json
    /t/{table}/p/{pk}         one collection's items    …/p/{pk}.json  .jsonl  .csv
    /t/{table}/item?pk=&sk=   one item                  …/item.json
    /t/{table}/q              a Query form and result   …/q.json  .jsonl  .csv
    /t/{table}/patterns       the declared patterns     …/patterns.json  .jsonl  .csv
    /cruddur                  the app's view            /cruddur.json

Path segments are percent-encoded (a key ``GRP#…`` is ``GRP%23…``; a dot in a key is ``%2E``, so the suffix of a
JSON twin is never part of a key).
"""

from __future__ import annotations

import io
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

from cruddur_ops.errors import CruddurError, InputError, NotFoundError
from cruddur_ops.targets import is_loopback_host
from cruddur_ops.web import views
from cruddur_ops.web.templates import Html, page

SUFFIXES = {".jsonl": "jsonl", ".json": "json", ".csv": "csv"}
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
STATUS = {"input": 400, "not_found": 404, "production": 403, "auth": 502, "service": 502, "engine": 502}
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
                               "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Response:
    def __init__(self, status: int, content_type: str, body: str, headers: dict[str, str] | None = None):
        self.status = status
        self.content_type = content_type
        self.body = body.encode("utf-8")
        self.headers = headers or {}


def split_path(raw_path: str) -> tuple[list[str], str | None]:
    """``/t/a%2Fb/p/GRP%23x.json`` -> (["t", "a/b", "p", "GRP#x"], "json")."""
    raw = raw_path.split("?", 1)[0]
    parts = raw.split("/")[1:]
    fmt = None
    if parts:
        last = parts[-1]
        for suffix, name in SUFFIXES.items():
            if last.endswith(suffix):
                parts[-1], fmt = last[: -len(suffix)], name
                break
    segments = [unquote(p, errors="strict") for p in parts]
    while segments and segments[-1] == "":
        segments.pop()
    return segments, fmt


def route(app: views.App, segments: list[str], req: views.Request) -> views.Page:
    if not segments:
        return views.home(app, req)
    if segments == ["cruddur"]:
        return views.app_page(app, req)
    if segments[0] == "t" and len(segments) >= 2:
        table, rest = segments[1], segments[2:]
        if not rest:
            return views.table_page(app, req, table)
        if rest == ["q"]:
            return views.query_page(app, req, table)
        if rest == ["patterns"]:
            return views.patterns_page(app, req, table)
        if rest == ["item"]:
            return views.item_page(app, req, table)
        if len(rest) == 2 and rest[0] == "p":
            return views.collection_page(app, req, table, rest[1])
    raise NotFoundError("no such page: " + "/" + "/".join(segments))


def export(page: views.Page, fmt: str, name: str) -> Response:
    """The page's rows as JSON lines or CSV, written by the CLI's own writers (cli/render.py)."""
    from cruddur_ops.cli import render

    if page.rows is None:
        raise NotFoundError(f"this page has no rows to export as {fmt}; its JSON twin is the .json address")
    out = io.StringIO()
    if fmt == "csv":
        render.emit_csv(page.rows, out=out)
        content_type = "text/csv; charset=utf-8"
    else:
        render.emit_lines(page.rows, out=out)
        content_type = "application/x-ndjson; charset=utf-8"
    filename = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:80] or "export"
    return Response(200, content_type, out.getvalue(),
                    {"Content-Disposition": f'attachment; filename="{filename}.{fmt}"'})


class Web:
    """The application: a request in, a response out (no sockets here, so tests can call it directly)."""

    def __init__(self, app: views.App):
        self.app = app

    def respond(self, method: str, raw_path: str) -> Response:
        from cruddur_ops.cli import render

        if method in WRITE_METHODS:
            return self.refuse(method, raw_path)
        fmt: str | None = None
        try:
            try:
                segments, fmt = split_path(raw_path)
            except UnicodeDecodeError:
                raise InputError("the address is not UTF-8 once decoded") from None
            query = urlsplit(raw_path).query
            params: dict[str, str] = {}
            for k, v in parse_qsl(query, keep_blank_values=True, errors="strict"):
                params.setdefault(k, v)
            req = views.Request("/" + "/".join(segments), params)
            result = route(self.app, segments, req)
        except Exception as exc:
            return self.failure(exc, fmt)
        if fmt == "json":
            return Response(200, "application/json; charset=utf-8", render.to_json(result.doc) + "\n")
        if fmt in ("jsonl", "csv"):
            try:
                return export(result, fmt, "-".join(segments[1:]) or "export")
            except Exception as exc:
                return self.failure(exc, fmt)
        return Response(200, "text/html; charset=utf-8", self.html(result.title, result.title, result.body,
                                                                   result.crumbs, raw_path))

    def html(self, title: str, heading: str, body: Html, crumbs: list[tuple[str, str]], raw_path: str) -> str:
        path, _, query = raw_path.partition("?")
        json_href = (path.rstrip("/") or "/") + ".json" + (f"?{query}" if query else "")
        return page(title=title, heading=heading, body=body, target=self.app.target, production=self.app.production,
                    crumbs=crumbs, json_href=json_href, app_href="/cruddur")

    def refuse(self, method: str, raw_path: str) -> Response:
        message = (f"{method} refused: this server is read-only and never writes"
                   + (" (a production target)" if self.app.production else ""))
        if raw_path.split("?", 1)[0].endswith(".json"):
            body = views._json({"error": {"code": "read_only", "message": message}}) + "\n"
            return Response(405, "application/json; charset=utf-8", body, {"Allow": "GET, HEAD"})
        body = self.html("405 Method Not Allowed", "405 Method Not Allowed",
                         Html('<p class="error">') + message + Html("</p>"), [("tables", "/")], "/")
        return Response(405, "text/html; charset=utf-8", body, {"Allow": "GET, HEAD"})

    def failure(self, exc: Exception, fmt: str | None) -> Response:
        from cruddur_ops.cli.errors import document, line, translate

        err = exc if isinstance(exc, CruddurError) else translate(exc, self.app.settings)
        if err is None:
            err = CruddurError(f"{type(exc).__name__}: {exc}")
        status = STATUS.get(getattr(err, "code", "error"), 500)
        if isinstance(err, CruddurError) and getattr(err, "code", "") == "conflict":
            status = 409
        if fmt is not None:
            return Response(status, "application/json; charset=utf-8", views._json(document(err)) + "\n")
        body = Html('<p class="error">') + line(err) + Html("</p>")
        return Response(status, "text/html; charset=utf-8",
                        self.html(f"{status} error", f"{status}: {type(err).__name__}", body, [("tables", "/")], "/"))


def handler_for(web: Web, allowed_hosts: set[str] | None, log: Callable[[str], None]):
    class Handler(BaseHTTPRequestHandler):
        server_version = "cruddur-web"
        sys_version = ""
        protocol_version = "HTTP/1.1"

        def _serve(self, method: str, *, body: bool = True) -> None:
            started = time.perf_counter()
            host = (self.headers.get("Host") or "").lower()
            if allowed_hosts is not None and host not in allowed_hosts:
                response = Response(421, "text/plain; charset=utf-8",
                                    f"421 Misdirected Request: Host '{host[:100]}' is not this loopback server\n")
            else:
                response = web.respond(method, self.path)
            length = self.headers.get("Content-Length")
            if length and length.isdigit():
                self.rfile.read(min(int(length), 1 << 20))  # drain a refused request's body
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for k, v in {**HEADERS, **response.headers}.items():
                self.send_header(k, v)
            self.end_headers()
            if body:
                self.wfile.write(response.body)
            log(f"{method} {self.path[:200]} {response.status} {round((time.perf_counter() - started) * 1000)} ms")

        def do_GET(self) -> None:  # noqa: N802 (http.server's names)
            self._serve("GET")

        def do_HEAD(self) -> None:  # noqa: N802
            self._serve("HEAD", body=False)

        def do_POST(self) -> None:  # noqa: N802
            self._serve("POST")

        def do_PUT(self) -> None:  # noqa: N802
            self._serve("PUT")

        def do_PATCH(self) -> None:  # noqa: N802
            self._serve("PATCH")

        def do_DELETE(self) -> None:  # noqa: N802
            self._serve("DELETE")

        def log_message(self, format: str, *args) -> None:  # the access line is written by _serve
            pass

    return Handler


class Server:
    """A bound server; :meth:`serve_forever` or :meth:`start` (a thread, for tests), then :meth:`close`."""

    def __init__(self, web: Web, host: str, port: int, log: Callable[[str], None]):
        loopback = is_loopback_host(host)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET

        class Bound(ThreadingHTTPServer):
            address_family = family
            daemon_threads = True

        self.httpd = Bound((host.strip("[]"), port), handler_for(web, None, log))
        self.port = self.httpd.server_address[1]
        shown = f"[{host.strip('[]')}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}/"
        allowed = None
        if loopback:  # a page of another site cannot reach us through DNS rebinding
            allowed = {f"{name}:{self.port}" for name in ("127.0.0.1", "localhost", "[::1]", shown.lower())}
        self.httpd.RequestHandlerClass = handler_for(web, allowed, log)
        self.thread: threading.Thread | None = None

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def start(self) -> Server:
        self.thread = threading.Thread(target=self.serve_forever, daemon=True, name="cruddur-web")
        self.thread.start()
        return self

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def make_server(settings, *, host: str = "127.0.0.1", port: int = 0, table: str | None = None, prices=None,
                log: Callable[[str], None] | None = None) -> Server:
    """Bind (``port`` 0: a free one) and return the server, not yet serving."""
    from cruddur_ops.ddb.model import TABLE

    app = views.App(settings, table=table or settings.message_table or TABLE, prices=prices)
    try:
        return Server(Web(app), host, port, log or (lambda line: print(line, file=sys.stderr)))
    except OSError as exc:
        raise CruddurError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
