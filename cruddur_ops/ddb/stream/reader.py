"""Reading a table's stream with GetRecords, shard by shard (parents first), from the checkpoints on."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cruddur_ops.ddb.stream.apply import Change, Summary, apply_records
from cruddur_ops.ddb.stream.checkpoints import Checkpoints
from cruddur_ops.errors import NotFoundError

SHARD_REFRESH_SECONDS = 30.0


def stream_arn(client, table: str) -> str:
    """The ARN of the table's current stream; an error that says how to enable it when there is none."""
    description = client.describe_table(TableName=table)["Table"]
    spec = description.get("StreamSpecification") or {}
    arn = description.get("LatestStreamArn")
    if not spec.get("StreamEnabled") or not arn:
        raise NotFoundError(
            f"table {table} has no stream enabled; enable it with StreamSpecification "
            "{StreamEnabled: true, StreamViewType: NEW_IMAGE} in its schema (or `aws dynamodb update-table "
            f"--table-name {table} --stream-specification StreamEnabled=true,StreamViewType=NEW_IMAGE`)")
    return arn


def describe_stream(streams, arn: str) -> dict:
    """The stream's status, view type and every shard (all pages of DescribeStream)."""
    args, shards, description = {"StreamArn": arn}, [], {}
    while True:
        description = streams.describe_stream(**args)["StreamDescription"]
        shards.extend(description.get("Shards", []))
        last = description.get("LastEvaluatedShardId")
        if not last:
            break
        args["ExclusiveStartShardId"] = last
    return {"arn": arn, "status": description.get("StreamStatus"), "view_type": description.get("StreamViewType"),
            "table": description.get("TableName"), "shards": shards}


@dataclass
class StreamRun:
    """The summary of reading a stream, with where it was read from."""

    arn: str
    table: str
    shards: int = 0
    interrupted: bool = False
    summary: Summary = field(default_factory=Summary)

    def to_dict(self) -> dict:
        return {"table": self.table, "stream_arn": self.arn, "shards": self.shards,
                "interrupted": self.interrupted, **self.summary.to_dict()}


def _error_code(exc: Exception) -> str | None:
    return (getattr(exc, "response", None) or {}).get("Error", {}).get("Code")


def process_stream(client, streams, table: str, checkpoints: Checkpoints, *, start: str = "trim-horizon",
                   follow: bool = False, poll_interval: float = 1.0, limit: int = 1000,
                   on_change: Callable[[Change], None] | None = None,
                   on_note: Callable[[str], None] | None = None,
                   should_stop: Callable[[StreamRun], bool] | None = None,
                   sleep: Callable[[float], None] | None = None) -> StreamRun:
    """Read every shard of ``table``'s stream from its checkpoint and apply the records; save checkpoints as it goes.

    A shard without a checkpoint starts at ``start`` (``trim-horizon``: the oldest record kept, 24 h;
    ``latest``: only what arrives from now on). Parent shards are read before their children, so the records
    of one item stay in order. Without ``follow`` it returns once every shard is caught up; with ``follow`` it
    polls until ``should_stop`` says so or the user presses Ctrl-C (KeyboardInterrupt), which ends the run
    cleanly: checkpoints saved, ``interrupted`` set (without ``follow`` too).
    """
    note = on_note or (lambda message: None)
    sleep = sleep or time.sleep
    arn = stream_arn(client, table)
    run = StreamRun(arn=arn, table=table)
    iterators: dict[str, str] = {}
    caught_up: set[str] = set()  # open shards that returned no records in this run (without --follow)
    first_type = {"trim-horizon": "TRIM_HORIZON", "latest": "LATEST"}[start]

    def iterator_for(shard_id: str) -> str:
        sequence = checkpoints.get(arn, shard_id).get("sequence_number")
        args = {"StreamArn": arn, "ShardId": shard_id}
        if sequence:
            args.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=sequence)
        else:
            args.update(ShardIteratorType=first_type)
        try:
            return streams.get_shard_iterator(**args)["ShardIterator"]
        except Exception as exc:  # botocore ClientError
            if _error_code(exc) != "TrimmedDataAccessException" or not sequence:
                raise
            note(f"{shard_id}: the checkpoint {sequence} is older than the stream keeps (24 h); reading from the oldest record")
            args.pop("SequenceNumber")
            args["ShardIteratorType"] = "TRIM_HORIZON"
            return streams.get_shard_iterator(**args)["ShardIterator"]

    def read_shard(shard: dict) -> bool:
        """One GetRecords call on the shard; True when it returned records."""
        shard_id = shard["ShardId"]
        iterator = iterators.get(shard_id) or iterator_for(shard_id)
        try:
            response = streams.get_records(ShardIterator=iterator, Limit=limit)
        except Exception as exc:  # botocore ClientError
            if _error_code(exc) != "ExpiredIteratorException":
                raise
            iterators.pop(shard_id, None)
            response = streams.get_records(ShardIterator=iterator_for(shard_id), Limit=limit)
        records = response.get("Records", [])

        def checkpoint(record: dict) -> None:
            checkpoints.advance(arn, table, shard_id, record["dynamodb"]["SequenceNumber"])

        if records:
            try:
                apply_records(client, records, table=table, on_change=on_change, on_record=checkpoint,
                              summary=run.summary)
            finally:
                checkpoints.save()  # up to the last record fully handled, even when one failed
        following = response.get("NextShardIterator")
        if following is None:  # a closed shard, read to its end
            checkpoints.finish(arn, table, shard_id)
            checkpoints.save()
            iterators.pop(shard_id, None)
        else:
            iterators[shard_id] = following
            closed = "EndingSequenceNumber" in shard.get("SequenceNumberRange", {})
            if not records and not closed:
                caught_up.add(shard_id)
        return bool(records)

    shards: list[dict] = []
    refresh_at = 0.0  # when to list the shards again (new shards appear as DynamoDB rotates them)
    try:
        while True:
            if not shards or time.monotonic() >= refresh_at:
                shards = describe_stream(streams, arn)["shards"]
                run.shards = len(shards)
                refresh_at = time.monotonic() + SHARD_REFRESH_SECONDS
            known = {s["ShardId"] for s in shards}
            saved = checkpoints.shards(arn)

            def done(shard_id: str, saved: dict[str, dict] = saved) -> bool:  # bound now, not at the next loop
                return saved.get(shard_id, {}).get("done", False)

            ready = [s for s in shards if not done(s["ShardId"])
                     and (s.get("ParentShardId") not in known or done(s["ParentShardId"]))]
            if not follow:
                ready = [s for s in ready if s["ShardId"] not in caught_up]
                if not ready:
                    break
            got_records = False
            for shard in ready:
                got_records = read_shard(shard) or got_records
                if checkpoints.get(arn, shard["ShardId"]).get("done"):
                    refresh_at = 0.0  # a shard closed: its children may be new
                if should_stop and should_stop(run):
                    return run
            if follow and not got_records:
                sleep(poll_interval)
                if should_stop and should_stop(run):
                    return run
    except KeyboardInterrupt:  # Ctrl-C: the records handled so far are checkpointed below
        run.interrupted = True
    finally:
        checkpoints.save()
    return run


def stream_status(client, streams, table: str, checkpoints: Checkpoints) -> dict:
    """The stream's ARN, view type and shards, each with its checkpoint."""
    arn = stream_arn(client, table)
    description = describe_stream(streams, arn)
    saved = checkpoints.shards(arn)
    shards = []
    for shard in description["shards"]:
        rng = shard.get("SequenceNumberRange", {})
        mark = saved.get(shard["ShardId"], {})
        shards.append({"shard_id": shard["ShardId"], "parent_shard_id": shard.get("ParentShardId"),
                       "open": "EndingSequenceNumber" not in rng,
                       "starting_sequence_number": rng.get("StartingSequenceNumber"),
                       "ending_sequence_number": rng.get("EndingSequenceNumber"),
                       "checkpoint": mark.get("sequence_number"), "done": bool(mark.get("done")),
                       "checkpoint_at": mark.get("updated_at")})
    return {"table": table, "stream_arn": arn, "status": description["status"], "view_type": description["view_type"],
            "checkpoint_file": str(checkpoints.path), "shards": shards,
            "other_streams_in_file": sorted(a for a in checkpoints.doc["streams"] if a != arn)}
