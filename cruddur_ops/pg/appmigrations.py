"""The Cruddur app's own migration files, read without running them, and its ``schema_information`` table.

The app's later weeks write migrations as Python files beside dbmate's, e.g.
``migrations/1681123578345345_add_bio_column.py``::

    class AddBioColumnMigration:
        @staticmethod
        def migrate_sql():
            data = \"\"\"
            ALTER TABLE public.users ADD COLUMN bio text;
            \"\"\"
            return data

        @staticmethod
        def rollback_sql():
            return "ALTER TABLE public.users DROP COLUMN bio;"

and its own ``bin/db/migrate`` runs every file whose leading timestamp is greater than
``schema_information.last_successful_run`` (``id integer UNIQUE, last_successful_run text``, one row, id 1), then
stores the timestamp there. cruddur reads such a file with :mod:`ast` and never imports it: each of the two
methods must return a string literal (directly, or through names assigned string literals); anything else is an
InputError naming the file and line. The other methods (``migrate()``, ``rollback()``) and the imports are ignored.

The app's migrations run through ``db migrate`` in timestamp order with the dbmate files. An app migration counts
as applied when its timestamp is not after ``last_successful_run`` (so what the app's script applied is applied
for cruddur too); applying one stores its own timestamp there, reverting one stores the previous app migration's
(or ``0``), so the app's script finds nothing to do afterwards. Timestamps are compared as moments: dbmate's
``YYYYMMDDHHMMSS``, epoch seconds (``1681123578``) and the app's epoch-with-fraction digits
(``1681123578345345``, ``str(time.time()).replace('.', '')``) sort together.
"""

from __future__ import annotations

import ast
import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

from cruddur_ops.errors import InputError
from cruddur_ops.pg.schema import Statement, split_statements

TABLE = "schema_information"
FILE_RE = re.compile(r"^(\d+)_([A-Za-z0-9_]+)\.py$")
_TRANSACTION_CONTROL = re.compile(r"(BEGIN|COMMIT|ROLLBACK|START\s+TRANSACTION|END|ABORT)\b", re.IGNORECASE)
METHODS = ("migrate_sql", "rollback_sql")


# --- order -------------------------------------------------------------------------------------------------------
def moment(version: str) -> float | None:
    """The UTC moment a version's digits stand for (dbmate's YYYYMMDDHHMMSS or epoch seconds with optional
    fraction digits); None for a plain sequence number."""
    if not version.isdigit():
        return None
    if len(version) == 14 and 1970 <= int(version[:4]) <= 2200:
        try:
            return datetime.strptime(version, "%Y%m%d%H%M%S").replace(tzinfo=UTC).timestamp()
        except ValueError:
            pass
    if len(version) >= 10:
        return int(version[:10]) + (float("0." + version[10:]) if len(version) > 10 else 0.0)
    return None


def order_key(version: str) -> tuple:
    """Sort key of a version: sequence numbers first (by number), then timestamps of any of the forms, by moment."""
    at = moment(version)
    if at is None:
        return (0, int(version) if version.isdigit() else 0, version)
    return (1, at, version)


def not_after(version: str, mark: str) -> bool:
    """Whether ``version`` is at or before ``mark`` (``last_successful_run``), compared as moments."""
    return order_key(version)[:2] <= order_key(mark)[:2]


# --- the files ------------------------------------------------------------------------------------------------
def is_app_file(path: Path) -> bool:
    return FILE_RE.match(Path(path).name) is not None


def _string(node: ast.expr, names: dict[str, tuple[str, int]]) -> tuple[str, int] | None:
    """The value and first line of a string expression made of literals (and names bound to them), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value, node.lineno
    if isinstance(node, ast.JoinedStr) and all(isinstance(v, ast.Constant) for v in node.values):
        return "".join(str(v.value) for v in node.values if isinstance(v, ast.Constant)), node.lineno
    if isinstance(node, ast.Name) and node.id in names:
        return names[node.id]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _string(node.left, names), _string(node.right, names)
        if left and right:
            return left[0] + right[0], left[1]
    return None


def _literal(func: ast.FunctionDef, path: Path) -> tuple[str, int]:
    """What ``func`` returns: a string literal, or a name assigned one; refuse everything else."""
    refuse = ("must return a string literal (cruddur reads the app's migrations without running them): "
              f"write `def {func.name}(): return \"\"\"SQL\"\"\"`")
    for decorator in func.decorator_list:
        if not (isinstance(decorator, ast.Name) and decorator.id == "staticmethod"):
            raise InputError(f"{func.name}: only @staticmethod may decorate it; {refuse}", path=path,
                             line=decorator.lineno)
    names: dict[str, tuple[str, int]] = {}
    body = list(func.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str) and len(body) > 1:
        body = body[1:]  # the docstring
    for statement in body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                and isinstance(statement.targets[0], ast.Name):
            value = _string(statement.value, names)
            if value is None:
                raise InputError(f"{func.name}: {refuse}", path=path, line=statement.lineno)
            names[statement.targets[0].id] = value
        elif isinstance(statement, ast.Return) and statement.value is not None:
            value = _string(statement.value, names)
            if value is None:
                raise InputError(f"{func.name}: {refuse}", path=path, line=statement.lineno)
            return value
        elif isinstance(statement, ast.Pass):
            continue
        else:
            raise InputError(f"{func.name}: {refuse}", path=path, line=statement.lineno)
    raise InputError(f"{func.name}: returns nothing; {refuse}", path=path, line=func.lineno)


def _statements(sql: str, first_line: int, path: Path, method: str) -> list[Statement]:
    """The SQL's statements with the file's own line numbers (the literal's text starts on ``first_line``)."""
    out = []
    for statement in split_statements(sql):
        line = first_line + statement.line - 1
        if _TRANSACTION_CONTROL.match(statement.text):
            raise InputError(f"{method}: transaction control (BEGIN/COMMIT/ROLLBACK) in a migration that runs in a "
                             "transaction of its own", path=path, line=line)
        out.append(Statement(statement.text, statement.offset, line))
    return out


def parse(path: Path):
    """One app migration file as a :class:`cruddur_ops.pg.migrate.Migration` of kind ``app``; never imported."""
    from cruddur_ops.pg.migrate import Migration, Section, read_file

    path = Path(path)
    m = FILE_RE.match(path.name)
    if not m:
        raise InputError("not an app migration file name: expected TIMESTAMP_name.py", path=path)
    raw, text = read_file(path)
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError as exc:
        raise InputError(f"not valid Python: {exc.msg}", path=path, line=exc.lineno) from None
    classes = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            methods = {f.name: f for f in node.body if isinstance(f, ast.FunctionDef) and f.name in METHODS}
            if "migrate_sql" in methods:
                classes.append((node, methods))
    if not classes:
        raise InputError("no class with a migrate_sql() method (the app's migrations define one, with "
                         "rollback_sql())", path=path)
    if len(classes) > 1:
        raise InputError(f"{len(classes)} classes define migrate_sql(); an app migration file has one",
                         path=path, line=classes[1][0].lineno)
    cls, methods = classes[0]
    sections = {}
    for kind, method in (("up", "migrate_sql"), ("down", "rollback_sql")):
        func = methods.get(method)
        if func is None:
            sections[kind] = Section([], True, 0)
            continue
        sql, first = _literal(func, path)
        sections[kind] = Section(_statements(sql, first, path, method), True, func.lineno)
    return Migration(m.group(1), m.group(2), path, hashlib.sha256(raw).hexdigest(), sections["up"],
                     sections["down"], kind="app")


def read_dir(folder: Path) -> list:
    """The app migration files of ``folder`` (unsorted; :func:`cruddur_ops.pg.migrate.read_dir` orders all)."""
    return [parse(p) for p in sorted(Path(folder).iterdir()) if p.is_file() and is_app_file(p)]


def previous_version(path: Path) -> str:
    """The timestamp of the newest app migration in ``path``'s folder before it, else ``"0"``."""
    m = FILE_RE.match(path.name)
    own = order_key(m.group(1) if m else "0")
    earlier = [FILE_RE.match(p.name).group(1) for p in path.parent.iterdir()  # type: ignore[union-attr]
               if FILE_RE.match(p.name) and p != path]
    earlier = [v for v in earlier if order_key(v) < own]
    return max(earlier, key=order_key) if earlier else "0"


# --- schema_information -----------------------------------------------------------------------------------------
def last_successful_run(conn) -> str | None:
    """``schema_information.last_successful_run`` (the row with the lowest id); None without the table or row."""
    if not conn.execute("SELECT to_regclass(%s) IS NOT NULL", [f"public.{TABLE}"]).fetchone()[0]:
        return None
    row = conn.execute(f"SELECT last_successful_run FROM public.{TABLE} ORDER BY id NULLS LAST LIMIT 1").fetchone()
    return None if row is None or row[0] is None else str(row[0]).strip()


def applied(conn, migrations) -> list[str]:
    """The versions of the app migrations among ``migrations`` that ``schema_information`` counts as applied."""
    app = [m for m in migrations if m.kind == "app"]
    if not app:
        return []
    mark = last_successful_run(conn)
    if not mark or not mark.isdigit():
        return []
    return [m.version for m in app if not_after(m.version, mark)]


def store(cur, value: str) -> None:
    """Set ``last_successful_run`` (creating the app's table and its row 1 when missing), in the caller's transaction."""
    cur.execute(f"CREATE TABLE IF NOT EXISTS public.{TABLE} (id integer UNIQUE, last_successful_run text)")
    cur.execute(f"UPDATE public.{TABLE} SET last_successful_run = %s WHERE id = 1", [value])
    if cur.rowcount == 0:
        cur.execute(f"INSERT INTO public.{TABLE} (id, last_successful_run) VALUES (1, %s)", [value])


def record_applied(cur, mig) -> None:
    store(cur, mig.version)


def record_reverted(cur, mig) -> None:
    store(cur, previous_version(mig.path))
