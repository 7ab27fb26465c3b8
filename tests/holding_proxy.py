"""A loopback HTTP proxy in front of DynamoDB Local that makes the work wait for the test.

The first ``passes`` requests of one operation (``X-Amz-Target`` ending in ``target``, e.g. ``BatchWriteItem``) go
through; every later one is held until the test calls :meth:`HoldingProxy.release` (forward it) or
:meth:`HoldingProxy.cut` (the engine "died": held requests get their connection closed without an answer and the
port stops listening). A test waits with :meth:`wait_held` until the work is blocked, does what it must do mid-work
(a signal, killing the engine), then lets the work go on: no sleep, no race with the work finishing first.
"""

from __future__ import annotations

import http.client
import signal
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class HoldingProxy:
    def __init__(self, upstream: str, target: str, passes: int):
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.target, self.passes = target, passes
        self.seen = 0  # requests of `target` so far
        self.held = 0  # requests of `target` waiting now
        self.gate = threading.Event()
        self.cut_off = False
        self.changed = threading.Condition()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("X-Amz-Target", "").endswith("." + proxy.target) and not proxy._pass():
                    self.close_connection = True
                    # closed without an answer, as a dying engine does: RST, not a clean FIN
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                upstream = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                try:
                    upstream.request("POST", self.path, body, dict(self.headers.items()))
                    answer = upstream.getresponse()
                    data = answer.read()
                except OSError:
                    self.close_connection = True
                    return
                finally:
                    upstream.close()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):  # a client that left (interrupted): not news
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True, name="holding-proxy")
        self.thread.start()

    def _pass(self) -> bool:
        """Count one request of the held operation; block it while the gate is shut. True: forward it."""
        with self.changed:
            self.seen += 1
            if self.seen <= self.passes:
                return True
            self.held += 1
            self.changed.notify_all()
        self.gate.wait()
        with self.changed:
            self.held -= 1
            return not self.cut_off

    def wait_held(self, n: int = 1, timeout: float = 60) -> None:
        """Wait until ``n`` requests are held (the work is blocked mid-way)."""
        with self.changed:
            if not self.changed.wait_for(lambda: self.held >= n, timeout=timeout):
                raise AssertionError(f"the work never reached request {self.passes + 1} of {self.target} "
                                     f"({self.seen} seen)")

    def release(self) -> None:
        """Forward every held request and every later one."""
        self.gate.set()

    def cut(self) -> None:
        """The engine is gone: stop listening, then close every held request's connection unanswered."""
        self.close()
        self.cut_off = True
        self.gate.set()

    def close(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
            self.server.server_close()


def wait_delivered(pid: int, signum: int, timeout: float = 30) -> None:
    """Wait until ``signum`` sent to ``pid`` is no longer pending: the process's handler has taken it."""
    bit = 1 << (signum - 1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = open(f"/proc/{pid}/status").read()
        except FileNotFoundError:
            return  # gone: it took the signal
        pending = 0
        for line in status.splitlines():
            if line.startswith(("SigPnd:", "ShdPnd:")):
                pending |= int(line.split()[1], 16)
        if not pending & bit:
            return
        time.sleep(0.01)
    raise AssertionError(f"signal {signal.Signals(signum).name} still pending in pid {pid} after {timeout} s")

