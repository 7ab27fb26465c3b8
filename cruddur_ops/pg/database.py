"""Connections to PostgreSQL, and the masking that keeps passwords out of every output and error.

The URL is the settings' ``connection_url`` (``CONNECTION_URL`` / ``DATABASE_URL``, or ``PROD_CONNECTION_URL``
with --prod), else ``DEFAULT_URL``. URLs are parsed and rebuilt with psycopg's conninfo helpers, so another
database of the same server is ``make_conninfo(url, dbname="postgres")`` — never an edit of the URL's text.
Every connection gets a connect timeout and ``application_name=cruddur`` unless the URL sets its own.

A database whose host is not loopback (or a local socket) counts as production: writing to it needs --prod.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from cruddur_ops.errors import AuthError, EngineError, InputError, NotFoundError, ProdGuardError
from cruddur_ops.settings import Settings
from cruddur_ops.targets import PgHost, Resolved, libpq_hosts

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/cruddur"
CONNECT_TIMEOUT = 3
APPLICATION_NAME = "cruddur"
MASK = "***"

# Databases every server has, used to create, drop or look at the URL's own database from outside it.
MAINTENANCE_DATABASES = ("postgres", "template1")

_URL_RE = re.compile(r"postgres(?:ql)?://[^\s'\"<>`]+", re.IGNORECASE)
_TRAILING = ".,;:)]}"
_USERINFO_RE = re.compile(r"^([a-z]+://[^:@/?#]*:)(.*)@", re.IGNORECASE)
_QUERY_PASSWORD_RE = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)
_CONNINFO_REST_RE = re.compile(r"(password\s*=\s*).*", re.IGNORECASE | re.DOTALL)
_CONNINFO_PASSWORD_RE = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'?|[^\s&'\"]+)", re.IGNORECASE)


# --- masking ------------------------------------------------------------------------------------------
def _is_url(text: str) -> bool:
    return text.lower().startswith(("postgresql://", "postgres://"))


def to_url(params: Mapping[str, str]) -> str:
    """A ``postgresql://`` URL from conninfo parameters (as ``conninfo_to_dict`` returns them).

    A password equal to ``MASK`` is written as is, so masked URLs read ``postgresql://user:***@host/db``.
    Local-socket and multi-host hosts go into the query, where libpq accepts them too.
    """
    rest = dict(params)
    user, password = rest.pop("user", None), rest.pop("password", None)
    host, port, dbname = rest.pop("host", None), rest.pop("port", None), rest.pop("dbname", None)
    netloc = ""
    if user is not None or password is not None:
        netloc = quote(user or "", safe="")
        if password is not None:
            netloc += ":" + (MASK if password == MASK else quote(password, safe=""))
        netloc += "@"
    if host and not host.startswith("/") and "," not in host:
        netloc += f"[{host}]" if ":" in host else host
        if port:
            netloc += f":{port}"
    else:
        if host:
            rest = {"host": host, **rest}
        if port:
            rest = {"port": port, **rest}
    url = "postgresql://" + netloc + ("/" + quote(dbname, safe="") if dbname else "")
    if rest:
        url += "?" + urlencode(rest, quote_via=quote, safe="/,")
    return url


def mask_url(url: str) -> str:
    """The URL (or key=value conninfo) with its password shown as ``***``; unchanged when it has none."""
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        params: dict[str, Any] = conninfo_to_dict(url)
    except ProgrammingError:
        if not _is_url(url):  # where an unquoted password with a space ends is anyone's guess: hide the rest
            return _CONNINFO_REST_RE.sub(lambda m: m.group(1) + MASK, url)
        return _mask_unparsed(url)
    if "password" in params:
        params["password"] = MASK
        url = to_url(params) if _is_url(url) else make_conninfo(**params)
    # libpq reads an unencoded '/' or '@' of a password as part of the host: mask by shape as well
    return _mask_unparsed(url) if _is_url(url) else url


def _mask_unparsed(text: str) -> str:
    """A URL libpq cannot parse: hide everything between the user and the last '@', and any password=."""
    text = _USERINFO_RE.sub(lambda m: m.group(1) + MASK + "@", text)
    return _QUERY_PASSWORD_RE.sub(lambda m: m.group(1) + MASK, text)


def _mask_url_token(match: re.Match) -> str:
    token = match.group(0)
    stripped = token.rstrip(_TRAILING)
    return mask_url(stripped) + token[len(stripped):]


def mask_text(text: str) -> str:
    """``text`` with the password of every PostgreSQL URL and every ``password=…`` fragment masked."""
    if not text:
        return text
    text = _URL_RE.sub(_mask_url_token, text)
    text = _CONNINFO_PASSWORD_RE.sub(lambda m: m.group(1) + MASK, text)
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


# A SQL password literal: PASSWORD 'x', E'x', $$x$$ or $tag$x$tag$, also cut short (pg_stat_activity truncates
# query text at track_activity_query_size), so an unterminated literal is masked to the end.
_SQL_PASSWORD_RE = re.compile(
    r"""(\bpassword\s*(?:=\s*)?)(?:(?:[eE]|[uU]&)?'(?:[^'\\]|''|\\.)*(?:'|$)|(\$[A-Za-z_0-9]*\$).*?(?:\2|$))""",
    re.IGNORECASE | re.DOTALL,
)
# libpq's key = value inside a SQL literal, its quotes doubled: 'host=h password = ''secret'' dbname=d'
_DOUBLED_PASSWORD_RE = re.compile(r"(\bpassword\s*=\s*)''(?:[^']|'(?!'))*?(?:''|$)", re.IGNORECASE | re.DOTALL)
# JSON: "password": "…" (and the usual other names of a secret)
_JSON_SECRET_RE = re.compile(r'("(?:password|passwd|pwd|secret|secret_access_key|token)"\s*:\s*)"(?:[^"\\]|\\.)*"?',
                             re.IGNORECASE)
# user:secret@ in a URL of any scheme
_ANY_URL_USERINFO_RE = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/@'\"]*:)[^\s@'\"]*@", re.IGNORECASE)


def mask_sql(query: str) -> str:
    """SQL text (another session's query, a schema dump) with its secrets masked — the one routine for SQL:
    ``PASSWORD '…'`` (also ``E'…'``, ``U&'…'``, dollar-quoted), libpq's ``password=…`` and ``password = '…'``
    (also with the quotes doubled inside a SQL literal), JSON ``"password": "…"``, and ``user:…@`` in URLs
    all read ``***``."""
    if not query:
        return query
    query = _DOUBLED_PASSWORD_RE.sub(lambda m: m.group(1) + MASK, query)
    query = _JSON_SECRET_RE.sub(lambda m: m.group(1) + '"' + MASK + '"', query)
    query = _SQL_PASSWORD_RE.sub(lambda m: m.group(1) + "'" + MASK + "'", query)
    query = _ANY_URL_USERINFO_RE.sub(lambda m: m.group(1) + MASK + "@", query)
    return mask_text(query)


# --- the database a command acts on ------------------------------------------------------------------
def parse(url: str, source: str = "the connection string") -> dict[str, Any]:
    """The URL's conninfo parameters; an unparseable one is an InputError naming the field or the position.

    The message never quotes the text: libpq's own words (``invalid percent-encoded token: "Hunter2pw%ZZ"``,
    ``missing "=" after "words"``) echo whatever surrounds the mistake, and that is often the password.
    """
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(url)
    except ProgrammingError as exc:
        raise InputError(f"cannot parse {source}: {parse_problem(url, str(exc))}") from None
    if _is_url(url):
        rest = url[url.index("://") + 3:].split("#", 1)[0]
        netloc = re.split(r"[/?]", rest, maxsplit=1)[0]
        if netloc.count("@") > 1 or "@" in rest[len(netloc):]:
            raise InputError(f"cannot parse {source}: an '@' where libpq does not expect one; in the user or "
                             "password write '@' as %40, '/' as %2F, '?' as %3F and '#' as %23")
    password = params.get("password")
    remember_secret(str(password) if password is not None else None)
    return params


# libpq's connection keywords: only these are ever named in a parse error (anything else may be a password's piece)
_KEYWORDS = frozenset("""
    host hostaddr port dbname user password passfile require_auth channel_binding connect_timeout
    client_encoding options application_name fallback_application_name keepalives keepalives_idle
    keepalives_interval keepalives_count tcp_user_timeout replication gssencmode sslmode sslnegotiation
    sslcompression sslcert sslkey sslkeylogfile sslpassword sslcertmode sslrootcert sslcrl sslcrldir sslsni
    requirepeer ssl_min_protocol_version ssl_max_protocol_version krbsrvname gsslib gssdelegation service
    target_session_attrs load_balance_hosts
""".split())

_PERCENT_BAD_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def parse_problem(text: str, libpq_message: str = "") -> str:
    """What is wrong with a connection string libpq refused, by field and character position, quoting nothing."""
    if _is_url(text):
        return _url_problem(text, libpq_message)
    return _conninfo_problem(text, libpq_message)


def _url_problem(url: str, libpq_message: str) -> str:
    rest_start = url.index("://") + 3
    rest = url[rest_start:]
    # the parts of a URL, as libpq splits them: userinfo up to the last '@' before the path
    end_of_netloc = len(rest)
    for ch in "/?":
        at = rest.find(ch, rest.rfind("@") + 1)
        if at != -1:
            end_of_netloc = min(end_of_netloc, at)
    netloc = rest[:end_of_netloc]
    parts: list[tuple[str, int, str]] = []  # (field, offset in url, text)
    at = netloc.rfind("@")
    if at != -1:
        userinfo = netloc[:at]
        colon = userinfo.find(":")
        if colon != -1:
            parts += [("user", rest_start, userinfo[:colon]), ("password", rest_start + colon + 1, userinfo[colon + 1:])]
        else:
            parts.append(("user", rest_start, userinfo))
    parts.append(("host", rest_start + at + 1, netloc[at + 1:]))
    tail = rest[end_of_netloc:]
    tail_start = rest_start + end_of_netloc
    path, _, query = tail.partition("?")
    if path.startswith("/"):
        parts.append(("database name", tail_start + 1, path[1:]))
    if query:
        offset = tail_start + len(path) + 1
        for pair in query.split("&"):
            key, eq, value = pair.partition("=")
            name = f"{key} parameter" if key in _KEYWORDS else "query parameter"
            parts.append((f"{name}'s name" if eq else name, offset, key))
            if eq:
                parts.append((name, offset + len(key) + 1, value))
            offset += len(pair) + 1
    for name, offset, part in parts:
        bad = _PERCENT_BAD_RE.search(part)
        if bad:
            return (f"malformed percent-encoding in the {name} (character {offset + bad.start() + 1}): "
                    "'%' must be followed by two hex digits; write a literal '%' as %25")
    if "[" in netloc[at + 1:] and "]" not in netloc[at + 1:]:
        return "an IPv6 host address opened with '[' is not closed with ']'"
    previous = None
    for pair in query.split("&") if query else []:
        key = pair.partition("=")[0]
        if key not in _KEYWORDS:
            if previous == "password":  # maybe the rest of a password holding a raw '&'
                return "an unknown query parameter after the password parameter (write '&' in a password as %26)"
            if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,40}", key):
                return f"unknown query parameter '{key}'"
            return "an unknown query parameter"
        previous = key
    return "not a valid postgresql:// URL: " + _unquoted(libpq_message)


def _conninfo_problem(text: str, libpq_message: str) -> str:
    """libpq's key=value scanner, reporting the position of the first mistake and the key it belongs to."""
    i, n = 0, len(text)
    previous: str | None = None
    unknown: tuple[int, str | None] | None = None  # (position, the known key before it) of the first key libpq does not know
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        start = i
        while i < n and text[i] != "=" and not text[i].isspace():
            i += 1
        key_end = i
        while i < n and text[i].isspace():
            i += 1
        if i >= n or text[i] != "=":
            if previous is None:
                return f"character {start + 1}: expected key=value (e.g. host=127.0.0.1 dbname=cruddur)"
            return (f"character {start + 1}: a word without '=' after the value of {previous}; "
                    f"a value with spaces must be quoted: {previous}='…'")
        key = text[start:key_end]
        if key not in _KEYWORDS and unknown is None:
            unknown = (start, previous)
        previous = key if key in _KEYWORDS else "an unknown option"
        i += 1
        while i < n and text[i].isspace():
            i += 1
        if i < n and text[i] == "'":
            opened = i
            i += 1
            while i < n and text[i] != "'":
                i += 2 if text[i] == "\\" else 1
            if i >= n:
                return f"character {opened + 1}: the quoted value of {previous} is not closed with '"
            i += 1
        else:
            while i < n and not text[i].isspace():
                i += 2 if text[i] == "\\" else 1
    if unknown is not None:
        position, before = unknown
        where = f" after the value of {before}" if before else ""
        return f"character {position + 1}: an unknown option name{where}"
    return "not a valid key=value connection string: " + _unquoted(libpq_message)


def _unquoted(message: str) -> str:
    """libpq's message with every quoted piece of the input left out."""
    message = " ".join(message.split())
    return re.sub(r'"[^"]*"', "…", message) or "libpq cannot parse it"


CLUSTER_PASSFILE = "postgres.pgpass"  # the private cluster's password file (cruddur_ops.local.pgcluster.passfile)

_SECRETS: set[str] = set()


def remember_secret(password: str | None) -> None:
    """A password this process has read: :func:`mask_text` hides it wherever it shows up, even out of context."""
    if password and len(password) >= 4:
        _SECRETS.add(password)


@dataclass(frozen=True)
class Database:
    """One PostgreSQL database, named by a libpq URL; knows how to reach it and whether it is production."""

    url: str
    source: str = "URL"  # where the URL came from: CONNECTION_URL, DATABASE_URL, PROD_CONNECTION_URL, default
    params: dict = field(default_factory=dict, compare=False, repr=False)
    libpq_env: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)  # libpq's PG* defaults
    writable: bool = False  # made by Settings.database(write=...) after the guard; else read-only on production

    @classmethod
    def from_url(cls, url: str, source: str = "URL", env: Mapping[str, str] | None = None) -> Database:
        return cls(url, source, parse(url, source), dict(env or {}))

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        url = settings.connection_url
        if settings.prod:
            if not url:
                raise InputError("--prod acts on PROD_CONNECTION_URL, which is not set")
            return cls.from_url(url, "PROD_CONNECTION_URL", settings.libpq_env)
        if not url:
            return cls.from_url(DEFAULT_URL, "default", settings.libpq_env)
        return cls.from_url(url, settings.connection_url_source, settings.libpq_env)

    @property
    def masked(self) -> str:
        return mask_url(self.url)

    @property
    def name(self) -> str | None:
        """The database named by the URL (None when the URL leaves it to libpq's default)."""
        return self.params.get("dbname") or None

    def require_name(self) -> str:
        if not self.name:
            raise InputError(f"the connection URL {self.masked} names no database; add one, e.g. …/cruddur")
        return self.name

    @property
    def resolved(self) -> Resolved:
        """host/hostaddr/port as libpq will use them: the URL, then the service file, then PGHOST/PGHOSTADDR/PGPORT."""
        return libpq_hosts(self.params, self.libpq_env)

    @property
    def hosts(self) -> list[PgHost]:
        return self.resolved.hosts

    @property
    def host(self) -> str:
        return ",".join(h.describe() for h in self.hosts)

    @property
    def is_local(self) -> bool:
        """Local only when EVERY host libpq may try is loopback or a Unix socket; anything else is production."""
        return all(h.local for h in self.hosts)

    def guard_write(self, *, prod: bool, action: str) -> None:
        """Refuse to change a database that is not local unless --prod was given. Connects to nothing."""
        if not self.is_local and not prod:
            remote = [h.describe() for h in self.hosts if not h.local]
            verb = "is not a local host" if len(remote) == 1 else "are not local hosts"
            raise ProdGuardError(
                f"refusing to {action} on {self.masked}: {', '.join(remote)} {verb}; pass --prod to act on production"
            )

    def conninfo(self, dbname: str | None = None) -> str:
        """The conninfo to connect with: the URL, maybe another database, plus timeout and application name."""
        from psycopg.conninfo import make_conninfo

        extra: dict = {"fallback_application_name": APPLICATION_NAME}
        resolved = self.resolved
        if all(h.known for h in resolved.hosts):
            extra.update(resolved.explicit())  # connect where the guard judged, whatever else libpq's environment says
        if "connect_timeout" not in self.params:
            extra["connect_timeout"] = CONNECT_TIMEOUT
        if dbname is not None:
            extra["dbname"] = dbname
        if not self.writable and not self.is_local:  # fail closed: production is read-only without the guard
            extra["options"] = (self.params.get("options", "") + " -c default_transaction_read_only=on").strip()
        if self.proves_server:
            extra["require_auth"] = "scram-sha-256"
        return make_conninfo(self.url, **extra)

    @property
    def proves_server(self) -> bool:
        """Whether connections must use SCRAM (libpq's ``require_auth=scram-sha-256``): when the password comes
        from a private cluster's password file (``<data dir>/postgres.pgpass``, by ``passfile=`` or PGPASSFILE)
        and the URL says nothing of its own. SCRAM never reveals the password, and the server proves it knows it:
        whoever took the cluster's port while it was down and asks for a clear-text or md5 password gets nothing."""
        if "password" in self.params or "require_auth" in self.params:
            return False
        source = self.params.get("passfile") or self.libpq_env.get("PGPASSFILE") or ""
        if Path(source).name != CLUSTER_PASSFILE:
            return False
        import psycopg

        return psycopg.pq.version() >= 160000

    def describe(self, dbname: str | None = None) -> str:
        """The masked URL, naming ``dbname`` instead of the URL's database when given."""
        if dbname is None:
            return self.masked
        params = dict(self.params, dbname=dbname)
        if "password" in params:
            params["password"] = MASK
        return to_url(params)

    def connect(self, *, dbname: str | None = None, autocommit: bool = False):
        """A psycopg connection; a failure is an EngineError with a hint and no password."""
        import psycopg

        try:
            return psycopg.connect(self.conninfo(dbname), autocommit=autocommit)
        except psycopg.OperationalError as exc:
            raise connect_error(self.describe(dbname), exc) from None

    @property
    def maintenance_name(self) -> str:
        return next(name for name in MAINTENANCE_DATABASES if name != self.name)

    def connect_maintenance(self):
        """An autocommit connection to the server's maintenance database (to create, drop, or look from outside)."""
        return self.connect(dbname=self.maintenance_name, autocommit=True)


@contextmanager
def schema_required(db_name: str | None = None):
    """Turn "relation users does not exist" into a hint to load the schema first."""
    import psycopg

    try:
        yield
    except psycopg.errors.UndefinedTable as exc:
        where = f" in database {db_name}" if db_name else ""
        raise NotFoundError(
            f"{exc.diag.message_primary}{where}: load the schema first with `cruddur db schema-load` (or `cruddur db setup`)"
        ) from None


def reason(exc: BaseException) -> str:
    """The useful part of a psycopg error, on one line, masked."""
    text = " ".join(line.strip() for line in str(exc).strip().splitlines() if line.strip()) or type(exc).__name__
    text = re.sub(r"^connection failed:\s*", "", text)
    return mask_text(re.sub(r"\s+", " ", text))


class DatabaseNotFound(NotFoundError, EngineError):
    """The server answered, the database does not exist (exit status of not found; still an EngineError)."""


class ConnectAuthError(AuthError, EngineError):
    """The server refused the user or password (exit status of auth; still an EngineError)."""


def connect_error(where: str, exc: BaseException) -> EngineError:
    """The error for a failed connection: not found (no such database), auth, or unreachable (EngineError)."""
    text = reason(exc)
    kind: type[EngineError] = EngineError
    hint = ""
    if "does not exist" in text and "database" in text:
        kind, hint = DatabaseNotFound, "; create it with `cruddur db create` (or `cruddur db setup`)"
    elif "refused" in text or "timeout expired" in text or "could not translate host" in text:
        hint = "; is PostgreSQL running there? start one with `cruddur local up`"
    elif "password authentication failed" in text or "no pg_hba.conf entry" in text:
        kind, hint = ConnectAuthError, "; check the user and password in the connection URL"
    return kind(f"cannot connect to {where}: {text}{hint}")


def psql_command(db: Database, args: list[str], env: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """The argv and environment that run ``psql`` on the database; the password travels in PGPASSWORD, not argv."""
    import shutil

    from psycopg.conninfo import make_conninfo

    exe = shutil.which("psql", path=env.get("PATH"))
    if not exe:
        raise EngineError(
            "psql not found on PATH: install the PostgreSQL client (apt-get install postgresql-client, "
            "brew install libpq) or connect with any client to " + db.masked
        )
    params = dict(db.params)
    if all(h.known for h in db.hosts):
        params.update({k: v for k, v in db.resolved.explicit().items() if v})
    password = params.pop("password", None)
    params.setdefault("connect_timeout", str(CONNECT_TIMEOUT))
    child_env = dict(env)
    if password is not None:
        child_env["PGPASSWORD"] = password
    return [exe, "--dbname", make_conninfo(**params), *args], child_env
