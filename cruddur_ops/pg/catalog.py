"""A database's schema as structured objects read from pg_catalog, and the differences between two of them.

A snapshot maps ``(kind, name)`` to a small dict of what defines the object::

    ("table", "public.users")            {}
    ("column", "public.users.bio")       {"table": "public.users", "type": "text", "nullable": True, "default": None}
    ("index", "public.users_pkey")       {"table": "public.users", "definition": "CREATE UNIQUE INDEX … USING btree (uuid)"}
    ("constraint", "public.users.users_pkey")  {"table": "public.users", "definition": "PRIMARY KEY (uuid)"}

Kinds: table, column, index, constraint, view, sequence, type (enums), function. Column order is not compared.
The bookkeeping tables (dbmate's ``schema_migrations``, cruddur's ``cruddur_migrations``, the app's
``schema_information``) and objects of extensions are left out: they are not what the migrations make.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

OWN_TABLES = ("schema_migrations", "cruddur_migrations", "schema_information")

Key = tuple[str, str]
Snapshot = dict[Key, dict[str, Any]]

_USER_SCHEMAS = ("n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%%' "
                 "AND n.nspname NOT LIKE 'pg\\_temp\\_%%'")
_NOT_EXTENSION = "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = {oid} AND d.deptype = 'e')"
_OWN = "NOT (n.nspname = 'public' AND {rel} = ANY(%(own)s))"


def snapshot(conn) -> Snapshot:
    """Every table, column, index, constraint, view, sequence, enum type and function of the user schemas."""
    params = {"own": list(OWN_TABLES)}
    out: Snapshot = {}

    def rows(sql: str):
        return conn.execute(sql, params).fetchall()

    for schema, table in rows(f"""
            SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND {_USER_SCHEMAS} AND {_OWN.format(rel='c.relname')}
              AND {_NOT_EXTENSION.format(oid='c.oid')}"""):
        out[("table", f"{schema}.{table}")] = {}
    for schema, table, column, type_, notnull, default in rows(f"""
            SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   pg_get_expr(ad.adbin, ad.adrelid)
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
            WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p') AND {_USER_SCHEMAS}
              AND {_OWN.format(rel='c.relname')} AND {_NOT_EXTENSION.format(oid='c.oid')}"""):
        out[("column", f"{schema}.{table}.{column}")] = {
            "table": f"{schema}.{table}", "type": type_, "nullable": not notnull, "default": default}
    for schema, index, table, definition in rows(f"""
            SELECT n.nspname, ic.relname, c.relname, pg_get_indexdef(i.indexrelid)
            FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class c ON c.oid = i.indrelid
            JOIN pg_namespace n ON n.oid = ic.relnamespace
            WHERE c.relkind IN ('r', 'p', 'm') AND {_USER_SCHEMAS} AND {_OWN.format(rel='c.relname')}
              AND {_NOT_EXTENSION.format(oid='c.oid')}"""):
        out[("index", f"{schema}.{index}")] = {"table": f"{schema}.{table}", "definition": definition}
    for schema, table, name, definition in rows(f"""
            SELECT n.nspname, c.relname, co.conname, pg_get_constraintdef(co.oid)
            FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE co.contype IN ('p', 'u', 'f', 'c', 'x') AND {_USER_SCHEMAS} AND {_OWN.format(rel='c.relname')}
              AND {_NOT_EXTENSION.format(oid='c.oid')}"""):
        out[("constraint", f"{schema}.{table}.{name}")] = {"table": f"{schema}.{table}", "definition": definition}
    for schema, name, kind, definition in rows(f"""
            SELECT n.nspname, c.relname, c.relkind,
                   CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('v', 'm', 'S') AND {_USER_SCHEMAS} AND {_NOT_EXTENSION.format(oid='c.oid')}
              AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
                       WHERE d.objid = c.oid AND d.deptype IN ('a', 'i') AND n.nspname = 'public'
                         AND t.relname = ANY(%(own)s)))"""):
        if kind == "S":
            out[("sequence", f"{schema}.{name}")] = {}
        else:
            out[("view", f"{schema}.{name}")] = {"definition": " ".join(str(definition).split())}
    for schema, name, labels in rows(f"""
            SELECT n.nspname, t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)
            FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid
            WHERE {_USER_SCHEMAS} AND {_NOT_EXTENSION.format(oid='t.oid')} GROUP BY 1, 2"""):
        out[("type", f"{schema}.{name}")] = {"definition": "ENUM (" + ", ".join(labels) + ")"}
    for schema, name, args, definition in rows(f"""
            SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), md5(pg_get_functiondef(p.oid))
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE p.prokind IN ('f', 'p') AND {_USER_SCHEMAS} AND {_NOT_EXTENSION.format(oid='p.oid')}"""):
        out[("function", f"{schema}.{name}({args})")] = {"definition": f"md5:{definition}"}
    return out


@dataclass
class Difference:
    """One way the live schema differs from the expected one; ``migration`` is the file that should have made the
    expected state (None: the base schema file, or no migration touches it)."""

    kind: str  # missing_table, extra_column, column_type, column_nullable, column_default, index_definition, …
    object: str  # "column public.users.bio"
    live: Any
    expected: Any
    migration: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        if self.kind.startswith("missing_"):
            return f"{self.object} is missing"
        if self.kind.startswith("extra_"):
            return f"{self.object} should not be there"
        return f"{self.object}: {self.kind.split('_', 1)[1]} is {self.live!r}, expected {self.expected!r}"


def _summary(kind: str, value: dict[str, Any] | None) -> Any:
    if value is None:
        return None
    if kind == "column":
        return {k: value[k] for k in ("type", "nullable", "default")}
    return value.get("definition")


def compare(live: Snapshot, expected: Snapshot, history: list[tuple[str | None, Snapshot]] | None = None) -> list[Difference]:
    """What differs between ``live`` and ``expected``, children of a missing or extra table left out.

    ``history`` — the expected schema after each step, ``[(None, after the base), (migration file, after it), …]`` —
    names the migration of each difference: the last step that changed that object."""
    out: list[Difference] = []
    tables_gone = {name for kind, name in expected if kind == "table" and (kind, name) not in live}
    tables_extra = {name for kind, name in live if kind == "table" and (kind, name) not in expected}

    def skip(value: dict[str, Any]) -> bool:
        return value.get("table") in tables_gone or value.get("table") in tables_extra

    def maker(key: Key) -> str | None:
        if not history:
            return None
        made, before = None, None
        for label, snap in history:
            now = snap.get(key)
            if now != before:
                made = label
            before = now
        return made

    for key in sorted(set(expected) | set(live)):
        kind, name = key
        want, have = expected.get(key), live.get(key)
        if want is not None and have is None:
            if not skip(want):
                out.append(Difference(f"missing_{kind}", f"{kind} {name}", None, _summary(kind, want), maker(key)))
        elif have is not None and want is None:
            if not skip(have):
                out.append(Difference(f"extra_{kind}", f"{kind} {name}", _summary(kind, have), None, maker(key)))
        elif want != have and want is not None and have is not None:
            if kind == "column":
                for field in ("type", "nullable", "default"):
                    if want[field] != have[field]:
                        out.append(Difference(f"column_{field}", f"{kind} {name}", have[field], want[field], maker(key)))
            else:
                out.append(Difference(f"{kind}_definition", f"{kind} {name}", _summary(kind, have),
                                      _summary(kind, want), maker(key)))
    return out
