"""Which PostgreSQL `cruddur local up` uses: the server the settings name when one answers there, else a private
cluster (:mod:`cruddur_ops.local.pgcluster` runs it).

The choice ``up`` makes (mode ``auto``):

1. the private cluster an earlier ``up`` started, when it still runs;
2. the settings' URL (``CONNECTION_URL``, ``DATABASE_URL``, else ``postgresql://postgres@127.0.0.1:5432/cruddur``)
   when its host is local and a server answers there — the default URL only while no private cluster exists
   on disk, so that ``up``, ``down``, ``up`` comes back to the same data;
3. otherwise the private cluster in ``<data_dir>/postgres``, made (once) with the installed binaries (``initdb``
   and ``postgres`` on PATH, or in the directory ``pg_config --bindir`` names): a generated superuser password
   (scram-sha-256) kept in ``<data_dir>/postgres.pgpass`` for ``PGPASSFILE``, listening on 127.0.0.1 only, no
   Unix socket, on a free port (reserved like DynamoDB Local's, with the same code).

Mode ``private`` skips step 2. Whatever was chosen is then set up as ``cruddur db setup`` does it: the database
created, ``schemas/schema.sql`` loaded, the seed file's users and activities inserted (all idempotent).

PostgreSQL refuses to run as root. When this process is root, ``initdb`` and the server run as the ``postgres``
system user (created when missing; ``local status`` shows it as ``os_user``). When that user cannot reach the data dir (``/root`` is mode 700), the
cluster lives in that user's home and ``<data_dir>/postgres`` is a symlink to it.

``up`` records pid, port and URL in ``<data_dir>/postgres.json``; ``status`` and ``down`` read it, and ``down``
stops only that pid. A server ``up`` merely used is never stopped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cruddur_ops.errors import EngineError
from cruddur_ops.local import pgcluster

MODES = ("auto", "private")


# --- any server: answering, and set up as `db setup` does it -------------------------------------------------------
def probe(db) -> str | None:
    """None when a server answers at the URL (its database may still be missing), else why not."""
    import psycopg

    from cruddur_ops.pg.database import reason

    last = "no attempt"
    for name in (db.name, db.maintenance_name):
        try:
            psycopg.connect(db.conninfo(name)).close()
            return None
        except psycopg.OperationalError as exc:
            last = reason(exc)
            if "does not exist" not in last:
                break
    return last


# --- what `up`, `status` and `env` use -----------------------------------------------------------------------------
@dataclass
class Service:
    """The PostgreSQL ``up`` settled on: a private cluster (``kind="private"``) or a server it found (``"server"``)."""

    kind: str
    url: str  # the real URL (a private cluster's has no password: see ``connect_url``); print ``masked``
    source: str  # "private cluster", "CONNECTION_URL", "DATABASE_URL" or "default"
    started: bool = False
    initialised: bool = False
    cluster: pgcluster.Cluster | None = None
    setup: dict | None = None

    @property
    def connect_url(self) -> str:
        """What this tool connects with: a private cluster's URL plus its ``passfile``."""
        return self.cluster.connect_url if self.cluster else self.url

    @property
    def passfile(self) -> str | None:
        return self.cluster.passfile if self.cluster and self.cluster.passfile else None

    @property
    def masked(self) -> str:
        from cruddur_ops.pg.database import mask_url

        return mask_url(self.url)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "url": self.masked, "source": self.source, "started": self.started,
                "initialised": self.initialised, "pid": self.cluster.pid if self.cluster else None,
                "port": self.cluster.port if self.cluster else None,
                "data": self.cluster.pgdata if self.cluster else None, "setup": self.setup,
                "os_user": self.cluster.user if self.cluster else None}


def _setup_private(cluster: pgcluster.Cluster, seed_path: Path | None) -> dict:
    """``db setup`` on the private cluster (connecting with its password file); the result shows its plain URL."""
    from cruddur_ops.pg import setup as pgsetup
    from cruddur_ops.pg.database import Database, mask_url

    done = pgsetup.setup_database(Database.from_url(cluster.connect_url, "private cluster"), seed_path=seed_path)
    return {**done, "url": mask_url(cluster.url)}


def settings_database(settings):
    """The database the settings name, for local use (never PROD_CONNECTION_URL)."""
    from cruddur_ops.pg.database import Database

    return Database.from_settings(dataclasses.replace(settings, prod=False))


def impossible_message(db, problem: str | None) -> str:
    where = f"no PostgreSQL server answers at {db.masked} ({problem}), and " if problem else ""
    return (f"PostgreSQL: {where}no PostgreSQL binaries were found (initdb and pg_ctl, on PATH or in "
            f"`pg_config --bindir`): {pgcluster.INSTALL_HINT}, or set CONNECTION_URL to a server you have")


def up(settings, *, mode: str = "auto", port: int | None = None, reset: bool = False,
       seed_path: Path | None = None, on_note: Callable[[str], None] | None = None) -> Service:
    """Use or start PostgreSQL as the module docstring describes, then set it up; never stops anything else.

    ``reset`` wipes the private cluster (stopped and deleted, then made afresh) and, when a server is used
    instead, drops and reloads the schema's tables there. EngineError (with the install hint) when neither a
    server answers nor binaries are installed.
    """
    from cruddur_ops.pg import setup as pgsetup

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    note = on_note or (lambda message: None)
    data_dir = Path(settings.data_dir)
    if reset and pgcluster.wipe(data_dir):
        note(f"wiped the private PostgreSQL cluster of {data_dir}")
    cluster = pgcluster.running(data_dir)
    if cluster:
        note(f"already running: PostgreSQL pid {cluster.pid} on port {cluster.port}")
        setup = _setup_private(cluster, seed_path)
        return Service("private", cluster.url, "private cluster", cluster=cluster, setup=setup)

    problem = None
    db = settings_database(settings)
    # Only a URL the user set (CONNECTION_URL / DATABASE_URL) names a server to use; without one the private
    # cluster is used, never whatever answers on 127.0.0.1:5432 (a shared server someone else runs).
    if mode == "auto" and db.source != "default":
        if not db.is_local:
            note(f"{db.masked} is not on this machine; `local up` leaves it alone and starts a private cluster")
        else:
            problem = probe(db)
            if problem is None:
                note(f"using the PostgreSQL server at {db.masked} ({db.source})")
                setup = pgsetup.setup_database(db, seed_path=seed_path, reset=reset)
                return Service("server", db.url, db.source, setup=setup)
            note(f"no PostgreSQL at {db.masked} ({problem}); starting a private cluster")

    binaries = pgcluster.find_binaries(settings.child_env())
    if binaries is None:
        raise EngineError(impossible_message(db, problem))
    initialised = pgcluster.initialise(data_dir, binaries, settings.child_env())
    if initialised:
        note(f"initialised a PostgreSQL cluster in {pgcluster.home_link(data_dir)}; its superuser's generated "
             f"password is in {pgcluster.passfile(data_dir)} (PGPASSFILE, mode 0600)")
    cluster = None
    last = pgcluster.remembered_port(data_dir) if port is None else None
    if last is not None and not pgcluster.port_open(last):  # the port of last time, while it is free
        try:
            cluster = pgcluster.start(data_dir, binaries, settings.child_env(), port=last)
        except EngineError:  # taken meanwhile (or not bindable): a free port instead
            cluster = None
    if cluster is None:
        cluster = pgcluster.start(data_dir, binaries, settings.child_env(), port=port)
    pgcluster.write_state(data_dir, cluster)
    pgcluster.remember_port(data_dir, cluster.port)
    note(f"started PostgreSQL pid {cluster.pid} on port {cluster.port} (as {cluster.user})")
    try:
        pgcluster.rotate_password(data_dir, cluster)
        setup = _setup_private(cluster, seed_path)
    except Exception:
        pgcluster.down(data_dir)
        raise
    return Service("private", cluster.url, "private cluster", started=True, initialised=initialised,
                   cluster=cluster, setup=setup)


def current(settings) -> Service:
    """What ``up`` would use now, without connecting: the running private cluster, else the settings' URL."""
    cluster = pgcluster.running(settings.data_dir)
    if cluster:
        return Service("private", cluster.url, "private cluster", cluster=cluster)
    db = settings_database(settings)
    return Service("server", db.url, db.source)


def status(settings) -> dict:
    """``{"service", "state", "pid", "endpoint", "source", "os_user", "data", "installed", "database", "tables",
    "error"}`` (``os_user``: the OS user a private cluster runs as);
    never raises for an unreachable server."""
    from cruddur_ops.pg import admin
    from cruddur_ops.pg.database import Database

    service = current(settings)
    db = Database.from_url(service.connect_url, service.source, settings.libpq_env)  # PGPASSFILE: SCRAM required
    doc = admin.status(db)
    state = "up" if doc["reachable"] else "down"
    if service.kind == "private" and state == "down":
        state = "starting"  # the pid lives but does not answer yet
    return {"service": "postgres", "state": state, "pid": service.cluster.pid if service.cluster else None,
            "endpoint": service.masked, "source": service.source,
            "os_user": service.cluster.user if service.cluster else None,
            "data": service.cluster.pgdata if service.cluster else None,
            "installed": pgcluster.find_binaries(settings.child_env()) is not None, "database": doc["database"],
            "exists": doc["exists"], "tables": doc["tables"], "error": doc["error"]}
