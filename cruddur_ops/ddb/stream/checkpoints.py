"""Where ``cruddur ddb stream process`` read each shard up to: a JSON file, replaced atomically."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from cruddur_ops.errors import CruddurError
from cruddur_ops.io.timestamps import format_utc


def _now() -> str:
    return format_utc(datetime.now(UTC))


class Checkpoints:
    """Where each shard of each stream was read up to, in a JSON file, keyed by stream ARN.

    ```json
    {"version": 1, "streams": {"arn:aws:dynamodb:…/stream/2024-…": {"table": "cruddur-messages",
      "shards": {"shardId-…": {"sequence_number": "000…42", "done": false, "updated_at": "2024-…"}}}}}
    ```
    A recreated table has a new stream ARN and so starts afresh. Writes replace the file atomically.
    """

    VERSION = 1

    def __init__(self, path: Path):
        self.path = Path(path)
        self.doc = self._load()

    def _load(self) -> dict:
        try:
            doc = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {"version": self.VERSION, "streams": {}}
        except ValueError as exc:
            raise CruddurError(f"{self.path}: not a checkpoint file ({exc}); delete it to start over") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("streams"), dict):
            raise CruddurError(f"{self.path}: not a checkpoint file; delete it to start over")
        return doc

    def shards(self, arn: str) -> dict[str, dict]:
        return self.doc["streams"].get(arn, {}).get("shards", {})

    def get(self, arn: str, shard_id: str) -> dict:
        return self.shards(arn).get(shard_id, {})

    def _shard(self, arn: str, table: str, shard_id: str) -> dict:
        stream = self.doc["streams"].setdefault(arn, {"table": table, "shards": {}})
        return stream["shards"].setdefault(shard_id, {"sequence_number": None, "done": False})

    def advance(self, arn: str, table: str, shard_id: str, sequence_number: str) -> None:
        shard = self._shard(arn, table, shard_id)
        shard.update(sequence_number=sequence_number, updated_at=_now())

    def finish(self, arn: str, table: str, shard_id: str) -> None:
        shard = self._shard(arn, table, shard_id)
        shard.update(done=True, updated_at=_now())

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.doc, indent=2, sort_keys=True) + "\n", "utf-8")
        os.replace(tmp, self.path)
