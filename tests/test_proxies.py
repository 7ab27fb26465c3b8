"""Proxies judged like endpoints (issue 25): a request to a loopback endpoint never goes through HTTP_PROXY /
HTTPS_PROXY, so a local write cannot be carried off the machine. The proxy here is a tiny recorder on 127.0.0.1."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cruddur_ops.settings import Settings
from tests.conftest import SCHEMA


@pytest.fixture
def proxy():
    seen: list[str] = []

    class Recorder(BaseHTTPRequestHandler):
        def _any(self):
            seen.append(f"{self.command} {self.path}")
            self.send_response(502)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = do_CONNECT = do_PUT = _any

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_a_local_write_never_reaches_the_proxy(proxy, ddb, ddb_env, aws_env, cli):
    url, seen = proxy
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        aws_env.setenv(name, url)
    aws_env.delenv("NO_PROXY", raising=False)
    aws_env.delenv("no_proxy", raising=False)
    loaded = cli("ddb", "schema-load", SCHEMA)
    assert "cruddur-messages" in loaded.stdout
    put = cli("ddb", "put", "cruddur-messages", '{"pk": "GRP#x", "sk": "2024-01-01", "message": "hi"}')
    assert put.exit_code == 0
    assert seen == []  # the proxy saw nothing: the writes went straight to the loopback engine
    assert "cruddur-messages" in Settings.from_env().dynamodb().list_tables()["TableNames"]


def test_the_control_a_client_without_the_rule_would_use_the_proxy(proxy, aws_env):
    """botocore, left to itself, routes a loopback endpoint through the environment's proxy."""
    import boto3

    url, seen = proxy
    aws_env.setenv("HTTP_PROXY", url)
    client = boto3.session.Session(region_name="us-east-1").client("dynamodb", endpoint_url="http://127.0.0.1:9")
    from botocore.exceptions import BotoCoreError, ClientError

    with pytest.raises((BotoCoreError, ClientError)):
        client.list_tables()
    assert seen and seen[0].startswith("POST http://127.0.0.1:9")
