"""cruddur_ops.aws.cognito: every page of ListUsers, and matching Cognito users to app users."""

from __future__ import annotations

import pytest

from cruddur_ops.aws import cognito
from cruddur_ops.errors import NotFoundError
from tests.aws.fixtures import make_pool, sub_of


def test_list_users_reads_every_page(aws):
    client = aws("cognito-idp")
    people = [{"username": f"filler{i:02d}", "preferred_username": f"filler{i:02d}"} for i in range(64)]
    pool = make_pool(client, people + [{"username": "late", "preferred_username": "ada"}])
    first_page = client.list_users(UserPoolId=pool)
    assert len(first_page["Users"]) == 60 and "PaginationToken" in first_page
    assert "late" not in [u["Username"] for u in first_page["Users"]]

    users = cognito.list_users(client, pool)
    assert len(users) == 65
    late = next(u for u in users if u["username"] == "late")
    assert late["preferred_username"] == "ada" and late["sub"] == sub_of(client, pool, "late")
    assert late["email"] == "late@cruddur.test" and late["status"] == "FORCE_CHANGE_PASSWORD"
    assert set(late) == {"username", "sub", "preferred_username", "email", "status", "enabled", "created_at"}


def test_a_user_without_preferred_username_lists_with_none(aws):
    client = aws("cognito-idp")
    pool = make_pool(client, [{"username": "nameless"}])
    (user,) = cognito.list_users(client, pool)
    assert user["preferred_username"] is None and user["sub"]


def test_a_missing_pool_is_a_clear_error(aws):
    with pytest.raises(NotFoundError, match="no Cognito user pool 'us-east-1_nope'"):
        cognito.list_users(aws("cognito-idp"), "us-east-1_nope")


def _cog(username, preferred, sub, *, status="CONFIRMED", enabled=True):
    return {"username": username, "preferred_username": preferred, "sub": sub, "email": f"{username}@x",
            "status": status, "enabled": enabled}


def test_plan_sorts_every_user_into_one_bucket():
    db_users = [
        {"uuid": "u-ada", "handle": "ada", "cognito_user_id": None},
        {"uuid": "u-bo", "handle": "bo", "cognito_user_id": "sub-bo"},
        {"uuid": "u-cy", "handle": "cy", "cognito_user_id": "stale"},
        {"uuid": "u-dee", "handle": "dee", "cognito_user_id": None},
        {"uuid": "u-eve", "handle": "eve", "cognito_user_id": None},
    ]
    cognito_users = [
        _cog("ada1", "ada", "sub-ada"), _cog("bo1", "bo", "sub-bo"), _cog("cy1", "cy", "sub-cy"),
        _cog("stranger", "zed", "sub-zed"), _cog("anon", None, "sub-anon"),
        _cog("eve1", "eve", "sub-eve1"), _cog("eve2", "eve", "sub-eve2"),
    ]
    plan = cognito.plan_user_ids(cognito_users, db_users)
    assert plan["updates"] == [
        {"handle": "ada", "uuid": "u-ada", "cognito_user_id": "sub-ada", "username": "ada1", "previous": None}]
    assert plan["relinks"] == [
        {"handle": "cy", "uuid": "u-cy", "cognito_user_id": "sub-cy", "username": "cy1", "previous": "stale"}]
    assert plan["already_right"] == [{"handle": "bo", "uuid": "u-bo", "cognito_user_id": "sub-bo", "username": "bo1"}]
    assert plan["users_without_cognito"] == [{"handle": "dee", "uuid": "u-dee"}]
    assert plan["unmatched_cognito_users"] == [{"username": "stranger", "sub": "sub-zed", "preferred_username": "zed"}]
    assert plan["without_preferred_username"] == [{"username": "anon", "sub": "sub-anon", "email": "anon@x"}]
    assert [(c["handle"], [u["username"] for u in c["cognito_users"]]) for c in plan["conflicts"]] == [
        ("eve", ["eve1", "eve2"])]
    assert plan["not_linkable"] == []


def test_admin_created_and_reset_users_link_unconfirmed_and_disabled_never_do():
    db_users = [{"uuid": "u-mira", "handle": "mira", "cognito_user_id": "sub-mira"},
                {"uuid": "u-nod", "handle": "nod", "cognito_user_id": "MOCK"},
                {"uuid": "u-oz", "handle": "oz", "cognito_user_id": None},
                {"uuid": "u-pat", "handle": "pat", "cognito_user_id": "MOCK"},
                {"uuid": "u-quin", "handle": "quin", "cognito_user_id": "MOCK"},
                {"uuid": "u-ray", "handle": "ray", "cognito_user_id": "MOCK"}]
    cognito_users = [
        _cog("mira-now", "mira-renamed", "sub-mira"),
        _cog("intruder", "mira", "sub-intruder", status="UNCONFIRMED", enabled=False),
        _cog("nod1", "nod", "sub-nod", status="FORCE_CHANGE_PASSWORD"),
        _cog("oz1", "oz", "sub-oz", enabled=False),
        _cog("pat1", "pat", "sub-pat", status="RESET_REQUIRED"),
        _cog("quin1", "quin", "sub-quin", status="UNCONFIRMED"),
        _cog("ray1", "ray", "sub-ray"),
    ]
    plan = cognito.plan_user_ids(cognito_users, db_users)
    # MOCK is no link: filling it is an update, not a relink
    assert [(u["handle"], u["previous"]) for u in plan["updates"]] == [("nod", "MOCK"), ("pat", "MOCK"), ("ray", "MOCK")]
    assert plan["relinks"] == plan["conflicts"] == []
    reasons = {r["handle"]: (r["username"], r["reason"]) for r in plan["not_linkable"]}
    assert reasons == {
        "mira": ("intruder", "disabled and status UNCONFIRMED"),
        "oz": ("oz1", "disabled"),
        "quin": ("quin1", "an unconfirmed self sign-up"),
    }
    unlinked = cognito.unlinked_users(plan, db_users, applied=True, relinked=False)
    assert [(u["handle"], u["reason"]) for u in unlinked] == [
        ("oz", "Cognito user oz1 is disabled"), ("quin", "Cognito user quin1 is an unconfirmed self sign-up")]


def test_a_project_placeholder_counts_as_unlinked():
    db_users = [{"uuid": "u-ada", "handle": "ada", "cognito_user_id": "no-account-yet"}]
    plan = cognito.plan_user_ids([_cog("a", "ada", "sub-a")], db_users, placeholder="no-account-yet")
    assert [(u["handle"], u["previous"]) for u in plan["updates"]] == [("ada", "no-account-yet")]
    assert cognito.plan_user_ids([_cog("a", "ada", "sub-a")], db_users)["relinks"] != []  # without it: a real id


def test_a_sub_already_linked_to_another_user_is_a_conflict():
    db_users = [{"uuid": "u-ada", "handle": "ada", "cognito_user_id": None},
                {"uuid": "u-bo", "handle": "bo", "cognito_user_id": "sub-x"}]
    plan = cognito.plan_user_ids([_cog("x", "ada", "sub-x")], db_users)
    assert plan["updates"] == [] and [c["handle"] for c in plan["conflicts"]] == ["ada"]
    assert "already linked to handle 'bo'" in plan["conflicts"][0]["reason"]
