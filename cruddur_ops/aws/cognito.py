"""Cognito: a pool's users (every page), and which app user each one is.

The app links the two by handle: a Cognito user's ``preferred_username`` is the ``users.handle`` of the same
person, and ``users.cognito_user_id`` holds the Cognito ``sub``. A user without an account holds a placeholder
(``MOCK``, the app's convention, or the project's ``cognito_placeholder``): such a user counts as unlinked.

Which accounts are linked: ``CONFIRMED`` (signed up and confirmed), ``FORCE_CHANGE_PASSWORD`` (created by an
administrator — how most of the bootcamp's users were made; the sub is final) and ``RESET_REQUIRED``. Never an
``UNCONFIRMED`` self sign-up (anyone can claim a preferred_username that way) nor a disabled account.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypedDict

from cruddur_ops.errors import ConfirmationError, NotFoundError


class UserIdPlan(TypedDict):
    """Which app users get which Cognito ``sub`` (the rows of each list are plain dicts)."""

    updates: list[dict[str, Any]]  # handle, uuid, cognito_user_id, username, previous (None: an empty link filled)
    relinks: list[dict[str, Any]]  # the same, where previous is another id: written only with --relink, confirmed
    already_right: list[dict[str, Any]]  # handle, uuid, cognito_user_id, username
    not_linkable: list[dict[str, Any]]  # username, sub, status, enabled, handle, reason (disabled / unconfirmed)
    conflicts: list[dict[str, Any]]  # handle, uuid, reason, cognito_users: while any, nothing is written
    unmatched_cognito_users: list[dict[str, Any]]  # username, sub, preferred_username
    users_without_cognito: list[dict[str, Any]]  # handle, uuid
    without_preferred_username: list[dict[str, Any]]  # username, sub, email


class UserIdSync(UserIdPlan):
    """The document `cognito update-user-ids --output json` prints."""

    pool_id: str
    database: str
    dry_run: bool
    relink: bool
    rows_changed: int
    unlinked: list[dict[str, Any]]  # handle, uuid, cognito_user_id, reason: users asked for that stay unlinked


def _attributes(user: dict) -> dict[str, str]:
    return {a["Name"]: a.get("Value", "") for a in user.get("Attributes", [])}


def list_users(client, pool_id: str) -> list[dict]:
    """Every user of the pool (ListUsers pages through 60 at a time): username, sub, preferred_username, email, status."""
    paginator = client.get_paginator("list_users")
    users = []
    try:
        for page in paginator.paginate(UserPoolId=pool_id):
            for user in page.get("Users", []):
                attrs = _attributes(user)
                created = user.get("UserCreateDate")
                users.append({
                    "username": user["Username"],
                    "sub": attrs.get("sub"),
                    "preferred_username": attrs.get("preferred_username") or None,
                    "email": attrs.get("email"),
                    "status": user.get("UserStatus"),
                    "enabled": user.get("Enabled"),
                    "created_at": created.isoformat() if created else None,
                })
    except client.exceptions.ResourceNotFoundException:
        raise NotFoundError(f"no Cognito user pool '{pool_id}' (check AWS_COGNITO_USER_POOL_ID / --pool-id and --region)") from None
    return users


LINKABLE_STATUSES = ("CONFIRMED", "FORCE_CHANGE_PASSWORD", "RESET_REQUIRED")
PLACEHOLDERS = {"mock", "placeholder", "todo", "tbd", "none", "null", "nil", "changeme", "fake", "dummy", "test",
                "xxx", "cognito_user_id", "-", "0"}


def is_placeholder(value: str | None, placeholder: str | None = None) -> bool:
    """Empty, the project's placeholder, or a stand-in such as ``MOCK`` that no Cognito user has (a real id is
    the user's sub, a UUID)."""
    text = (value or "").strip().lower()
    return (not text or text in PLACEHOLDERS or text.startswith("mock")
            or (placeholder is not None and text == placeholder.strip().lower()))


def _claimant(user: dict) -> dict:
    return {"username": user["username"], "sub": user.get("sub"), "status": user.get("status"),
            "enabled": user.get("enabled")}


def plan_user_ids(cognito_users: Iterable[dict], db_users: Iterable[dict], *,
                  placeholder: str | None = None) -> UserIdPlan:
    """Match Cognito users to app users by ``preferred_username`` == ``handle``; change nothing.

    Only an enabled Cognito user whose status is one of :data:`LINKABLE_STATUSES` is ever linked; one that is
    disabled or ``UNCONFIRMED`` but names an app user's handle is reported in ``not_linkable``. A placeholder id
    (``MOCK``…) is no link: replacing it is an update, not a relink. A handle claimed by two or more Cognito users (whatever
    their status), or a sub already linked to another app user, is a conflict: the plan writes nothing then.
    Filling an empty ``cognito_user_id`` is an update; replacing one that is set is a relink (applied only when
    asked for and confirmed, see :func:`sync_user_ids`).

    Returns ``{"updates", "relinks", "already_right", "not_linkable", "conflicts", "unmatched_cognito_users",
    "users_without_cognito", "without_preferred_username"}``; ``updates`` and ``relinks`` rows carry handle,
    uuid, cognito_user_id, previous and the Cognito username.
    """
    cognito_users = list(cognito_users)
    db_users = list(db_users)
    by_name: dict[str, list[dict]] = {}
    without = []
    for user in cognito_users:
        name = user.get("preferred_username")
        if not name:
            without.append({"username": user["username"], "sub": user.get("sub"), "email": user.get("email")})
        else:
            by_name.setdefault(name, []).append(user)
    linked_to = {u["cognito_user_id"]: u for u in db_users if not is_placeholder(u.get("cognito_user_id"), placeholder)}

    plan: UserIdPlan = {
        "updates": [], "relinks": [], "already_right": [], "not_linkable": [], "conflicts": [],
        "unmatched_cognito_users": [], "users_without_cognito": [], "without_preferred_username": without,
    }
    handles = {u["handle"] for u in db_users}
    for db_user in db_users:
        handle, uuid = db_user["handle"], db_user["uuid"]
        matches = by_name.get(handle, [])
        if not matches:
            plan["users_without_cognito"].append({"handle": handle, "uuid": uuid})
            continue
        if len(matches) > 1:
            plan["conflicts"].append({
                "handle": handle, "uuid": uuid,
                "reason": f"{len(matches)} Cognito users have preferred_username '{handle}'",
                "cognito_users": [_claimant(m) for m in matches],
            })
            continue
        (match,) = matches
        sub = match.get("sub")
        row = {"handle": handle, "uuid": uuid, "cognito_user_id": sub, "username": match["username"]}
        if db_user.get("cognito_user_id") == sub:
            plan["already_right"].append(row)
            continue
        status_ok = match.get("status") in LINKABLE_STATUSES
        if match.get("enabled") is False or not status_ok:
            unconfirmed = ("an unconfirmed self sign-up" if match.get("status") == "UNCONFIRMED"
                           else f"status {match.get('status')}")
            why = "disabled" if match.get("enabled") is False else unconfirmed
            if match.get("enabled") is False and not status_ok:
                why += f" and status {match.get('status')}"
            plan["not_linkable"].append({**_claimant(match), "handle": handle, "reason": why})
            continue
        holder = linked_to.get(sub)
        if holder is not None and holder["uuid"] != uuid:
            plan["conflicts"].append({
                "handle": handle, "uuid": uuid,
                "reason": f"Cognito user {match['username']} is already linked to handle '{holder['handle']}'",
                "cognito_users": [_claimant(match)],
            })
            continue
        change = {**row, "previous": db_user.get("cognito_user_id")}
        linked = not is_placeholder(change["previous"], placeholder)
        plan["relinks" if linked else "updates"].append(change)
    for name, users in sorted(by_name.items()):
        if name not in handles:
            plan["unmatched_cognito_users"] += [
                {"username": u["username"], "sub": u.get("sub"), "preferred_username": name} for u in users
            ]
    return plan


def unlinked_users(plan: UserIdPlan, db_users: Iterable[dict], *, handles: Iterable[str] | None = None,
                   applied: bool, relinked: bool, placeholder: str | None = None) -> list[dict]:
    """The users asked for (``handles``; by default every app user a Cognito account names) whose
    ``cognito_user_id`` is still empty or a placeholder after the run, each with the reason.

    ``applied``: the updates were (or, in a dry run, would be) written; ``relinked``: the relinks too.
    """
    by_handle = {u["handle"]: u for u in db_users}
    reasons: dict[str, str] = {}
    linked_now: set[str] = set()
    for row in plan["updates"]:
        if applied:
            linked_now.add(row["handle"])
        else:
            reasons[row["handle"]] = "not written: the plan has conflicts"
    for row in plan["relinks"]:
        if applied and relinked:
            linked_now.add(row["handle"])
    for row in plan["not_linkable"]:
        reasons[row["handle"]] = f"Cognito user {row['username']} is {row['reason']}"
    for row in plan["conflicts"]:
        reasons[row["handle"]] = f"conflict: {row['reason']}"
    for row in plan["users_without_cognito"]:
        reasons[row["handle"]] = f"no Cognito user has preferred_username '{row['handle']}'"
    claimed = {r["handle"] for key in ("updates", "relinks", "already_right", "not_linkable", "conflicts")
               for r in plan[key]}
    wanted = list(dict.fromkeys(handles)) if handles is not None else sorted(claimed)
    out = []
    for handle in wanted:
        user = by_handle.get(handle)
        if user is None:
            out.append({"handle": handle, "uuid": None, "cognito_user_id": None,
                        "reason": "no app user with this handle"})
            continue
        if handle in linked_now or not is_placeholder(user.get("cognito_user_id"), placeholder):
            continue
        out.append({"handle": handle, "uuid": user["uuid"], "cognito_user_id": user.get("cognito_user_id"),
                    "reason": reasons.get(handle, "not linked")})
    return out


def sync_user_ids(client, pool_id: str, db, *, prod: bool = False, dry_run: bool = False, relink: bool = False,
                  confirm: Callable[[list[dict]], None] | None = None, handles: Iterable[str] | None = None,
                  placeholder: str | None = None) -> UserIdSync:
    """`cognito update-user-ids`: set ``users.cognito_user_id`` to the Cognito ``sub`` where ``users.handle`` is
    the user's ``preferred_username``, in one transaction (nothing with ``dry_run``).

    Nothing is written when the plan has a conflict. An id already set is replaced only with ``relink``, and
    only after ``confirm(relinks)`` returns (it raises to cancel; without ``confirm`` relinks are refused).
    Each row is updated only if it still holds the id the plan saw, else the whole transaction is undone.

    ``db`` is a :class:`cruddur_ops.pg.database.Database`; a non-local one needs ``prod``. ``handles`` limits the
    users asked for (default: every app user a Cognito account names); ``unlinked`` lists those that stay
    without a real id, with the reason. Returns ``{"pool_id", "database", "dry_run", "relink", "rows_changed",
    "unlinked", **plan}`` (the plan of :func:`plan_user_ids`).
    """
    from cruddur_ops import defaults
    from cruddur_ops.pg import users as pgusers

    if placeholder is None:
        placeholder = defaults.cognito_placeholder()
    handles = list(handles) if handles else None

    if not dry_run:
        db.guard_write(prod=prod, action="update users.cognito_user_id")
    cognito_users = list_users(client, pool_id)
    with db.connect() as conn:
        db_users = pgusers.list_users(conn)
        plan = plan_user_ids(cognito_users, db_users, placeholder=placeholder)
        if handles is not None:  # only the users asked for are written or reported
            for key in ("updates", "relinks", "already_right", "not_linkable", "conflicts", "users_without_cognito"):
                plan[key] = [r for r in plan[key] if r["handle"] in handles]
        changes = list(plan["updates"])
        if relink and plan["relinks"]:
            changes += plan["relinks"]
        changed = 0
        if not dry_run and not plan["conflicts"] and changes:
            if relink and plan["relinks"]:
                if confirm is None:
                    raise ConfirmationError("refusing to relink users without a confirmation")
                confirm(plan["relinks"])
            changed = pgusers.set_cognito_user_ids(
                conn, [(u["uuid"], u["cognito_user_id"], u["previous"]) for u in changes])
        name = conn.info.dbname
    applied = not plan["conflicts"]  # with dry_run: what would stay unlinked
    unlinked = unlinked_users(plan, db_users, handles=handles, applied=applied, relinked=relink and applied,
                              placeholder=placeholder)
    return {"pool_id": pool_id, "database": name, "dry_run": dry_run, "relink": relink, "rows_changed": changed,
            "unlinked": unlinked, **plan}
