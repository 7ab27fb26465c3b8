"""What the bench scripts share: a DynamoDB Local of their own, tables, generated seed files, measured
subprocesses, and the one place that writes ``docs/benchmarks.md``.

Every figure comes from an engine the bench starts itself (``cruddur_ops.local.dynamodb_local``, the code behind
``cruddur local up``) on a loopback port; no AWS account is ever touched.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cruddur_ops.local import dynamodb_local  # noqa: E402
from cruddur_ops.settings import Settings, default_data_dir  # noqa: E402

SCHEMA = ROOT / "cruddur_ops" / "data" / "schemas" / "cruddur-messages.yaml"
DOC = ROOT / "docs" / "benchmarks.md"
CRUDDUR = Path(sys.executable).with_name("cruddur")
MESSAGES_PER_CONVERSATION = 98  # + 2 group rows = 100 items a conversation
FILLER = "lorem ipsum dolor sit amet consectetur adipiscing elit sed"  # items of ~300 bytes


# --- the engine ----------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Bench:
    endpoint: str
    version: str
    in_memory: bool
    workdir: Path

    def env(self) -> dict[str, str]:
        """The environment for a ``cruddur`` child: this engine, a region, no real AWS, no PostgreSQL."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and k not in ("CONNECTION_URL", "DATABASE_URL", "PROD_CONNECTION_URL")}
        env.update(AWS_ENDPOINT_URL_DYNAMODB=self.endpoint, AWS_REGION="us-east-1",
                   CRUDDUR_HOME=str(self.workdir / "cruddur-home"))
        return env

    def client(self):
        return Settings.from_env(env=self.env()).dynamodb()


def engine_version(data_dir: Path) -> str:
    jar = dynamodb_local.install(data_dir)
    done = subprocess.run(["java", "-jar", str(jar), "-version"], capture_output=True, text=True, cwd=jar.parent,
                          timeout=60)
    return (done.stdout.strip().splitlines() or ["unknown"])[-1]


@contextlib.contextmanager
def engine(*, in_memory: bool = True) -> Iterator[Bench]:
    """A DynamoDB Local for this run only (in memory, or on a fresh data dir), stopped at the end (also on
    SIGTERM/SIGINT, which become SystemExit so the engine never outlives the bench)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    data_dir = default_data_dir(os.environ)  # where the jar is installed once per machine
    with tempfile.TemporaryDirectory(prefix="cruddur-bench-") as tmp:
        workdir = Path(tmp)
        version = engine_version(data_dir)
        started = dynamodb_local.start(data_dir, port=dynamodb_local.free_port(8900), in_memory=in_memory,
                                       db_path=None if in_memory else workdir / "dynamodb-data")
        try:
            yield Bench(started.endpoint, version, in_memory, workdir)
        finally:
            dynamodb_local.stop_pid(started.pid)


def create_table(client, name: str, *, stream: bool = False) -> None:
    """A table shaped like ``cruddur-messages`` (keys, the GSI, on-demand) under another name.

    Without its stream unless asked: DynamoDB Local keeps stream records in its own store, which makes every
    write several times slower and slows further as records pile up (dropping the table keeps them), so the
    figures would measure the engine's stream emulation rather than seeding.
    """
    from cruddur_ops.ddb import schema

    spec = schema.read([SCHEMA]).tables[0]
    request = {**spec.request, "TableName": name}
    if not stream:
        request.pop("StreamSpecification", None)
    spec = dataclasses.replace(spec, request=request)
    with contextlib.suppress(client.exceptions.ResourceNotFoundException):
        schema.drop(client, name)
    schema.load(client, [spec])


def drop_table(client, name: str) -> None:
    from cruddur_ops.ddb import schema

    with contextlib.suppress(client.exceptions.ResourceNotFoundException):
        schema.drop(client, name)


def count_items(client, name: str) -> int:
    total = 0
    for page in client.get_paginator("scan").paginate(TableName=name, Select="COUNT"):
        total += page["Count"]
    return total


# --- generated seed files -----------------------------------------------------------------------------------
def write_seed_file(path: Path, items: int) -> dict:
    """A seed file whose seed writes ``items`` items of about 300 bytes: conversations of 98 messages + 2 rows.

    Every conversation has a fixed ``start``, as a reproducible seed would.
    """
    conversations = max(1, round(items / (MESSAGES_PER_CONVERSATION + 2)))
    messages = items - 2 * conversations
    users = 2
    while users * (users - 1) // 2 < conversations:
        users += 1
    pairs = [(a, b) for a in range(users) for b in range(a + 1, users)][:conversations]
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    lines = ["users:"]
    lines += [f"  - {{handle: u{u:04d}, display_name: User Number {u:04d}}}" for u in range(users)]
    lines.append("conversations:")
    base, extra = divmod(messages, conversations)
    n = 0
    for c, (a, b) in enumerate(pairs):
        lines.append(f"  - between: [u{a:04d}, u{b:04d}]")
        lines.append(f"    start: {(start + dt.timedelta(hours=2 * c)).isoformat()}")
        lines.append("    messages:")
        for i in range(base + (1 if c < extra else 0)):
            sender = a if i % 2 == 0 else b
            lines.append(f'      - u{sender:04d}: "message {n:07d} {FILLER}"')
            n += 1
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"items": messages + 2 * conversations, "messages": messages, "conversations": conversations,
            "users": users, "bytes": path.stat().st_size}


def seed_items(path: Path) -> list[dict]:
    """The exact items ``cruddur ddb seed`` writes for ``path``, as DynamoDB attribute maps."""
    from cruddur_ops.ddb import seed
    from cruddur_ops.seeds import seedfile

    parsed = seedfile.read(path)
    users = {u.handle: u for u in parsed.users}
    return [{k: {"S": v} for k, v in item.items()} for item in seed.plan_items(seed.plan(parsed, users), users)]


def mean_item_bytes(items: list[dict]) -> float:
    return sum(len(k.encode()) + len(v["S"].encode()) for item in items for k, v in item.items()) / len(items)


def batch_parallel(client, table: str, items: list[dict], workers: int, capacity: str | None = None) -> float:
    """Prebuilt 25-item batches, ``workers`` calls at a time, UnprocessedItems resent at once."""
    batches = [items[i:i + 25] for i in range(0, len(items), 25)]
    extra = {"ReturnConsumedCapacity": capacity} if capacity else {}

    def send(batch):
        pending = {table: [{"PutRequest": {"Item": item}} for item in batch]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending, **extra).get("UnprocessedItems") or None

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(send, batches))
    return time.perf_counter() - started


# --- measured children ----------------------------------------------------------------------------------------
@dataclasses.dataclass
class Child:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_mb: float


def run_child(cmd: list[str], env: dict[str, str], stdout=subprocess.PIPE) -> Child:
    """Run ``cmd``: its wall time and its own peak RSS.

    The RSS comes from ``/usr/bin/time`` (GNU time reports the command it execs); ``wait4``'s figure for our own
    child would include the copy of this (large) bench process the child was before it exec'd.
    """
    timer = shutil.which("time", path="/usr/bin:/bin")
    marker = "__cruddur_bench_maxrss_kb="
    argv = [timer, "-f", marker + "%M", *cmd] if timer else cmd
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=stdout, stderr=subprocess.PIPE)
    # Drain the pipes on threads so the child never blocks, then reap it ourselves to read its rusage.
    chunks: dict[str, list[bytes]] = {"out": [], "err": []}

    def drain(stream, key):
        if stream is not None:
            for block in iter(lambda: stream.read(65536), b""):
                chunks[key].append(block)

    threads = [threading.Thread(target=drain, args=(proc.stdout, "out")),
               threading.Thread(target=drain, args=(proc.stderr, "err"))]
    for t in threads:
        t.start()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    for t in threads:
        t.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = b"".join(chunks["err"]).decode()
    rss_kb = usage.ru_maxrss
    if timer and marker in err:
        err, _, tail = err.rpartition(marker)
        rss_kb = int(tail.strip().splitlines()[0])
        err = re.sub(r"Command (exited with non-zero status \d+|terminated by signal \d+)\n$", "", err)
    return Child(proc.returncode, b"".join(chunks["out"]).decode(), err, seconds, rss_kb / 1024)


# --- the report ----------------------------------------------------------------------------------------------
def machine(bench: Bench | None = None) -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    parts = [f"{os.cpu_count()} CPUs ({cpu})", f"Python {platform.python_version()}",
             f"{platform.system()} {platform.release()}"]
    if bench:
        parts.append(f"DynamoDB Local {bench.version} ({'in memory' if bench.in_memory else 'on disk'}, "
                     f"Java {java_version()})")
    return ", ".join(parts)


def java_version() -> str:
    done = subprocess.run(["java", "-version"], capture_output=True, text=True)
    match = re.search(r'version "([^"]+)"', done.stderr)
    return match.group(1) if match else "unknown"


def markdown_table(header: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if i else "---" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


DOC_HEAD = """# Benchmarks

Produced by the scripts in `bench/` (`python bench/seed.py`, `python bench/scan.py`, `python bench/startup.py`),
each figure measured side by side in one run on the same machine against a DynamoDB Local the bench starts
itself. No timing is asserted in a test; rerun the scripts to refresh this page (each rewrites its own section).
"""


def update_doc(section: str, body: str, *, summary: str | None = None) -> None:
    """Replace the section between ``<!-- bench:NAME -->`` markers (append it the first time)."""
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else DOC_HEAD
    begin, end = f"<!-- bench:{section} -->", f"<!-- /bench:{section} -->"
    block = f"{begin}\n{body.strip()}\n{end}"
    if begin in text:
        text = re.sub(re.escape(begin) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    if summary is not None:
        line = f"<!-- bench:summary -->\n{summary.strip()}\n<!-- /bench:summary -->"
        if "<!-- bench:summary -->" in text:
            text = re.sub(r"<!-- bench:summary -->.*?<!-- /bench:summary -->", lambda _: line, text, flags=re.S)
        else:
            head, _, rest = text.partition("\n")
            text = f"{head}\n\n{line}\n{rest}"
    DOC.write_text(text, encoding="utf-8")


def today() -> str:
    return dt.date.today().isoformat()


def rm(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
