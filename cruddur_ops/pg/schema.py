"""Load ``schemas/schema.sql``: every statement in one transaction, the first error named by file and line.

The file is split into statements here (quotes, dollar quotes and comments respected) so that an error the
server reports without a position still points at the line where its statement starts, and one with a
position points at the exact line. ``reset`` drops the tables the file creates, in the same transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cruddur_ops.errors import InputError

_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$")
_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)'
_CREATE_TABLE = re.compile(
    r"CREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?(?:(?:TEMP|TEMPORARY|UNLOGGED)\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    rf"({_IDENT}(?:\s*\.\s*{_IDENT})?)",
    re.IGNORECASE,
)
_TRANSACTION_CONTROL = re.compile(r"(BEGIN|COMMIT|ROLLBACK|START\s+TRANSACTION|END|ABORT)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Statement:
    text: str
    offset: int  # where the statement starts in the file (characters)
    line: int  # the 1-based line it starts on

    def line_at(self, position: int) -> int:
        """The file line of a 1-based character ``position`` inside this statement (the server's error position)."""
        return self.line + self.text[: max(position - 1, 0)].count("\n")


def _skip_comment(text: str, i: int) -> int:
    """``i`` is at ``--`` or ``/*``; return the index after the comment (block comments nest)."""
    if text.startswith("--", i):
        end = text.find("\n", i)
        return len(text) if end < 0 else end + 1
    depth, i = 1, i + 2
    while i < len(text) and depth:
        if text.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif text.startswith("*/", i):
            depth, i = depth - 1, i + 2
        else:
            i += 1
    return i


def _skip_quoted(text: str, i: int, quote: str, backslash: bool) -> int:
    """``i`` is at an opening quote; return the index after the closing one (doubled quotes escape)."""
    i += 1
    while i < len(text):
        c = text[i]
        if backslash and c == "\\":
            i += 2
            continue
        if c == quote:
            if text.startswith(quote * 2, i):
                i += 2
                continue
            return i + 1
        i += 1
    return i


def split_statements(text: str) -> list[Statement]:
    """The SQL statements of ``text``, each with its offset and starting line; comments between them dropped."""
    statements: list[Statement] = []
    start: int | None = None
    i, n = 0, len(text)

    def close(end: int) -> None:
        nonlocal start
        if start is not None:
            body = text[start:end].rstrip()
            if body:
                statements.append(Statement(body, start, text.count("\n", 0, start) + 1))
        start = None

    while i < n:
        c = text[i]
        if text.startswith(("--", "/*"), i):
            i = _skip_comment(text, i)
            continue
        if c.isspace():
            i += 1
            continue
        if start is None:
            start = i
        if c == ";":
            close(i)
            i += 1
        elif c == "'":
            escaped = i > 0 and text[i - 1] in "eE" and (i < 2 or not (text[i - 2].isalnum() or text[i - 2] == "_"))
            i = _skip_quoted(text, i, "'", backslash=escaped)
        elif c == '"':
            i = _skip_quoted(text, i, '"', backslash=False)
        elif c == "$" and (m := _DOLLAR_TAG.match(text, i)) and not (i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_")):
            end = text.find(m.group(0), m.end())
            i = n if end < 0 else end + len(m.group(0))
        else:
            i += 1
    close(n)
    return statements


def _name_parts(name: str) -> tuple[str, ...]:
    parts = re.findall(_IDENT, name)
    return tuple(p[1:-1].replace('""', '"') if p.startswith('"') else p.lower() for p in parts)


def created_tables(statements: list[Statement]) -> list[tuple[str, ...]]:
    """The tables the statements create, as (schema, name) or (name,), in file order."""
    tables = []
    for statement in statements:
        m = _CREATE_TABLE.match(statement.text)
        if m and _name_parts(m.group(1)) not in tables:
            tables.append(_name_parts(m.group(1)))
    return tables


def read(path: Path) -> tuple[str, list[Statement]]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("schema file not found (pass a path, or run from the project folder)", path=path) from None
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", path=path) from None
    statements = split_statements(text)
    if not statements:
        raise InputError("no SQL statements in the file", path=path)
    for statement in statements:
        if _TRANSACTION_CONTROL.match(statement.text):
            raise InputError(
                "transaction control (BEGIN/COMMIT/ROLLBACK) is not allowed: schema-load runs the whole file "
                "in one transaction of its own", path=path, line=statement.line)
    return text, statements


def _display(parts: tuple[str, ...]) -> str:
    return parts[-1] if parts[:-1] in ((), ("public",)) else ".".join(parts)


def load(conn, path: Path, *, reset: bool = False) -> dict:
    """Run the schema file on ``conn`` in one transaction; return what happened to each table it creates.

    Existing tables are kept (the file is written with IF NOT EXISTS); with ``reset`` the file's tables are
    dropped first (CASCADE), so they come back empty. Any error rolls everything back and is an InputError
    naming the file and line.
    """
    import psycopg
    from psycopg import sql

    path = Path(path)
    _, statements = read(path)
    tables = created_tables(statements)
    report = []
    with conn.transaction():
        with conn.cursor() as cur:
            existed = {}
            rows = {}
            for parts in tables:
                cur.execute("SELECT to_regclass(%s) IS NOT NULL", [sql.Identifier(*parts).as_string(conn)])
                existed[parts] = cur.fetchone()[0]
                if reset and existed[parts]:
                    cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*parts)))
                    rows[parts] = cur.fetchone()[0]
            if reset:
                for parts in reversed(tables):
                    cur.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(sql.Identifier(*parts)))
            for statement in statements:
                try:
                    cur.execute(statement.text)
                except psycopg.Error as exc:
                    diag = exc.diag
                    position = diag.statement_position
                    line = statement.line_at(int(position)) if position else statement.line
                    message = diag.message_primary or str(exc).strip().splitlines()[0]
                    sqlstate = f" [{exc.sqlstate}]" if exc.sqlstate else ""
                    raise InputError(f"{message}{sqlstate}; nothing was changed", path=path, line=line) from None
    for parts in tables:
        if reset and existed[parts]:
            action = "recreated"
        else:
            action = "kept" if existed[parts] else "created"
        report.append({"name": _display(parts), "action": action, "dropped_rows": rows.get(parts) if reset else None})
    return {"file": str(path), "reset": reset, "statements": len(statements), "tables": report}
