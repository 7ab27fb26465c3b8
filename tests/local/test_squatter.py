"""Whoever takes the private cluster's port while it is down never receives its password (issue 25)."""

import os
import socket
import struct
import threading

import pytest

from cruddur_ops.local import pgcluster
from cruddur_ops.local._proc import free_port
from tests.pg.fixtures import unavailable

pytestmark = pytest.mark.integration


class FakeServer:
    """A PostgreSQL impostor on 127.0.0.1: answers SSL/GSS requests with 'N', then asks for a clear-text password
    (AuthenticationCleartextPassword) and records every byte each client sends."""

    def __init__(self, port: int):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.received = bytearray()
        self.startups = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _read(self, conn, n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        self.received += data
        return data

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    while True:
                        (length,) = struct.unpack("!I", self._read(conn, 4))
                        body = self._read(conn, length - 4)
                        if struct.unpack("!I", body[:4])[0] in (80877103, 80877104):
                            conn.sendall(b"N")
                            continue
                        break
                    self.startups += 1
                    conn.sendall(b"R" + struct.pack("!II", 8, 3))  # AuthenticationCleartextPassword
                    while True:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        self.received += chunk
                except (EOFError, OSError, struct.error):
                    pass

    def close(self):
        self.sock.close()


@pytest.fixture
def pg_home(home):
    if pgcluster.find_binaries(os.environ) is None:
        unavailable("PostgreSQL binaries (initdb, postgres) are not installed: apt-get install -y postgresql")
    yield home
    pgcluster.wipe(home)


def test_a_squatter_on_the_clusters_port_never_receives_the_password(pg_home, cli, aws_env):
    port = free_port(5650)
    up = cli("local", "up", "--no-dynamodb", "--postgres", "private", "--pg-port", port)
    exported = dict(line.removeprefix("export ").split("=", 1) for line in up.stdout.splitlines()
                    if line.startswith(("export PGPASSFILE", "export CONNECTION_URL")))
    cli("local", "down")
    password = pgcluster.read_password(pg_home)
    assert password

    squatter = FakeServer(port)
    try:
        aws_env.setenv("CONNECTION_URL", exported["CONNECTION_URL"])
        aws_env.setenv("PGPASSFILE", exported["PGPASSFILE"])
        status = cli("db", "status", "--output", "json", ok=False)
        local_status = cli("local", "status", "--output", "json", ok=False)
        again = cli("local", "up", "--no-dynamodb", ok=False)  # CONNECTION_URL names the squatter's port
    finally:
        squatter.close()
    assert squatter.startups >= 2  # they did knock: the impostor asked each one for a clear-text password
    assert password.encode() not in bytes(squatter.received)
    assert b"p\x00" not in bytes(squatter.received)  # not even an (empty) PasswordMessage
    assert "cleartext" in status.stdout + status.stderr or "scram" in (status.stdout + status.stderr).lower()
    assert password not in local_status.stdout + again.stdout + again.stderr
    try:
        # `up` started the real cluster on another port and gave it a new password: the one offered is dead
        assert again.exit_code == 0, again.stderr
        assert pgcluster.read_password(pg_home) != password
        assert pgcluster.running(pg_home).port != port
    finally:
        cli("local", "down")


def test_a_state_file_whose_port_someone_else_holds_is_not_believed(pg_home, cli):
    port = free_port(5660)
    cli("local", "up", "--no-dynamodb", "--postgres", "private", "--pg-port", port)
    try:
        cluster = pgcluster.running(pg_home)
        assert cluster is not None
        forged = pgcluster.Cluster(**{**cluster.to_dict(), "port": free_port(5670)})
        squatter = FakeServer(forged.port)
        try:
            pgcluster.write_state(pg_home, forged)
            assert pgcluster.running(pg_home) is None  # the postmaster lives, but it does not hold that port
        finally:
            squatter.close()
            pgcluster.write_state(pg_home, cluster)
    finally:
        cli("local", "down")
