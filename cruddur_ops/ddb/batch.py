"""The one batch-writing engine: parallel ``batch_write_item`` for seed, import, copy, truncate and delete-items.

One retry budget, owned here. The engine is handed the caller's ordinary client (normal botocore retries, which
the caller keeps for its Query, Scan, DescribeTable and TransactWriteItems) and makes its own from it
(:func:`engine_client`: the same endpoint, region, credentials and settings, with ONE HTTP attempt per call and no
parameter validation), so the engine alone decides what to resend:

- ``UnprocessedItems`` and throttling errors (``ProvisionedThroughputExceededException``,
  ``ThrottlingException``, ``RequestLimitExceeded``, 500/503) are resent after a capped, full-jitter
  exponential backoff; the exponent grows only while a batch makes no progress.
- Under sustained throttling the engine slows to the rate the table accepts: additive increase,
  multiplicative decrease of an items-per-second pace shared by every worker (as botocore's adaptive mode
  does per client), never below one batch (25 items) a second: below that each batch's own backoff slows it.
  The pace is shown in the progress bar.
- It never gives up while the table makes progress: it stops only when *nothing* has been accepted for
  ``give_up_after`` seconds (default 60), and then says how many of how many items are written.
- ``rate`` caps write units per second (a token bucket; a put costs 1 unit per started KB in the table and
  in every index the item lands in, a delete 1 unit).
- ``stop()`` (Ctrl-C, SIGTERM) ends every worker at its next call: in-flight calls finish and are counted.

Writes are puts and deletes by key, so running the same write again completes an interrupted one.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from cruddur_ops.ddb.capacity import Capacity
from cruddur_ops.errors import ServiceError

BATCH = 25  # BatchWriteItem's limit
RETRYABLE = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
             "InternalServerError", "ServiceUnavailable", "InternalFailure"}
GIVE_UP_AFTER = 60.0
MIN_RATE = 25.0  # the pace never drops below one batch a second; below that each batch's own backoff slows it
HTTP_ATTEMPTS = 1  # botocore attempts per call on the engine's client: the engine owns every retry


class IncompleteWrite(ServiceError):
    """Nothing was accepted for ``give_up_after`` seconds (or ``max_attempts`` in a row); ``written`` made it."""

    def __init__(self, written: int, pending: int, attempts: int, total: int | None = None, *,
                 seconds: float | None = None, what: str = "items written", rerun: str = "run the same command again"):
        of = f" of {total:,}" if total is not None else ""
        why = (f"DynamoDB accepted nothing for {seconds:g} s" if seconds is not None
               else f"DynamoDB kept throttling ({attempts} attempts without progress)")
        super().__init__(f"{why}: {written:,}{of} {what}; {rerun} to complete the rest "
                         "(writes are idempotent by key)")
        self.written, self.pending, self.attempts, self.total = written, pending, attempts, total
        self.seconds, self.what, self.rerun = seconds, what, rerun

    def with_total(self, total: int, **kw) -> IncompleteWrite:
        args = {"seconds": self.seconds, "what": self.what, "rerun": self.rerun, **kw}
        return IncompleteWrite(self.written, self.pending, self.attempts, total, **args)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during a long command, with what was done before the workers stopped."""

    def __init__(self, signum: int = 2, *, done: int | None = None, total: int | None = None):
        super().__init__(signum)
        self.signum, self.done, self.total = signum, done, total

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


@dataclass
class WriteStats:
    written: int = 0
    deleted: int = 0
    retries: int = 0
    throttled: int = 0  # calls that came back throttled or with UnprocessedItems
    capacity: Capacity = field(default_factory=lambda: Capacity("write"))
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def done(self) -> int:
        return self.written + self.deleted


class Pace:
    """Items per second the table accepts (AIMD), and the optional write-unit cap (``--rate``).

    Both are token buckets that may go into debt: a worker waits until its bucket is out of debt, sends,
    and pays afterwards for what was accepted (AIMD) or before for what it sends (the cap).
    """

    def __init__(self, *, rate: float | None = None, min_rate: float = 1.0, clock=time.monotonic):
        self.cap = rate
        self.cap_tokens = float(rate or 0)
        self.rate: float | None = None  # None: not throttled yet, full speed
        self.tokens = 0.0
        self.min_rate = min_rate
        self.clock = clock
        self.lock = threading.Lock()
        self.stamp = self.cap_stamp = clock()
        self.last_cut = float("-inf")
        self.window: list[tuple[float, int]] = []  # (when, accepted) over the last second

    def wait_time(self, units: float) -> float:
        """Seconds to wait before sending ``units`` write units (0 means go); reserves them when 0."""
        with self.lock:
            now = self.clock()
            wait_for = 0.0
            if self.rate is not None:
                self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
                self.stamp = now
                if self.tokens < 0:
                    wait_for = -self.tokens / self.rate
            if self.cap:
                self.cap_tokens = min(self.cap, self.cap_tokens + (now - self.cap_stamp) * self.cap)
                self.cap_stamp = now
                need = min(units, self.cap)  # a batch bigger than one second's worth goes when the bucket is full
                if self.cap_tokens < need:
                    wait_for = max(wait_for, (need - self.cap_tokens) / self.cap)
                elif wait_for == 0:
                    self.cap_tokens -= units
            return wait_for

    def accepted(self, items: int, clean: bool) -> None:
        with self.lock:
            now = self.clock()
            self.window = [(t, n) for t, n in self.window if now - t < 1.0] + [(now, items)]
            if self.rate is not None:
                self.tokens -= items
                if clean:
                    self.rate += BATCH  # additive increase: one batch a second more per clean call
            if not clean:
                self._cut(now)

    def throttled(self) -> None:
        with self.lock:
            self._cut(self.clock())

    def _cut(self, now: float) -> None:
        if now - self.last_cut < 0.5:  # one decrease per half second, however many workers saw it
            return
        self.last_cut = now
        if self.rate is None:
            observed = sum(n for t, n in self.window if now - t < 1.0)
            self.rate = max(self.min_rate, observed / 2)
            self.tokens = 0.0
            self.stamp = now
        else:
            self.rate = max(self.min_rate, self.rate / 2)

    def describe(self) -> str:
        rate = self.rate
        return "" if rate is None else f"{rate:,.0f} items/s (throttled)"


KeyFn = Callable[[dict], tuple]


def key_function(key_names: Sequence[str]) -> KeyFn:
    """The key of a put or delete request, for keeping two writes of one key out of one batch (as DynamoDB
    compares keys: ``{"N": "3"}`` and ``{"N": "3.0"}`` are one)."""
    from cruddur_ops.ddb.limits import key_of

    names = tuple(key_names)

    def key(request: dict) -> tuple:
        body = request.get("PutRequest", {}).get("Item") or request.get("DeleteRequest", {}).get("Key")
        return key_of(body, names)

    return key


def engine_client(client):
    """The engine's own client, made from the caller's: the same endpoint, region, credentials (the same
    credential provider, so temporary credentials keep refreshing) and configuration, but ONE HTTP attempt per
    call (``total_max_attempts=1``) and no parameter validation (the engine builds its requests; it saves ~0.7 s of
    CPU per 20,000 items). It can only be made from a client the caller holds: it writes where that one writes.
    Anything that is not a botocore client (a test's fake) is used as it is."""
    import botocore.session
    from botocore.client import BaseClient
    from botocore.config import Config

    if not isinstance(client, BaseClient):
        return client
    meta = client.meta

    config = meta.config.merge(Config(retries={"mode": "standard", "total_max_attempts": HTTP_ATTEMPTS},
                                      parameter_validation=False))
    session = botocore.session.get_session()
    # botocore has no public way to hand a credential provider to a new client: its own accessor is private
    credentials = client._request_signer._credentials
    session._credentials = credentials
    own = session.create_client(meta.service_model.service_name, region_name=meta.region_name,
                                endpoint_url=meta.endpoint_url, config=config)
    own._request_signer._credentials = credentials  # signed exactly as the caller's (also without credentials)
    return own


class BatchWriter:
    """Parallel ``batch_write_item`` with one retry budget (see the module's docstring).

    ``capacity=False`` stops asking for ReturnConsumedCapacity: free on AWS, but DynamoDB Local does about
    25 % more work per write to answer it (docs/benchmarks.md), so a caller that does not report capacity
    can skip it. ``units(request)`` gives a request's write units for ``rate``.
    """

    def __init__(self, client, table: str, *, workers: int = 8, max_attempts: int | None = None,
                 base_delay: float = 0.05, max_delay: float = 2.0, on_progress: Callable[[int], None] | None = None,
                 sleep=time.sleep, capacity: bool = True, give_up_after: float = GIVE_UP_AFTER,
                 rate: float | None = None, units: Callable[[dict], float] | None = None,
                 key_names: Sequence[str] = ("pk", "sk"), clock=time.monotonic,
                 on_pace: Callable[[str], None] | None = None, min_rate: float = MIN_RATE):
        self.client, self.table, self.workers = engine_client(client), table, workers
        self.extra = {"ReturnConsumedCapacity": "INDEXES"} if capacity else {}
        self.capacity = capacity
        self.max_attempts, self.base_delay, self.max_delay = max_attempts, base_delay, max_delay
        self.on_progress = on_progress or (lambda n: None)
        self.on_pace = on_pace or (lambda text: None)
        self.sleep, self.clock = sleep, clock
        self.give_up_after = give_up_after
        self.units = units or (lambda request: 1.0)
        self.pace = Pace(rate=rate, clock=clock, min_rate=min_rate)
        self.key = key_function(key_names)
        self.stats = WriteStats()
        self.stopping = threading.Event()
        self.last_progress = self.paced_until = clock()

    def stop(self) -> None:
        self.stopping.set()

    def _backoff(self, attempt: int) -> None:
        self.sleep(random.uniform(0, min(self.max_delay, self.base_delay * 2 ** attempt)))  # full jitter

    def _wait_for_pace(self, units: float) -> bool:
        waited = False
        while not self.stopping.is_set():
            delay = self.pace.wait_time(units)
            if delay <= 0:
                if waited:  # time spent holding back is not time the table refused us
                    self.paced_until = self.clock()
                return True
            waited = True
            self.sleep(min(delay, 0.25))
        return False

    def _give_up(self, pending: int, attempts: int) -> None:
        idle = self.clock() - max(self.last_progress, self.paced_until)
        if idle >= self.give_up_after:
            raise IncompleteWrite(self.stats.done, pending, attempts, seconds=self.give_up_after)
        if self.max_attempts is not None and attempts >= self.max_attempts:
            raise IncompleteWrite(self.stats.done, pending, attempts)

    def _send(self, requests: list[dict]) -> None:
        pending = requests
        stuck = 0  # calls in a row that accepted nothing
        while pending:
            if not self._wait_for_pace(sum(self.units(r) for r in pending) if self.pace.cap else 0):
                return  # stopped: what is pending stays unwritten, a rerun writes it
            try:
                response = self.client.batch_write_item(RequestItems={self.table: pending}, **self.extra)
            except Exception as exc:  # botocore ClientError: one HTTP attempt, the engine decides
                code = (getattr(exc, "response", None) or {}).get("Error", {}).get("Code")
                if code not in RETRYABLE:
                    raise
                with self.stats.lock:
                    self.stats.retries += 1
                    self.stats.throttled += 1
                self.pace.throttled()
                self.on_pace(self.pace.describe())
                stuck += 1
                self._give_up(len(pending), stuck)
                self._backoff(stuck - 1)
                continue
            left = (response.get("UnprocessedItems") or {}).get(self.table, [])
            done = len(pending) - len(left)
            puts = sum(1 for r in pending if "PutRequest" in r) - sum(1 for r in left if "PutRequest" in r)
            with self.stats.lock:
                self.stats.capacity.add(response.get("ConsumedCapacity"))
                self.stats.capacity.requests += 1
                self.stats.written += puts
                self.stats.deleted += done - puts
                if left:
                    self.stats.retries += 1
                    self.stats.throttled += 1
            if done:
                self.last_progress = self.clock()
                self.on_progress(done)
            self.pace.accepted(done, clean=not left)
            if left:
                self.on_pace(self.pace.describe())
            pending = left
            if not left:
                return
            stuck = 0 if done else stuck + 1
            if not done:
                self._give_up(len(pending), stuck)
            self._backoff(stuck)

    def write(self, requests: Iterable[dict]) -> WriteStats:
        """Send ``{"PutRequest": …}`` / ``{"DeleteRequest": …}`` entries, 25 a call, ``workers`` calls at once.

        At most ``2 × workers`` batches are held in memory, so a generator of any length streams through.
        When one batch gives up, no new batch starts; the ones already sending finish, and the
        ``IncompleteWrite`` raised counts every item written, theirs included. On KeyboardInterrupt (and
        :class:`Interrupted`) the workers stop at their next call and :class:`Interrupted` is raised with the
        count of items written.
        """
        self.last_progress = self.paced_until = self.clock()
        interrupted: BaseException | None = None
        try:
            with ThreadPoolExecutor(self.workers, thread_name_prefix="batch") as pool:
                in_flight: set = set()
                try:
                    for batch in _chunks(requests, BATCH, self.key):
                        if len(in_flight) >= 2 * self.workers:
                            done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                            for future in done:
                                future.result()
                        if self.stopping.is_set():
                            break
                        in_flight.add(pool.submit(self._send, batch))
                    while in_flight:
                        done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                        for future in done:
                            future.result()
                except BaseException as exc:
                    self.stop()
                    for future in in_flight:
                        future.cancel()
                    if isinstance(exc, KeyboardInterrupt):
                        interrupted = exc
                    else:
                        raise
        except IncompleteWrite as exc:  # the pool has drained: now the count is final
            raise IncompleteWrite(self.stats.done, exc.pending, exc.attempts, seconds=exc.seconds) from None
        if interrupted is not None:
            signum = getattr(interrupted, "signum", 2)
            raise Interrupted(signum, done=self.stats.done)
        return self.stats


def _chunks(requests: Iterable[dict], size: int, key: KeyFn) -> Iterator[list[dict]]:
    batch: list[dict] = []
    keys: set = set()
    for request in requests:
        # one batch may not hold the same key twice: start a new one instead
        k = key(request)
        if len(batch) == size or k in keys:
            yield batch
            batch, keys = [], set()
        batch.append(request)
        keys.add(k)
    if batch:
        yield batch
