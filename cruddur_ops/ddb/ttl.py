"""TTL that works locally: delete what DynamoDB's TTL would have deleted (DynamoDB Local never does).

:func:`sweep` reads the table's TTL attribute from DescribeTimeToLive and deletes every item whose value is a
number of seconds since the epoch before now, and not more than five years before (DynamoDB leaves those alone),
through the batch engine. :func:`sweep_forever` repeats it for every table with TTL on, every ``every`` seconds,
until ``stop`` is set; ``cruddur local up --ttl-sweep`` runs it in a background process
(``python -m cruddur_ops.ddb.ttl ENDPOINT SECONDS``) that ``cruddur local down`` stops, and that ends by itself
when the endpoint stops answering.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cruddur_ops.errors import ConflictError

FIVE_YEARS = 5 * 365 * 86400
PID_FILE = "ttl-sweep.pid"


@dataclass
class SweepResult:
    table: str
    attribute: str
    expired: int
    deleted: int
    scanned: int
    now: int
    dry_run: bool = False

    def to_dict(self) -> dict:
        return {"table": self.table, "attribute": self.attribute, "expired": self.expired, "deleted": self.deleted,
                "scanned": self.scanned, "now": self.now, "dry_run": self.dry_run}


def expired_keys(client, table: str, attribute: str, now: int, *, segments: int = 4) -> tuple[list[dict], int]:
    """(the keys of the expired items, items scanned): a parallel scan filtered to numbers in (now − 5 y, now)."""
    from cruddur_ops.ddb.scan import _segment_pages  # one page loop for the segments

    description = client.describe_table(TableName=table)["Table"]
    key_names = [k["AttributeName"] for k in description["KeySchema"]]
    args = {"TableName": table, "FilterExpression": "#t BETWEEN :floor AND :now",
            "ProjectionExpression": ", ".join(f"#k{i}" for i in range(len(key_names))),
            "ExpressionAttributeNames": {"#t": attribute, **{f"#k{i}": n for i, n in enumerate(key_names)}},
            "ExpressionAttributeValues": {":floor": {"N": str(now - FIVE_YEARS)}, ":now": {"N": str(now - 1)}}}
    from cruddur_ops.ddb.capacity import Capacity

    capacity, lock = Capacity("read"), threading.Lock()
    keys: list[dict] = []

    def segment(n: int) -> None:
        for page in _segment_pages(client, args, n, segments, capacity, lock, lambda: None):
            with lock:
                keys.extend(page)

    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            segment(n)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(segments)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return keys, capacity.scanned


def sweep(client, table: str, *, now: float | None = None, dry_run: bool = False, segments: int = 4,
          on_progress: Callable[[int], None] | None = None) -> SweepResult:
    from cruddur_ops.ddb.batch import BatchWriter
    from cruddur_ops.ddb.validate import ttl_attribute

    attribute = ttl_attribute(client, table)
    if attribute is None:
        raise ConflictError(f"TTL is not enabled on {table}: there is nothing to sweep "
                            "(declare TimeToLiveSpecification in its schema, or call UpdateTimeToLive)")
    stamp = int(time.time() if now is None else now)
    keys, scanned = expired_keys(client, table, attribute, stamp, segments=segments)
    deleted = 0
    if keys and not dry_run:
        names = tuple(keys[0])
        writer = BatchWriter(client, table, capacity=False, on_progress=on_progress, key_names=names)
        deleted = writer.write({"DeleteRequest": {"Key": k}} for k in keys).deleted
    return SweepResult(table, attribute, len(keys), deleted, scanned, stamp, dry_run)


def sweep_all(client, *, now: float | None = None) -> list[SweepResult]:
    """One sweep of every table whose TTL is on."""
    from cruddur_ops.ddb.validate import ttl_attribute

    results = []
    for page in client.get_paginator("list_tables").paginate():
        for table in page["TableNames"]:
            if ttl_attribute(client, table):
                results.append(sweep(client, table, now=now))
    return results


def sweep_forever(client, *, every: float, stop: threading.Event, on_round: Callable[[list[SweepResult]], None] | None = None,
                  max_failures: int = 3) -> int:
    """Sweep every TTL table each ``every`` seconds until ``stop`` is set, or the endpoint fails
    ``max_failures`` rounds in a row (DynamoDB Local was stopped). Returns the rounds run."""
    from botocore.exceptions import BotoCoreError, ClientError

    rounds = failures = 0
    while not stop.is_set():
        try:
            results = sweep_all(client)
            failures = 0
            rounds += 1
            if on_round:
                on_round(results)
        except (BotoCoreError, ClientError):
            failures += 1
            if failures >= max_failures:
                break
        stop.wait(every)
    return rounds


def start_background(data_dir: Path, endpoint: str, every: float, env: dict[str, str]) -> int:
    """Start the sweeper as a process of its own (it outlives ``local up``); its pid goes to ``ttl-sweep.pid``."""
    import subprocess
    import sys

    data_dir.mkdir(parents=True, exist_ok=True)
    log = open(data_dir / "ttl-sweep.log", "ab")  # noqa: SIM115  (the child keeps it)
    proc = subprocess.Popen([sys.executable, "-m", "cruddur_ops.ddb.ttl", endpoint, str(every)], env=env,
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    (data_dir / PID_FILE).write_text(str(proc.pid))
    return proc.pid


def stop_background(data_dir: Path) -> bool:
    """Stop the sweeper ``start_background`` started (by its recorded pid)."""
    from cruddur_ops.local._proc import stop_pid

    path = data_dir / PID_FILE
    if not path.exists():
        return False
    try:
        pid = int(path.read_text().strip())
    except ValueError:
        pid = 0
    path.unlink(missing_ok=True)
    return bool(pid) and stop_pid(pid)


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - runs as its own process
    import signal
    import sys

    from cruddur_ops.settings import Settings

    endpoint, every = (argv or sys.argv[1:])[:2]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    client = Settings.from_env(endpoint_url=endpoint).dynamodb()

    def report(results: list[SweepResult]) -> None:
        for r in results:
            if r.deleted:
                print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {r.table}: {r.deleted} expired item(s) deleted", flush=True)

    sweep_forever(client, every=float(every), stop=stop, on_round=report)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
