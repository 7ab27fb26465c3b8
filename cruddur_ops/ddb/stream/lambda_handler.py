"""The message-group stream processor as an AWS Lambda handler: ``cruddur_ops.stream.handler`` (a shim for this).

Deploy it as the function behind the DynamoDB stream of ``cruddur-messages`` (see docs/stream.md). It applies
every record of the batch in order with :func:`cruddur_ops.ddb.stream.apply.apply_records`, the same code as
``cruddur ddb stream process`` and pattern D.

Environment:

* ``DDB_MESSAGE_TABLE`` — the table whose group rows move (default ``cruddur-messages``; the app's variable);
* ``AWS_REGION`` (set by Lambda), and optionally ``AWS_ENDPOINT_URL_DYNAMODB`` to aim it at DynamoDB Local;
* ``LOG_LEVEL`` — ``INFO`` (default) logs one JSON summary line per batch.

The handler imports only boto3 (in the Lambda runtime) and this package's DynamoDB modules — no typer, rich,
psycopg or yaml — so the deployment package needs no dependencies.

On success it returns ``{"batchItemFailures": [], "summary": {…}}``: an empty failure list is what a mapping
with ``ReportBatchItemFailures`` expects, and Lambda ignores the return value otherwise. On an error (other than
a lost race, which is handled) it raises, so Lambda retries the whole batch; that is safe because applying a
record twice changes nothing the second time.
"""

from __future__ import annotations

import json
import logging

from cruddur_ops.ddb.model import TABLE
from cruddur_ops.ddb.stream.apply import apply_records
from cruddur_ops.settings import MESSAGE_TABLE_ENV, Action, Settings

TABLE_ENV = MESSAGE_TABLE_ENV  # "DDB_MESSAGE_TABLE"

log = logging.getLogger("cruddur_ops.stream")
_clients: dict[tuple, object] = {}  # reused across warm invocations, one per endpoint and region


def _client(settings: Settings, table: str):
    """The write client for the table. The function deployed on AWS acts on production by design (deploying it
    is the --prod), so its settings carry ``prod``; the guard still refuses an ambiguous endpoint."""
    key = (settings.endpoint_for("dynamodb"), settings.region, settings.profile, table)
    if key not in _clients:
        _clients[key] = settings.dynamodb(write=Action("move group rows in", table))
    return _clients[key]


def handler(event: dict, context=None) -> dict:
    """Apply a DynamoDB stream batch: move both group rows of each new message's conversation to it."""
    settings = Settings.from_env(prod=True)
    log.setLevel(settings.log_level)
    table = settings.message_table or TABLE
    records = (event or {}).get("Records") or []
    summary = apply_records(_client(settings, table), records, table=table)
    doc = summary.to_dict()
    log.info(json.dumps({"table": table, **{k: v for k, v in doc.items() if k != "changes"}}))
    for change in summary.changes:
        log.debug(json.dumps(change.to_dict(), ensure_ascii=False))
    return {"batchItemFailures": [], "summary": doc}
