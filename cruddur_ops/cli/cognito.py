"""`cruddur cognito …`: the Cognito user pool's users, and linking them to the app's users."""

from typing import Annotated, Optional

import typer

from cruddur_ops.cli import render
from cruddur_ops.cli.options import DryRunOpt, OutputOpt, YesOpt, confirm, settings
from cruddur_ops.cli.render import Column, Section
from cruddur_ops.errors import ConflictError, CruddurError
from cruddur_ops.settings import Action, Settings

app = typer.Typer(no_args_is_help=True, help="Cognito: list the pool's users; copy their ids into PostgreSQL users.")

PoolOpt = Annotated[
    Optional[str],
    typer.Option("--pool-id", help="User pool id (default: AWS_COGNITO_USER_POOL_ID).", show_default=False),
]


def _pool(s: Settings, pool_id: str | None) -> str:
    pool = pool_id or s.cognito_pool_id
    if not pool:
        raise CruddurError("no user pool: pass --pool-id or set AWS_COGNITO_USER_POOL_ID")
    return pool


@app.command("list-users")
def list_users(ctx: typer.Context, pool_id: PoolOpt = None, output: OutputOpt = None) -> None:
    """List every user of the pool (all pages): username, sub, preferred_username, email, status.

    Example: cruddur cognito list-users --pool-id us-east-1_AbCdEf123 --output json
    """
    from cruddur_ops.aws import cognito

    s = settings(ctx)
    pool = _pool(s, pool_id)
    users = cognito.list_users(s.client("cognito-idp"), pool)
    if not users:
        render.note(f"no users: user pool {pool} is empty")
    doc = {"pool_id": pool, "count": len(users), "users": users}
    render.emit(doc, output, lambda: [Section(f"Users of {pool}", [
        Column("username", "username"), Column("sub", "sub"), Column("preferred_username", "preferred_username"),
        Column("email", "email"), Column("status", "status")], users, caption=f"{len(users)} user(s)")])


RelinkOpt = Annotated[bool, typer.Option(
    "--relink", help="Also replace a cognito_user_id that is already set (asks first, listing each change).")]


HandleOpt = Annotated[Optional[list[str]], typer.Option(
    "--handle", help="Link only this user (repeatable); it must end linked, else exit 5.", show_default=False)]


@app.command("update-user-ids")
def update_user_ids(ctx: typer.Context, pool_id: PoolOpt = None, dry_run: DryRunOpt = False, relink: RelinkOpt = False,
                    handle: HandleOpt = None, yes: YesOpt = False, output: OutputOpt = None) -> None:
    """Set users.cognito_user_id to the Cognito sub where users.handle is the user's preferred_username.

    One transaction. Enabled CONFIRMED, FORCE_CHANGE_PASSWORD (created by an administrator) and RESET_REQUIRED
    users are linked; UNCONFIRMED self sign-ups and disabled users never are. An id still holding the
    placeholder (MOCK, or cruddur.toml's cognito_placeholder) counts as unlinked and is filled. An id that is
    already set is replaced only with --relink, after a confirmation listing each change (--yes skips it).
    A handle claimed by two Cognito users is a conflict: reported, nothing written, exit 5. Users asked for
    (--handle; by default every user a Cognito account names) that stay unlinked are listed with the reason,
    exit 5.

    Example: cruddur cognito update-user-ids --dry-run
    """
    from cruddur_ops.aws import cognito

    s = settings(ctx)
    pool = _pool(s, pool_id)
    # refused before any request (sync_user_ids checks it too)
    db = s.database(write=None if dry_run else Action("update users.cognito_user_id"))

    def ask(relinks: list[dict]) -> None:
        render.warn(f"relinking {len(relinks)} user(s):")
        for r in relinks:
            render.warn(f"  {r['handle']}: {r['previous']} -> {r['cognito_user_id']} (Cognito user {r['username']})")
        confirm(f"Replace the Cognito link of these {len(relinks)} user(s)?", yes=yes, what=f"relink {len(relinks)} user(s)")

    doc = plan = cognito.sync_user_ids(s.client("cognito-idp"), pool, db, prod=s.prod, dry_run=dry_run,
                                       relink=relink, confirm=ask, handles=handle)
    for user in plan["without_preferred_username"]:
        render.warn(f"Cognito user {user['username']} has no preferred_username; it matches no handle")
    for row in plan["not_linkable"]:
        render.warn(f"handle {row['handle']}: Cognito user {row['username']} is {row['reason']}; not linked")
    for row in plan["conflicts"]:
        render.warn(f"handle {row['handle']}: conflict, {row['reason']}")
    if plan["relinks"] and not relink:
        render.warn(f"{len(plan['relinks'])} user(s) already linked to another Cognito user, left alone "
                    "(pass --relink to move them): " + ", ".join(r["handle"] for r in plan["relinks"]))
    moved = plan["relinks"] if relink else []
    if plan["conflicts"]:
        render.note("nothing written: resolve the conflicts first")
    else:
        verb = "would update" if dry_run else "updated"
        render.note(f"{verb} {len(plan['updates'])}" + (f", relink {len(moved)}" if moved else "")
                    + f", already right {len(plan['already_right'])}")

    def sections():
        changes = [] if plan["conflicts"] else plan["updates"] + moved
        out = [Section("Updated" if not dry_run else "Would update", [
            Column("handle", "handle"), Column("cognito_user_id", "cognito_user_id"), Column("previous", "previous")],
            changes),
            Section("Already right", [Column("handle", "handle"), Column("cognito_user_id", "cognito_user_id")], plan["already_right"])]
        if plan["relinks"] and not relink:
            out.append(Section("Already linked to another Cognito user (left alone; --relink moves them)", [
                Column("handle", "handle"), Column("linked now", "previous"), Column("would be", "cognito_user_id")],
                plan["relinks"]))
        if plan["conflicts"]:
            out.append(Section("Conflicts (nothing written)", [
                Column("handle", "handle"), Column("reason", "reason"),
                Column("cognito users", lambda r: [u["username"] for u in r["cognito_users"]])], plan["conflicts"]))
        if plan["unlinked"]:
            out.append(Section("Asked for, still unlinked", [
                Column("handle", "handle"), Column("cognito_user_id", "cognito_user_id"), Column("reason", "reason")],
                plan["unlinked"]))
        if plan["not_linkable"]:
            out.append(Section("Cognito users not linked (disabled or unconfirmed)", [
                Column("handle", "handle"), Column("username", "username"), Column("reason", "reason")],
                plan["not_linkable"]))
        if plan["users_without_cognito"]:
            out.append(Section("Users with no Cognito account", [Column("handle", "handle"), Column("uuid", "uuid")],
                               plan["users_without_cognito"]))
        if plan["unmatched_cognito_users"]:
            out.append(Section("Cognito users with no matching handle", [
                Column("username", "username"), Column("preferred_username", "preferred_username"), Column("sub", "sub")],
                plan["unmatched_cognito_users"]))
        if plan["without_preferred_username"]:
            out.append(Section("Cognito users without preferred_username", [
                Column("username", "username"), Column("email", "email"), Column("sub", "sub")],
                plan["without_preferred_username"]))
        return out

    render.emit(doc, output, sections)
    if plan["conflicts"]:
        raise ConflictError(f"{len(plan['conflicts'])} conflict(s) ("
                           + ", ".join(r["handle"] for r in plan["conflicts"]) + "); nothing written")
    if plan["unlinked"]:
        by_reason: dict[str, list[str]] = {}
        for row in plan["unlinked"]:
            by_reason.setdefault(row["reason"], []).append(row["handle"])
        raise ConflictError(f"{len(plan['unlinked'])} user(s) asked for " + ("would " if dry_run else "")
                            + "stay unlinked: "
                            + "; ".join(f"{', '.join(h)} ({why})" for why, h in by_reason.items()))
