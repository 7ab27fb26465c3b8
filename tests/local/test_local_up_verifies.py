"""`local up` verifies what it started (issue 19): the engine answers on its port AND its own pid holds the
listening socket, before anything is printed or recorded. A port taken between the probe and the start (made
deterministic here: the squatter binds inside the start, after the port was found free) is retried on another
port; the squatter is never exported."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cruddur_ops.local import _proc, dynamodb_local

pytestmark = pytest.mark.integration


class Squatter(BaseHTTPRequestHandler):
    def do_GET(self):  # answers like DynamoDB Local does to a bare GET
        self.send_response(400)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *args):
        pass


def test_a_port_taken_between_probe_and_start_is_retried_and_never_exported(home, cli, monkeypatch):
    port = dynamodb_local.free_port(8930)
    servers: list[ThreadingHTTPServer] = []
    real = dynamodb_local.can_bind_loopback

    def squat_then_check(java):  # runs after the port was probed free, before the engine is started
        if not servers:
            server = ThreadingHTTPServer(("127.0.0.1", port), Squatter)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            servers.append(server)
        return real(java)

    monkeypatch.setattr(dynamodb_local, "can_bind_loopback", squat_then_check)
    monkeypatch.setattr(dynamodb_local, "free_port", lambda start, data_dir=None: port if start <= port
                        else _proc.free_port(start, data_dir))
    try:
        up = cli("local", "up", "--in-memory", "--postgres", "off")
        engine = dynamodb_local.running(home)
        assert servers, "the squatter should have taken the port"
        assert engine is not None and engine.port != port
        assert up.stdout.strip() == f"export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:{engine.port}"
        assert _proc.listener_is(engine.pid, engine.port) and not _proc.listener_is(engine.pid, port)
        assert f":{port}" not in cli("local", "env").stdout
    finally:
        cli("local", "down")
        for server in servers:
            server.shutdown()
            server.server_close()


def test_a_port_taken_on_an_explicit_port_is_one_line_with_the_logs_cause(home, cli, monkeypatch):
    port = dynamodb_local.free_port(8960)
    servers: list[ThreadingHTTPServer] = []
    real = dynamodb_local.can_bind_loopback

    def squat_then_check(java):
        server = ThreadingHTTPServer(("127.0.0.1", port), Squatter)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return real(java)

    monkeypatch.setattr(dynamodb_local, "can_bind_loopback", squat_then_check)
    try:
        result = cli("local", "up", "--port", str(port), "--in-memory", "--postgres", "off", ok=False)
        assert result.exit_code == 8
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and f"could not listen on port {port}: it was taken meanwhile" in errors[0]
        assert "Address already in use" in errors[0] or "BindException" in errors[0]
        assert "export" not in result.stdout and dynamodb_local.running(home) is None
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
