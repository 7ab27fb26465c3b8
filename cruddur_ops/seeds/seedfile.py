"""The seed file: users and the conversations between them, validated with file, line and field in every error.

```yaml
users:                       # handle and display_name required; uuid and email optional
  - {handle: alice, display_name: Alice Ångström}
conversations:
  - between: [alice, bob]    # message_group_uuid and start optional
    start: 2024-02-28T23:50:00+00:00
    messages:
      - alice: hello
      - bob: hi
```
Both the DynamoDB seed and the PostgreSQL seed read it, so the users in both engines are the same people.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

from cruddur_ops.errors import SeedError
from cruddur_ops.io import yamlfile
from cruddur_ops.io.timestamps import parse as parse_timestamp
from cruddur_ops.model import MAX_ITEM_BYTES, User, group_uuid_for, user_uuid_for

USER_FIELDS = {"handle", "display_name", "uuid", "email", "cognito_user_id"}
CONVERSATION_FIELDS = {"message_group_uuid", "between", "start", "messages"}
TOP_FIELDS = {"users", "conversations", "activities"}


@dataclass(frozen=True)
class SeedUser(User):
    email: str = ""
    cognito_user_id: str | None = None


@dataclass
class Conversation:
    index: int
    group_uuid: str
    between: tuple[str, str]
    start: datetime | None
    messages: list[tuple[str, str]]  # (handle, text) in order


@dataclass
class SeedFile:
    path: Path
    users: list[SeedUser]
    conversations: list[Conversation]
    activities: list[dict] = field(default_factory=list)

    @property
    def message_count(self) -> int:
        return sum(len(c.messages) for c in self.conversations)

    def handles(self) -> set[str]:
        return {h for c in self.conversations for h in c.between}


class _Reader:
    def __init__(self, path: Path):
        self.path = path

    def fail(self, keypath: list, message: str) -> NoReturn:
        line = yamlfile.line_of(self.path, keypath)
        where = yamlfile.dotted(keypath)
        raise SeedError(f"{where}: {message}" if where else message, path=self.path, line=line)

    def mapping(self, value: Any, keypath: list, allowed: set[str], required: AbstractSet[str] = frozenset()) -> dict:
        if not isinstance(value, dict):
            self.fail(keypath, f"expected a mapping, got {_kind(value)}")
        for key in value:
            if key not in allowed:
                self.fail(keypath + [key], f"unknown field '{key}' (expected one of: {', '.join(sorted(allowed))})")
        for key in sorted(required):
            if key not in value or value[key] in (None, ""):
                self.fail(keypath, f"missing required field '{key}'")
        return value

    def text(self, value: Any, keypath: list) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.fail(keypath, f"expected text, got {_kind(value)}")
        return str(value)


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return f"the text '{value}'" if len(value) <= 40 else "text"
    return {dict: "a mapping", list: "a list", type(None): "nothing", bool: "true/false", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)


def _uuid(reader: _Reader, value: Any, keypath: list) -> str:
    try:
        return str(uuidlib.UUID(str(value)))
    except ValueError:
        reader.fail(keypath, f"'{value}' is not a UUID")


def _start(reader: _Reader, value: Any, keypath: list) -> datetime:
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        reader.fail(keypath, str(exc))


def read(path: Path, users_override: list[User] | None = None) -> SeedFile:
    """Parse and validate a seed file. ``users_override`` (e.g. PostgreSQL's users) replaces the file's users."""
    path = Path(path)
    doc = yamlfile.load(path, error=SeedError)
    reader = _Reader(path)
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        reader.fail([], f"expected a mapping with users and conversations, got {_kind(doc)}")
    reader.mapping(doc, [], TOP_FIELDS)

    users: list[SeedUser] = []
    raw_users = doc.get("users") or []
    if not isinstance(raw_users, list):
        reader.fail(["users"], f"expected a list of users, got {_kind(raw_users)}")
    seen_handles: dict[str, int] = {}
    for i, raw in enumerate(raw_users):
        kp = ["users", i]
        reader.mapping(raw, kp, USER_FIELDS, {"handle", "display_name"})
        handle = reader.text(raw["handle"], kp + ["handle"])
        if handle in seen_handles:
            reader.fail(kp + ["handle"], f"duplicate handle '{handle}' (also users[{seen_handles[handle]}])")
        seen_handles[handle] = i
        users.append(SeedUser(
            uuid=_uuid(reader, raw["uuid"], kp + ["uuid"]) if raw.get("uuid") else user_uuid_for(handle),
            handle=handle,
            display_name=reader.text(raw["display_name"], kp + ["display_name"]),
            email=reader.text(raw["email"], kp + ["email"]) if raw.get("email") else f"{handle}@example.com",
            cognito_user_id=reader.text(raw["cognito_user_id"], kp + ["cognito_user_id"]) if raw.get("cognito_user_id") else None,
        ))
    known = {u.handle for u in (users_override if users_override is not None else users)}

    conversations: list[Conversation] = []
    raw_convs = doc.get("conversations") or []
    if not isinstance(raw_convs, list):
        reader.fail(["conversations"], f"expected a list of conversations, got {_kind(raw_convs)}")
    groups: dict[str, int] = {}
    for i, raw in enumerate(raw_convs):
        kp = ["conversations", i]
        reader.mapping(raw, kp, CONVERSATION_FIELDS, {"between", "messages"})
        between = raw["between"]
        if not isinstance(between, list) or len(between) != 2:
            got = f"a list of {len(between)}" if isinstance(between, list) else _kind(between)
            reader.fail(kp + ["between"], f"expected the two participants' handles, e.g. [alice, bob], got {got}")
        a, b = (reader.text(h, kp + ["between", j]) for j, h in enumerate(between))
        if a == b:
            reader.fail(kp + ["between"], f"a conversation needs two different people, got '{a}' twice")
        for j, handle in enumerate((a, b)):
            if handle not in known:
                reader.fail(kp + ["between", j], f"unknown handle '{handle}' in conversation {i + 1}: not among the users")
        group = _uuid(reader, raw["message_group_uuid"], kp + ["message_group_uuid"]) if raw.get("message_group_uuid") else group_uuid_for(a, b)
        if group in groups:
            if raw.get("message_group_uuid"):
                reader.fail(kp + ["message_group_uuid"],
                            f"duplicate message_group_uuid {group} (also conversations[{groups[group]}])")
            reader.fail(kp + ["between"],
                        f"{a} and {b} already have conversations[{groups[group]}], and both would get message_group_uuid "
                        f"{group} (derived from the pair): merge them, or give one its own message_group_uuid")
        groups[group] = i
        start = _start(reader, raw["start"], kp + ["start"]) if raw.get("start") not in (None, "") else None
        raw_messages = raw["messages"]
        if not isinstance(raw_messages, list) or not raw_messages:
            reader.fail(kp + ["messages"], "a conversation needs at least one message")
        messages = []
        for j, message in enumerate(raw_messages):
            mkp = kp + ["messages", j]
            if not isinstance(message, dict) or len(message) != 1:
                reader.fail(mkp, "each message is one 'handle: text' pair")
            ((sender, text),) = message.items()
            sender = str(sender)
            if sender not in (a, b):
                reader.fail(mkp, f"sender '{sender}' is not in this conversation (between {a} and {b})")
            text = reader.text(text, mkp + [sender])
            if len(text.encode("utf-8")) > MAX_ITEM_BYTES - 1024:
                reader.fail(mkp + [sender], f"message of {len(text.encode('utf-8')):,} bytes is over DynamoDB's 400 KB item limit")
            messages.append((sender, text))
        if start is not None:
            try:  # the seed writes one message a minute from start: the last one must still be a date
                (start + timedelta(minutes=len(messages))).astimezone(UTC)
            except OverflowError:
                reader.fail(kp + ["start"], f"'{start.isoformat()}' is too late for {len(messages)} message(s) a "
                                            "minute apart: the last would fall after the year 9999")
        conversations.append(Conversation(i, group, (a, b), start, messages))

    activities = doc.get("activities") or []
    if not isinstance(activities, list):
        reader.fail(["activities"], f"expected a list of activities, got {_kind(activities)}")
    return SeedFile(path, users, conversations, activities)
