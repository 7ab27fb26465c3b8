"""`cruddur web`: serve the tables, their item collections, queries, access patterns and the app's view on a
local page (cruddur_ops/web/)."""

import sys
from typing import Annotated, Optional

import typer

from cruddur_ops.cli import render
from cruddur_ops.cli.options import PriceFileOpt, prices, settings


def web(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on. Anything but loopback (127.0.0.1, ::1, localhost) exposes the page to the network: only when you ask.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port (0: a free one).")] = 0,
    open_: Annotated[bool, typer.Option("--open", help="Open the page in a browser.")] = False,
    table: Annotated[Optional[str], typer.Option("--table", "-t", help="The app's table, for /cruddur (default: DDB_MESSAGE_TABLE, else cruddur-messages).", show_default=False)] = None,
    price_file: PriceFileOpt = None,
) -> None:
    """Serve a read-only local page of the DynamoDB tables: item collections, items with their exact types,
    queries and access patterns with their cost, the app's inboxes with doctor's findings; every page has a
    JSON twin (.json). Prints the URL first; Ctrl-C stops it.

    Example: cruddur web --open
    """
    from cruddur_ops.targets import is_loopback_host
    from cruddur_ops.web.server import make_server

    s = settings(ctx)
    if not is_loopback_host(host):
        render.warn(f"listening on {host}, beyond loopback: anyone who can reach this machine can read the tables "
                    f"of {s.describe_endpoint('dynamodb')} through it")
    server = make_server(s, host=host, port=port, table=table, prices=prices(price_file))
    sys.stdout.write(server.url + "\n")
    sys.stdout.flush()
    render.note(f"serving {s.describe_endpoint('dynamodb')}, read-only"
                + (" (production)" if s.is_production("dynamodb") else "") + "; Ctrl-C stops")
    if open_:
        import webbrowser

        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the way to stop a server, not an error
        render.note("stopped")
    finally:
        server.httpd.server_close()
