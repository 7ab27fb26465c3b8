"""`cruddur web` as a user runs it: the URL is the first line on stdout, it listens on loopback only, writes are
refused, and SIGTERM stops it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import no_result
from tests.web.conftest import fetch

CRUDDUR = Path(sys.executable).with_name("cruddur")


def _listening(pid: int, port: int) -> list[str]:
    """The local addresses (hex, as /proc shows them) the process listens on at ``port``."""
    found = []
    for name in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{name}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, state = fields[1], fields[3]
            if state == "0A" and int(address.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                found.append(address.rsplit(":", 1)[0])
    return found


def test_cruddur_web_prints_its_url_first_listens_on_loopback_and_refuses_writes(ddb, tmp_path):
    env = dict(os.environ)
    child = subprocess.Popen([str(CRUDDUR), "web"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env)
    try:
        first = child.stdout.readline().strip()  # the server is bound before this line is written
        assert first.startswith("http://127.0.0.1:") and first.endswith("/")
        port = int(first.rsplit(":", 1)[1].rstrip("/"))
        assert _listening(child.pid, port) == ["0100007F"]  # 127.0.0.1, and nothing else
        home = fetch(first, "/.json")
        assert home.status == 200 and home.json() == {"tables": [], "count": 0}
        refused = fetch(first, "/", method="POST", data=b"a=1")
        assert refused.status == 405 and refused.headers["Allow"] == "GET, HEAD"
    finally:
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    assert out == ""  # the URL was the only line
    assert "read-only" in err and "beyond loopback" not in err


def test_a_busy_port_is_one_line(ddb):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([str(CRUDDUR), "web", "--port", str(port)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert no_result(done.stdout)
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_the_web_package_is_imported_only_when_cruddur_web_runs():
    probe = ("import sys\nfrom cruddur_ops.cli.app import app\n"
             "try:\n    app(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
             "print(sorted(m for m in sys.modules if m.startswith(('cruddur_ops.web', 'http.server', 'playwright'))))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_a_host_beyond_loopback_is_warned_about_before_binding():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:9", AWS_REGION="us-east-1")
    done = subprocess.run([str(CRUDDUR), "web", "--host", "web.invalid"], capture_output=True, text=True, timeout=60,
                          env=env)
    assert "listening on web.invalid, beyond loopback" in done.stderr
    assert done.returncode == 1 and "cannot listen on web.invalid:0" in done.stderr and no_result(done.stdout)


def test_on_production_every_page_says_read_only_and_writes_are_refused():
    from cruddur_ops.settings import Settings
    from cruddur_ops.web.server import Web
    from cruddur_ops.web.templates import Html
    from cruddur_ops.web.views import App

    settings = Settings.from_env(env={"AWS_ENDPOINT_URL_DYNAMODB": "https://dynamodb.invalid", "AWS_REGION": "us-east-1"})
    web = Web(App(settings, table="cruddur-messages"))
    html = web.html("t", "t", Html("<p>x</p>"), [], "/")
    assert "PRODUCTION target (https://dynamodb.invalid): read-only" in html
    refused = web.respond("DELETE", "/t/cruddur-messages/item.json?pk=a")
    assert refused.status == 405 and b"a production target" in refused.body
