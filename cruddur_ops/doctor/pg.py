"""Doctor's PostgreSQL checks: the database and its users table, the seed file's handles, Cognito ids, sessions."""

from __future__ import annotations

from cruddur_ops.aws.cognito import PLACEHOLDERS, is_placeholder  # noqa: F401  (one definition, shared)
from cruddur_ops.doctor.context import FAIL, OK, WARN, Check, Context, _capped
from cruddur_ops.errors import CruddurError
from cruddur_ops.settings import Action


# --- 3. PostgreSQL --------------------------------------------------------------------------------------------------
def _pg_start_hint(ctx: Context) -> str:
    from cruddur_ops.local import pgcluster

    cluster = pgcluster.running(ctx.settings.data_dir)
    if cluster and cluster.url != ctx.database().url:
        return f'a PostgreSQL from `cruddur local up` runs on port {cluster.port}: eval "$(cruddur local env)"'
    return 'start one with `cruddur local up` (then eval "$(cruddur local env)"), or set CONNECTION_URL'


def check_postgres(ctx: Context) -> Check:
    try:
        db = ctx.database()
    except CruddurError as exc:
        return Check("postgres", FAIL, str(exc), "set PROD_CONNECTION_URL, or drop --prod")
    problem = ctx.pg_problem()
    if problem:
        if "does not exist" in problem:
            return Check("postgres", FAIL, problem, "create and set it up: `cruddur db setup`", fixable=db.is_local)
        return Check("postgres", FAIL, problem, _pg_start_hint(ctx))
    conn = ctx.require_pg()
    version = conn.info.parameter_status("server_version")
    if not ctx.has_users_table():
        return Check("postgres", FAIL, f"{db.masked} ({db.source}), PostgreSQL {version}: no users table",
                     "load the schema and seed: `cruddur db setup`", fixable=db.is_local)
    count = conn.execute("SELECT count(*) FROM public.users").fetchone()[0]
    return Check("postgres", OK, f"{db.masked} ({db.source}), PostgreSQL {version}: users has {count:,} rows")


def fix_postgres(ctx: Context) -> str:
    from cruddur_ops.pg.setup import setup_database

    db = ctx.settings.writable(ctx.database(), Action("set up the database"))
    done = setup_database(db, seed_path=ctx.seed_path)
    return (f"database {done['database']} " + ("created, " if done["created"] else "")
            + f"schema loaded, {done['seed']['users']['inserted']} users seeded")


# --- 4. the seed file's handles ---------------------------------------------------------------------------------------
def check_seed_handles(ctx: Context) -> Check:
    from cruddur_ops.seeds import seedfile

    users = ctx.users()
    path = ctx.seed_file()
    try:
        seed = seedfile.read(path)
    except CruddurError as exc:
        return Check("seed-handles", FAIL, str(exc), "correct the seed file")
    by_handle = {u["handle"]: u for u in users}
    handles = list(dict.fromkeys([u.handle for u in seed.users] + [h for c in seed.conversations for h in c.between]))
    missing = [h for h in handles if h not in by_handle]
    if missing:
        return Check("seed-handles", FAIL,
                     f"{len(missing)} of the {len(handles)} handles of {path} are not in users: {', '.join(missing)}",
                     f"insert the seed file's users: `cruddur db seed {path}` (or use handles that exist)",
                     details=_capped([{"handle": h} for h in missing]), fixable=True)
    mismatched = [{"handle": u.handle, "seed_uuid": u.uuid, "users_uuid": by_handle[u.handle]["uuid"]}
                  for u in seed.users if by_handle[u.handle]["uuid"] != u.uuid]
    if mismatched:
        return Check("seed-handles", WARN,
                     f"{len(mismatched)} handle(s) of {path} have another uuid in users: "
                     + ", ".join(m["handle"] for m in mismatched),
                     "seed DynamoDB with PostgreSQL's uuids: `cruddur ddb seed --users-from db`",
                     details=_capped(mismatched))
    return Check("seed-handles", OK, f"all {len(handles)} handles of {path} are in users")


def fix_seed_handles(ctx: Context) -> str:
    from cruddur_ops.pg import seed as pgseed
    from cruddur_ops.seeds import seedfile

    with ctx.write_pg(Action("insert the seed file's users")) as conn:
        known = {u["handle"] for u in ctx.users()}
        users = [u for u in seedfile.read(ctx.seed_file()).users if u.handle not in known]
        report = pgseed.seed(conn, users, [])
    return f"inserted {report['users']['inserted']} user(s): {', '.join(u.handle for u in users)}"


# --- 5. Cognito ids ---------------------------------------------------------------------------------------------------
def check_cognito_user_ids(ctx: Context) -> Check:
    from cruddur_ops import defaults

    users = ctx.users()
    placeholder = defaults.cognito_placeholder()
    bad = [{"handle": u["handle"], "cognito_user_id": u["cognito_user_id"]} for u in users
           if is_placeholder(u["cognito_user_id"], placeholder)]
    if bad:
        return Check("cognito-user-ids", WARN,
                     f"{len(bad)} of {len(users)} users have an empty or placeholder cognito_user_id: "
                     + ", ".join(f"{b['handle']} ({b['cognito_user_id'] or 'empty'})" for b in bad[:8])
                     + (" …" if len(bad) > 8 else "") + f"; signing in will not find them (users without an "
                     f"account hold {placeholder}, the app's convention)",
                     "copy the pool's subs into users: `cruddur cognito update-user-ids`", details=_capped(bad))
    return Check("cognito-user-ids", OK, f"all {len(users)} users have a cognito_user_id")


# --- 10. sessions ----------------------------------------------------------------------------------------------------------
def check_blocking_sessions(ctx: Context) -> Check:
    from cruddur_ops.pg import sessions

    conn = ctx.require_pg()
    name = conn.info.dbname
    others = sessions.list_sessions(conn)
    if others:
        described = ", ".join(describe_session(s) for s in others[:5])
        return Check("blocking-sessions", WARN,
                     f"{len(others)} other session(s) on {name}: {described}; a plain DROP DATABASE fails while "
                     "they are connected (a running app's pool is one: --fix leaves sessions alone)",
                     "to end them on purpose: `cruddur doctor --end-sessions` (names each one, asks) or "
                     "`cruddur db kill-all` (`cruddur db drop` ends them itself)",
                     details=_capped(others))
    return Check("blocking-sessions", OK, f"no other sessions on {name}")


def describe_session(session: dict) -> str:
    """``pid 4242 (application 'gunicorn' from 127.0.0.1:51234, user app, idle)``: whose session it is."""
    app = f"application '{session['application']}'" if session.get("application") else "no application_name"
    return f"pid {session['pid']} ({app} from {session['client']}, user {session['user']}, {session['state']})"


def other_sessions(ctx: Context) -> list[dict]:
    """The sessions `doctor --end-sessions` would end: every other client session on the database."""
    from cruddur_ops.pg import sessions

    ctx.settings.writable(ctx.database(), Action("end sessions"))  # the guard, before any connection
    if ctx.pg_problem():
        raise CruddurError(f"PostgreSQL does not answer: {ctx.pg_problem()}")
    return sessions.list_sessions(ctx.require_pg())


def end_sessions(ctx: Context, shown: list[dict]) -> str:
    """End exactly the sessions in ``shown`` (those the user was shown and agreed to end; a session that
    connected since is left alone). Not a --fix: ending a running app's connections is a process action."""
    from cruddur_ops.pg import sessions

    ctx.settings.writable(ctx.database(), Action("end sessions"))  # the guard, before any connection
    result = sessions.end_sessions(ctx.require_pg(), [s["pid"] for s in shown])
    by_pid = {s["pid"]: s for s in shown}
    text = f"ended {len(result['ended'])} session(s)"
    if result["ended"]:
        text += ": " + ", ".join(describe_session(by_pid[r["pid"]]) for r in result["ended"] if r["pid"] in by_pid)
    if result["not_ended"]:
        text += f"; {len(result['not_ended'])} could not be ended (not allowed for this user)"
    return text
