"""`cruddur web` on 100,000 items: how long each page takes, served in-process by the real server from a DynamoDB
Local this script starts, fetched over HTTP on loopback (the figure a browser waits for, less rendering).

    python bench/web.py                           # 100,000 items; rewrites its section of docs/benchmarks.md
    python bench/web.py --items 20000 --no-doc
    python bench/web.py --screenshot docs/web.png # the seeded app table's page, in headless Chromium

The screenshot mode seeds the shipped seed file (as `cruddur local demo` does) into the shipped schema and takes
the picture with Debian's /usr/bin/chromium through Playwright (no browser is downloaded).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import urllib.parse
import urllib.request

from _common import (
    CRUDDUR,
    batch_parallel,
    count_items,
    create_table,
    engine,
    machine,
    markdown_table,
    run_child,
    seed_items,
    today,
    update_doc,
    write_seed_file,
)

TABLE = "cruddur-messages"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def serve(bench):
    from cruddur_ops.settings import Settings
    from cruddur_ops.web.server import make_server

    return make_server(Settings.from_env(env=bench.env()), log=lambda line: None).start()


def get(base: str, path: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    with urllib.request.urlopen(base.rstrip("/") + path, timeout=120) as response:
        body = response.read()
        if response.status != 200:
            sys.exit(f"{path}: HTTP {response.status}")
    return time.perf_counter() - started, body


def seg(text: str) -> str:
    from cruddur_ops.web.templates import seg as encode

    return encode(text)


def screenshot(path: str) -> None:
    import tempfile

    from playwright.sync_api import sync_playwright

    with engine() as bench:
        for args in (["ddb", "schema-load"], ["ddb", "seed"]):
            child = run_child([str(CRUDDUR), *args, "-o", "json"], bench.env())
            if child.returncode != 0:
                sys.exit(f"cruddur {' '.join(args)} failed: {child.stderr.strip()}")
        server = serve(bench)
        try:
            with tempfile.TemporaryDirectory(prefix="cruddur-chromium-") as profile, sync_playwright() as p:
                context = p.chromium.launch_persistent_context(
                    profile, executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True,
                    viewport={"width": 1200, "height": 760})
                page = context.pages[0] if context.pages else context.new_page()
                page.goto(server.url + f"t/{TABLE}")
                page.screenshot(path=path)
                context.close()
        finally:
            server.close()
    print(f"wrote {path}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5, help="fetches of each page; the median and the worst count")
    parser.add_argument("--no-doc", action="store_true")
    parser.add_argument("--screenshot", metavar="PNG", help="only take the screenshot of the seeded app table")
    args = parser.parse_args()
    if args.screenshot:
        screenshot(args.screenshot)
        return

    with engine() as bench:
        client = bench.client()
        path = bench.workdir / "seed.yaml"
        shape = write_seed_file(path, args.items)
        items = seed_items(path)
        create_table(client, TABLE)
        batch_parallel(client, TABLE, items, 8)
        n = count_items(client, TABLE)
        group_pk = next(i["pk"]["S"] for i in items if i["pk"]["S"].startswith("GRP#"))
        message_pk = next(i["pk"]["S"] for i in items if i["pk"]["S"].startswith("MSG#"))
        group_uuid = message_pk[4:]
        del items
        server = serve(bench)
        base = server.url
        try:
            import json

            get(base, "/")  # the first request makes the client
            first = json.loads(get(base, f"/t/{TABLE}.json")[1])
            later, token = [], first["next"]
            for _ in range(9):  # pages 2-10, each from the cursor of the one before
                seconds, body = get(base, f"/t/{TABLE}?start={token}")
                later.append(seconds)
                token = json.loads(get(base, f"/t/{TABLE}.json?start={token}")[1])["next"]
                if not token:
                    break
            page2 = json.loads(get(base, f"/t/{TABLE}/p/{seg(message_pk)}.json?limit=50")[1])["next"]
            q = urllib.parse.quote
            pages = [
                ("tables (`/`)", "/"),
                ("partitions, first page (`/t/cruddur-messages`)", f"/t/{TABLE}"),
                ("partitions by prefix (`?prefix=GRP#`)", f"/t/{TABLE}?prefix=GRP%23"),
                ("index view, first page (`?index=message-group-sk-index`)", f"/t/{TABLE}?index=message-group-sk-index"),
                ("one collection, 100 items (`/p/MSG#…`)", f"/t/{TABLE}/p/{seg(message_pk)}"),
                ("one collection, 50 items, then its next page by cursor",
                 f"/t/{TABLE}/p/{seg(message_pk)}?limit=50&start={page2}"),
                ("one item's JSON", f"/t/{TABLE}/item.json?pk={q(message_pk)}&sk=" + q(
                    json.loads(get(base, f"/t/{TABLE}/p/{seg(message_pk)}.json?limit=1")[1])["items"][0]["sk"])),
                ("query form result (`/q`, begins_with, 100 items)",
                 f"/t/{TABLE}/q?partition={q(group_pk)}&sort={q('begins_with 2024')}"),
                ("pattern run (`get-conversation`)", f"/t/{TABLE}/patterns?pattern=get-conversation&"
                                                     f"p.message_group_uuid={group_uuid}"),
                ("CSV export of a collection (100 items)", f"/t/{TABLE}/p/{seg(message_pk)}.csv"),
                ("the app's view (`/cruddur`: 20 inboxes and their conversations; doctor not run on 100k items)",
                 "/cruddur?year=2024"),
                ("the app's view with doctor asked for (`?doctor=1`, reading 20,000 items)", "/cruddur?year=2024&doctor=1"),
            ]
            rows = []
            for name, page_path in pages:
                times = [get(base, page_path)[0] for _ in range(args.repeat)]
                rows.append([name, f"{statistics.median(times) * 1000:.0f}", f"{max(times) * 1000:.0f}"])
                print(f"{name}: median {rows[-1][1]} ms, worst {rows[-1][2]} ms", file=sys.stderr)
            if later:
                rows.insert(2, ["partitions, pages 2–10 by cursor", f"{statistics.median(later) * 1000:.0f}",
                                f"{max(later) * 1000:.0f}"])
        finally:
            server.close()
    table = markdown_table(["page", "median ms", "worst ms"], rows)
    print(table)
    if not args.no_doc:
        body = [f"## `cruddur web` (`python bench/web.py --items {args.items}`)", "",
                f"{today()}, {machine(bench)}, load average {os.getloadavg()[0]:.0f} (the machine was shared). {n:,} items: {shape['conversations']:,} conversations of "
                f"{shape['messages'] // max(1, shape['conversations'])} messages between {shape['users']} users, so "
                f"{shape['conversations']:,} MSG# partitions of ~98 items and {shape['users']} GRP# partitions of "
                f"~{2 * shape['conversations'] // shape['users']} group rows. Each page fetched {args.repeat} times over "
                "HTTP from the server running in-process (HTML unless the path says otherwise).", "", table, "",
                "A partition page is one key-only Scan from the page's cursor: it stops at 25 partitions or 2,500 keys "
                "read, whichever comes first, so its cost does not grow with the table. The app's view runs one "
                "inbox query and one COUNT query per user and one query per conversation; doctor's checks read the "
                "table's items (up to `max_items`, 20,000), so on a table bigger than that they run only when asked "
                "(`?doctor=1`)."]
        update_doc("web", "\n".join(body))


if __name__ == "__main__":
    main()
