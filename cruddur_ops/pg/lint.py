"""`cruddur db migrate lint`: changes that lock or lose data on a live PostgreSQL, found before they run.

Each migration's statements are parsed by PostgreSQL's own grammar (``pg.sqlparse``: libpg_query through pglast),
so a rule looks at what a statement *is* (an ``ALTER TABLE … ADD COLUMN`` with a ``NOT NULL`` constraint and no
default), never at its spelling. "An existing table" is one the same migration does not create.

Rules have stable kebab-case ids (``RULES``); a migration waives one with a comment that names it::

    -- cruddur:allow drop-column  (the column was unused since release 12)

A finding is ``{"file", "line", "rule", "level", "message", "fix"}``; ``line`` is the line its statement starts on.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cruddur_ops.errors import InputError


@dataclass(frozen=True)
class Rule:
    id: str
    level: str  # error | warning
    summary: str
    fix: str


RULES: dict[str, Rule] = {r.id: r for r in (
    Rule("index-not-concurrent", "error",
         "CREATE INDEX without CONCURRENTLY on an existing table blocks every write to it until the index is built",
         "CREATE INDEX CONCURRENTLY, in a migration of its own with '-- migrate:up transaction:false'"),
    Rule("not-null-without-default", "error",
         "ADD COLUMN … NOT NULL without a default fails on a table that has rows",
         "add the column with a DEFAULT (PostgreSQL 11+ adds it without rewriting), or nullable, backfill, then "
         "a CHECK (col IS NOT NULL) NOT VALID constraint, VALIDATE it, and SET NOT NULL"),
    Rule("constraint-not-valid", "error",
         "a FOREIGN KEY or CHECK constraint added without NOT VALID scans the whole table under a lock that blocks writes",
         "ADD CONSTRAINT … NOT VALID, then VALIDATE CONSTRAINT in a later migration (it does not block writes)"),
    Rule("column-type-rewrite", "error",
         "ALTER COLUMN … TYPE rewrites the table and its indexes under an ACCESS EXCLUSIVE lock (reads blocked too)",
         "add a new column of the new type, backfill it in batches, switch the app, then drop the old column"),
    Rule("drop-column", "error",
         "DROP COLUMN loses the column's data, and the running app's queries that name it fail",
         "stop using the column in the app first, then drop it in a later release (waive with "
         "'-- cruddur:allow drop-column' once that is so)"),
    Rule("drop-table", "error",
         "DROP TABLE loses the table's rows, and the running app's queries that name it fail",
         "stop using the table in the app first, keep a backup, then drop it (waive with '-- cruddur:allow drop-table')"),
    Rule("rename-table", "error",
         "renaming a table breaks the running app's queries until it is deployed again",
         "create a view with the old name (or keep both names) until every app version uses the new one"),
    Rule("rename-column", "error",
         "renaming a column breaks the running app's queries until it is deployed again",
         "add the new column, write both, backfill, switch reads, then drop the old one"),
    Rule("missing-lock-timeout", "warning",
         "locking DDL without a lock_timeout (or statement_timeout) queues behind long transactions and blocks "
         "every query that arrives after it",
         "start the section with SET lock_timeout = '2s'; (and retry the migration if it times out)"),
    Rule("missing-down", "warning",
         "no '-- migrate:down' section: the migration cannot be reverted",
         "add a '-- migrate:down' section that undoes the up section"),
    Rule("concurrently-in-transaction", "error",
         "CONCURRENTLY cannot run inside a transaction block, and dbmate runs every section in one",
         "mark the section '-- migrate:up transaction:false' (and keep the migration to that one statement)"),
    Rule("invalid-migration", "error",
         "the file cannot be read as a migration",
         "fix the file as the message says"),
    Rule("unknown-waiver", "warning",
         "a cruddur:allow comment names no rule",
         "name one of the rules of `cruddur db migrate lint --help`"),
)}

_WAIVER = re.compile(r"--\s*cruddur:allow\s+([A-Za-z0-9_,\s-]+)")
_SERIALS = {"serial", "serial2", "serial4", "serial8", "smallserial", "bigserial"}
_TIMEOUTS = {"lock_timeout", "statement_timeout"}


@dataclass
class Finding:
    file: str
    line: int
    rule: str
    level: str
    message: str
    fix: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class LintResult:
    files: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    waived: int = 0

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.level == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.level == "warning")


def _key(rangevar, schema: str = "public") -> tuple[str, str]:
    """A statement's target relation as ``(schema, name)``; an unqualified name goes to ``schema``.
    (pglast has already folded unquoted names to lower case and kept quoted ones as written.)"""
    return (rangevar.schemaname or schema, rangevar.relname)


def _name_key(names, schema: str = "public") -> tuple[str, str]:
    """The same for a name given as a list of ``String`` nodes (``DROP TABLE s.t``)."""
    parts = [n.sval for n in names]
    return (parts[-2] if len(parts) > 1 else schema, parts[-1])


def _display(key: tuple[str, str]) -> str:
    return key[1] if key[0] == "public" else ".".join(key)


def _has_default(column) -> bool:
    from pglast.enums.parsenodes import ConstrType

    type_name = column.typeName.names[-1].sval if column.typeName and column.typeName.names else ""
    if type_name in _SERIALS or (column.identity or "\x00") != "\x00" or (column.generated or "\x00") != "\x00":
        return True
    kinds = {c.contype for c in column.constraints or ()}
    return bool(kinds & {ConstrType.CONSTR_DEFAULT, ConstrType.CONSTR_IDENTITY, ConstrType.CONSTR_GENERATED})


def _not_null(column) -> bool:
    from pglast.enums.parsenodes import ConstrType

    return bool(column.is_not_null) or any(c.contype == ConstrType.CONSTR_NOTNULL for c in column.constraints or ())


def _binary_coercible_target(column) -> bool:
    """text, or varchar without a length: a change to them is cheap from varchar (and rewrites from anything else)."""
    names = [n.sval for n in column.typeName.names] if column.typeName else []
    return (bool(names) and names[-1] in ("text", "varchar") and not column.typeName.typmods
            and column.raw_default is None)  # USING … always rewrites


class _Section:
    """The rules over one section's statements, in order."""

    def __init__(self, path: Path, transaction: bool, direction: str, created: set[tuple[str, str]], out: list[Finding],
                 count: int = 1):
        self.path, self.transaction, self.direction, self.created, self.out = path, transaction, direction, created, out
        self.count = count  # statements in the section
        self.timeout = False
        self.lock_reported = False

    def add(self, rule: str, line: int, message: str, level: str | None = None) -> None:
        r = RULES[rule]
        self.out.append(Finding(str(self.path), line, rule, level or r.level, message, r.fix))

    def existing(self, key: tuple[str, str]) -> bool:
        return key not in self.created

    def locking(self, line: int, what: str) -> None:
        if not self.timeout and not self.lock_reported:
            self.lock_reported = True
            self.add("missing-lock-timeout", line, f"{what} takes a lock with no lock_timeout or statement_timeout set "
                                                   "before it in this section")

    def concurrently(self, line: int, what: str) -> None:
        if self.transaction:
            self.add("concurrently-in-transaction", line,
                     f"{what} CONCURRENTLY in a section that runs in a transaction: PostgreSQL refuses it "
                     "(ERROR: cannot run inside a transaction block)")
        elif self.count > 1:
            self.add("concurrently-in-transaction", line,
                     f"{what} CONCURRENTLY beside {self.count - 1} other statement(s) in a transaction:false section: "
                     "cruddur runs them one by one, but dbmate sends the section as one string, which PostgreSQL "
                     "runs as one implicit transaction, and refuses", level="warning")

    def check(self, node: Any, line: int) -> None:
        from pglast import ast
        from pglast.enums.parsenodes import AlterTableType, ConstrType, ObjectType

        if isinstance(node, ast.VariableSetStmt) and (node.name or "").lower() in _TIMEOUTS:
            self.timeout = True
            return
        up = self.direction == "up"
        if isinstance(node, ast.IndexStmt):
            table = _key(node.relation)
            if node.concurrent:
                self.concurrently(line, "CREATE INDEX")
            elif up and self.existing(table):
                self.add("index-not-concurrent", line,
                         f"CREATE INDEX {node.idxname or ''} on {_display(table)} without CONCURRENTLY blocks writes "
                         "to the table while the index builds".replace("  ", " "))
                self.locking(line, "CREATE INDEX")
            return
        if isinstance(node, ast.ReindexStmt):
            if any((p.defname or "").lower() == "concurrently" for p in node.params or ()):
                self.concurrently(line, "REINDEX")
            return
        if isinstance(node, ast.DropStmt):
            if node.concurrent:
                self.concurrently(line, "DROP INDEX")
            if up and node.removeType == ObjectType.OBJECT_TABLE:
                for names in node.objects or ():
                    table = _name_key(names)
                    if self.existing(table):
                        self.add("drop-table", line, f"DROP TABLE {_display(table)} loses its rows")
                        self.locking(line, "DROP TABLE")
            return
        if not up:
            return
        if isinstance(node, ast.RenameStmt) and node.relation is not None:
            table = _key(node.relation)
            if not self.existing(table):
                return
            if node.renameType == ObjectType.OBJECT_TABLE:
                self.add("rename-table", line, f"RENAME of table {_display(table)} to {node.newname}")
                self.locking(line, "ALTER TABLE … RENAME")
            elif node.renameType == ObjectType.OBJECT_COLUMN:
                self.add("rename-column", line, f"RENAME of column {_display(table)}.{node.subname} to {node.newname}")
                self.locking(line, "ALTER TABLE … RENAME COLUMN")
            return
        if isinstance(node, ast.AlterTableStmt) and node.relation is not None:
            table = _key(node.relation)
            if not self.existing(table):
                return
            self.locking(line, f"ALTER TABLE {_display(table)}")
            for cmd in node.cmds or ():
                subtype = cmd.subtype
                if subtype == AlterTableType.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
                    column = cmd.def_
                    if _not_null(column) and not _has_default(column):
                        self.add("not-null-without-default", line,
                                 f"ADD COLUMN {column.colname} NOT NULL without a default on {_display(table)}: "
                                 "fails when the table has rows")
                    for constraint in column.constraints or ():
                        if constraint.contype in (ConstrType.CONSTR_FOREIGN, ConstrType.CONSTR_CHECK):
                            kind = "REFERENCES" if constraint.contype == ConstrType.CONSTR_FOREIGN else "CHECK"
                            self.add("constraint-not-valid", line,
                                     f"ADD COLUMN {column.colname} … {kind} on {_display(table)} validates the "
                                     "constraint at once, under a lock that blocks writes (add the column, then the "
                                     "constraint NOT VALID)")
                        elif constraint.contype in (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY):
                            self.add("index-not-concurrent", line,
                                     f"ADD COLUMN {column.colname} … UNIQUE/PRIMARY KEY on {_display(table)} builds "
                                     "an index while writes wait")
                elif subtype == AlterTableType.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint):
                    constraint = cmd.def_
                    if constraint.contype in (ConstrType.CONSTR_FOREIGN, ConstrType.CONSTR_CHECK) and not constraint.skip_validation:
                        kind = "FOREIGN KEY" if constraint.contype == ConstrType.CONSTR_FOREIGN else "CHECK"
                        self.add("constraint-not-valid", line,
                                 f"{kind} constraint {constraint.conname or ''} added to {_display(table)} without "
                                 "NOT VALID: validated under a lock that blocks writes".replace("  ", " "))
                    elif constraint.contype in (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY) and not constraint.indexname:
                        self.add("index-not-concurrent", line,
                                 f"UNIQUE/PRIMARY KEY constraint {constraint.conname or ''} added to {_display(table)} "
                                 "builds its index while writes wait; build it with CREATE UNIQUE INDEX CONCURRENTLY, "
                                 "then ADD CONSTRAINT … USING INDEX".replace("  ", " "))
                elif subtype == AlterTableType.AT_AlterColumnType and isinstance(cmd.def_, ast.ColumnDef):
                    cheap = _binary_coercible_target(cmd.def_)
                    self.add("column-type-rewrite", line,
                             f"ALTER COLUMN {cmd.name} TYPE on {_display(table)} rewrites the table"
                             + (" unless the old type is varchar (then only the catalog changes)" if cheap else ""),
                             level="warning" if cheap else None)
                elif subtype == AlterTableType.AT_DropColumn:
                    self.add("drop-column", line, f"DROP COLUMN {_display(table)}.{cmd.name} loses its data")


def _waivers(text: str, path: Path, out: list[Finding]) -> set[str]:
    waived: set[str] = set()
    for number, line in enumerate(text.split("\n"), 1):
        m = _WAIVER.search(line)
        if not m or not line.lstrip().startswith("--"):
            continue
        for name in re.split(r"[\s,]+", m.group(1).strip()):
            if not name:
                continue
            if name in RULES:
                waived.add(name)
            else:
                r = RULES["unknown-waiver"]
                out.append(Finding(str(path), number, r.id, r.level, f"cruddur:allow names no rule: {name!r}", r.fix))
                break  # the rest of the line is prose
    return waived


def lint_file(path: Path, allow: frozenset[str] = frozenset()) -> tuple[list[Finding], int]:
    """The findings of one migration file, and how many were waived."""
    from pglast import ast

    from cruddur_ops.pg import migrate
    from cruddur_ops.pg.sqlparse import parse

    path = Path(path)
    findings: list[Finding] = []
    try:
        mig = migrate.parse(path)
        text = path.read_text(encoding="utf-8")
    except InputError as exc:
        r = RULES["invalid-migration"]
        message = str(exc).removeprefix(f"{path}:{exc.line}: " if exc.line else f"{path}: ")
        return [Finding(str(path), exc.line or 1, r.id, r.level, message, r.fix)], 0
    waived = _waivers(text, path, findings) | set(allow)
    raw: list[Finding] = []
    nodes = {}
    for direction, section in (("up", mig.up), ("down", mig.down)):
        for statement in section.statements:
            try:
                nodes[(direction, statement.offset)] = parse(statement, path=path)
            except InputError as exc:
                r = RULES["invalid-migration"]
                return [Finding(str(path), statement.line, r.id, r.level, str(exc).split(": ", 1)[-1], r.fix)], 0
    created = {_key(n.relation) for (d, _), n in nodes.items() if d == "up" and isinstance(n, ast.CreateStmt)}
    created |= {_key(n.into.rel) for (d, _), n in nodes.items()
                if d == "up" and isinstance(n, ast.CreateTableAsStmt) and n.into is not None}
    for direction, section in (("up", mig.up), ("down", mig.down)):
        checker = _Section(path, section.transaction, direction, created if direction == "up" else set(), raw,
                           len(section.statements))
        for statement in section.statements:
            checker.check(nodes[(direction, statement.offset)], statement.line)
    if not mig.down.present:
        r = RULES["missing-down"]
        raw.append(Finding(str(path), mig.up.line, r.id, r.level, "no '-- migrate:down' section", r.fix))
    kept = [f for f in raw if f.rule not in waived]
    findings.extend(kept)
    return sorted(findings, key=lambda f: (f.line, f.rule)), len(raw) - len(kept)


def lint(paths: list[Path], allow: frozenset[str] = frozenset()) -> LintResult:
    """Lint migration files; a folder stands for its migration files (dbmate names), oldest first."""
    from cruddur_ops.pg import migrate

    unknown = sorted(set(allow) - set(RULES))
    if unknown:
        raise InputError(f"--allow {unknown[0]}: no such rule (rules: {', '.join(RULES)})")
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix == ".sql" and migrate._FILE_RE.match(p.name))
        elif path.exists():
            files.append(path)
        else:
            raise InputError("no such file or folder", path=path)
    result = LintResult(files=[str(f) for f in files])
    for file in files:
        findings, waived = lint_file(file, allow)
        result.findings += findings
        result.waived += waived
    return result
