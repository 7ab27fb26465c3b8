"""Fixtures of the web tests: the seeded app table plus one item of every hard type, and a server on loopback."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

TABLE = "cruddur-messages"
BIG = "12345678901234567890123456789012345678"  # 38 digits: more than a float holds
ODD_ITEM = {"pk": "ODD#types", "sk": "ITEM#1", "big": int(BIG), "tags": {"$ss": ["b", "a"]},
            "nums": {"$ns": [1, 2.5]}, "blob": {"$b64": "AAEC/w=="}, "nothing": None, "empty": "",
            "flag": True, "nested": {"a": [1, "x"]}}


@pytest.fixture
def seeded(messages_table, cli):
    """cruddur-messages after `ddb seed`, and ODD#types / ITEM#1 with a big number, sets, binary, NULL, ""."""
    cli("ddb", "seed", "-o", "json")
    cli("ddb", "put", TABLE, json.dumps(ODD_ITEM), "-o", "json")
    return messages_table


@pytest.fixture
def site(seeded):
    from cruddur_ops.settings import Settings
    from cruddur_ops.web.server import make_server

    server = make_server(Settings.from_env(), log=lambda line: None).start()
    try:
        yield server
    finally:
        server.close()


class Got:
    def __init__(self, status: int, headers, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self):
        return json.loads(self.body)


def fetch(base: str, path: str, *, method: str = "GET", data: bytes | None = None,
          headers: dict[str, str] | None = None) -> Got:
    request = urllib.request.Request(base.rstrip("/") + path, method=method, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Got(response.status, response.headers, response.read())
    except urllib.error.HTTPError as exc:
        return Got(exc.code, exc.headers, exc.read())
