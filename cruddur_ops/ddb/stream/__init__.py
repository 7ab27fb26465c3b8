"""The message-group stream processor: move both group rows of a conversation to its newest message.

In the app a DynamoDB stream on ``cruddur-messages`` sends every write to a function. For each INSERT of a
message item (``pk = MSG#<group>``) the two group rows of that conversation (``pk = GRP#<user>``, ``sk`` = the
time of the last message) must move to the new message. ``sk`` is part of the key, so a move is a delete and a
put; here both happen in one ``transact_write_items``, conditioned so that an older message never moves a row
backwards, even with several processors at once:

* a row is moved only when its ``sk`` is older than the message's ``created_at``;
* the delete of the old row requires it to still be there, as the row of this group
  (``attribute_exists(pk) AND message_group_uuid = :group``, on the key ``pk``/``sk = old sk``);
* the put of the new row requires its key to be free (``attribute_not_exists(pk)``), so it never overwrites
  another conversation's row that happens to share the timestamp.

When another processor moved the row first, the delete's condition fails and the whole transaction is cancelled
— nothing is written. The row is then read again (a consistent read of the user's rows from the old ``sk`` on)
and the comparison is repeated: a row that is already at this message or a newer one is left where it is.
Rows only ever move forward, so the result does not depend on the order in which processors finish.

The same code serves the Lambda handler (``cruddur_ops.stream``), ``cruddur ddb stream process`` (which reads
the stream with GetRecords, :func:`process_stream`) and pattern D (``cruddur ddb pattern create-message``).
Records come in either shape — Lambda's ``event["Records"]`` or GetRecords' ``Records`` — both carry
``eventName`` and ``dynamodb.NewImage`` in typed attribute values.

The package: :mod:`.apply` (row moves, batches of records), :mod:`.reader` (the shard reader),
:mod:`.checkpoints` (the checkpoint file), :mod:`.lambda_handler` (the Lambda entry point).
"""

from cruddur_ops.ddb.stream.apply import (
                                          MAX_ATTEMPTS,
                                          MAX_KEPT_CHANGES,
                                          SKIP_REASONS,
                                          Change,
                                          Move,
                                          Summary,
                                          apply_message,
                                          apply_records,
                                          classify,
                                          group_rows,
                                          move_row,
)
from cruddur_ops.ddb.stream.checkpoints import Checkpoints
from cruddur_ops.ddb.stream.reader import (
                                          SHARD_REFRESH_SECONDS,
                                          StreamRun,
                                          describe_stream,
                                          process_stream,
                                          stream_arn,
                                          stream_status,
)

__all__ = [
    "MAX_ATTEMPTS", "MAX_KEPT_CHANGES", "SHARD_REFRESH_SECONDS", "SKIP_REASONS", "Change", "Checkpoints", "Move",
    "StreamRun", "Summary", "apply_message", "apply_records", "classify", "describe_stream", "group_rows",
    "move_row", "process_stream", "stream_arn", "stream_status",
]
