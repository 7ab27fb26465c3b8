"""Cognito: a pool's users (every page), and which app user each one is.

The app links the two by handle: a Cognito user's ``preferred_username`` is the ``users.handle`` of the same
person, and ``users.cognito_user_id`` holds the Cognito ``sub``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypedDict

from cruddur_ops.errors import NotFoundError


class UserIdPlan(TypedDict):
    """Which app users get which Cognito ``sub`` (the rows of each list are plain dicts)."""

    updates: list[dict[str, Any]]  # handle, uuid, cognito_user_id, previous
    already_right: list[dict[str, Any]]  # handle, uuid, cognito_user_id
    unmatched_cognito_users: list[dict[str, Any]]  # username, sub, preferred_username
    users_without_cognito: list[dict[str, Any]]  # handle, uuid
    without_preferred_username: list[dict[str, Any]]  # username, sub, email
    ambiguous: list[dict[str, Any]]  # handle, uuid, cognito_users


class UserIdSync(UserIdPlan):
    """The document `cognito update-user-ids --output json` prints."""

    pool_id: str
    database: str
    dry_run: bool
    rows_changed: int


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


def plan_user_ids(cognito_users: Iterable[dict], db_users: Iterable[dict]) -> UserIdPlan:
    """Match Cognito users to app users by ``preferred_username`` == ``handle``; change nothing.

    Returns ``{"updates", "already_right", "unmatched_cognito_users", "users_without_cognito",
    "without_preferred_username", "ambiguous"}``; ``updates`` rows carry handle, uuid, cognito_user_id, previous.
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

    plan: UserIdPlan = {
        "updates": [], "already_right": [], "unmatched_cognito_users": [], "users_without_cognito": [],
        "without_preferred_username": without, "ambiguous": [],
    }
    handles = {u["handle"] for u in db_users}
    for db_user in db_users:
        matches = by_name.get(db_user["handle"], [])
        if not matches:
            plan["users_without_cognito"].append({"handle": db_user["handle"], "uuid": db_user["uuid"]})
            continue
        if len(matches) > 1:
            plan["ambiguous"].append({
                "handle": db_user["handle"], "uuid": db_user["uuid"],
                "cognito_users": [{"username": m["username"], "sub": m.get("sub")} for m in matches],
            })
            continue
        sub = matches[0].get("sub")
        row = {"handle": db_user["handle"], "uuid": db_user["uuid"], "cognito_user_id": sub}
        if db_user.get("cognito_user_id") == sub:
            plan["already_right"].append(row)
        else:
            plan["updates"].append({**row, "previous": db_user.get("cognito_user_id")})
    for name, users in sorted(by_name.items()):
        if name not in handles:
            plan["unmatched_cognito_users"] += [
                {"username": u["username"], "sub": u.get("sub"), "preferred_username": name} for u in users
            ]
    return plan


def sync_user_ids(client, pool_id: str, db, *, prod: bool = False, dry_run: bool = False) -> UserIdSync:
    """`cognito update-user-ids`: set ``users.cognito_user_id`` to the Cognito ``sub`` where ``users.handle`` is
    the user's ``preferred_username``, in one transaction (nothing with ``dry_run``).

    ``db`` is a :class:`cruddur_ops.pg.database.Database`; a non-local one needs ``prod``. Returns
    ``{"pool_id", "database", "dry_run", "rows_changed", **plan}`` (the plan of :func:`plan_user_ids`).
    """
    from cruddur_ops.pg import users as pgusers

    if not dry_run:
        db.guard_write(prod=prod, action="update users.cognito_user_id")
    cognito_users = list_users(client, pool_id)
    with db.connect() as conn:
        plan = plan_user_ids(cognito_users, pgusers.list_users(conn))
        changed = 0 if dry_run else pgusers.set_cognito_user_ids(
            conn, [(u["uuid"], u["cognito_user_id"]) for u in plan["updates"]])
        name = conn.info.dbname
    return {"pool_id": pool_id, "database": name, "dry_run": dry_run, "rows_changed": changed, **plan}
