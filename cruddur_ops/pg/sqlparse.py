"""SQL statements as PostgreSQL reads them: split and parsed by libpg_query (the server's own grammar, via pglast).

``split_statements`` is linear in the size of the text (the split runs in C; offsets are found with one forward
scan), so an 8 MB migration splits in about a second. Each statement keeps the file line it starts on, so an error
the server reports can name the file's line. ``refuse_unsafe`` rejects, before anything runs, what would make the
server read the statements differently from the way they were split and checked here: transaction control
(BEGIN/COMMIT/ROLLBACK/…) in a file that runs in one transaction, and any change of ``standard_conforming_strings``
(with it off, a backslash ends a string early and a COMMIT hidden in a string literal becomes a statement).
The statements are then run with ``standard_conforming_strings = on`` (``pin_session``) one at a time through
the extended protocol (``execute``), which refuses a text the server would read as more than one statement.

pglast is imported inside the functions, so ``cruddur --help`` never loads it.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cruddur_ops.errors import InputError

# the statements that end, start or split a transaction (the first keyword of a statement the parser split off)
TRANSACTION_KEYWORDS = frozenset({"BEGIN", "COMMIT", "ROLLBACK", "START", "END", "ABORT", "SAVEPOINT", "RELEASE"})
_WORD = re.compile(r"[A-Za-z_]+")
SCS = "standard_conforming_strings"


@dataclass(frozen=True, slots=True)
class Statement:
    text: str
    offset: int  # where the statement starts in the file (characters)
    line: int  # the 1-based line it starts on

    def line_at(self, position: int) -> int:
        """The file line of a 1-based character ``position`` inside this statement (the server's error position)."""
        return self.line + self.text[: max(position - 1, 0)].count("\n")

    @property
    def keyword(self) -> str:
        """The statement's first keyword, upper case ('' when it starts with something else, e.g. '(')."""
        m = _WORD.match(self.text)
        return m.group(0).upper() if m else ""


class _Lines:
    """Line numbers of character offsets, by binary search over the line starts (linear to build)."""

    def __init__(self, text: str):
        self.starts = [0]
        i = text.find("\n")
        while i >= 0:
            self.starts.append(i + 1)
            i = text.find("\n", i + 1)

    def line(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)


def _one_line(message: object, limit: int = 160) -> str:
    """The parser's message on one line (it quotes the text it stopped at, newlines and all), cut to ``limit``."""
    flat = " ".join(str(message).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def split_statements(text: str, *, path: Path | str | None = None, first_line: int = 1) -> list[Statement]:
    """The SQL statements of ``text`` as the server's grammar splits them, each with its offset and line.

    Comments before a statement are not part of it. A syntax error is an InputError naming the line
    (``path:line: syntax error at or near "SELEC"``). ``first_line`` is the line ``text`` starts on in its file.
    """
    from pglast import parser

    try:
        pieces = parser.split(text)
    except parser.ParseError as exc:
        message, index = (exc.args + (None, None))[:2]
        line = _Lines(text).line(index) + first_line - 1 if isinstance(index, int) else None
        raise InputError(f"{_one_line(message)} (as PostgreSQL's parser reads it)", path=path, line=line) from None
    lines = _Lines(text)
    statements: list[Statement] = []
    position = 0
    for piece in pieces:
        # the pieces come in order and between them stand only blanks, ';' and comments: the first match from
        # where the last one ended is the statement itself (comments before it are not part of the piece)
        start = text.find(piece, position)
        if start < 0:  # cannot happen; keep the offsets honest rather than guess
            raise InputError("the SQL splitter lost its place in the file", path=path)
        position = start + len(piece)
        statements.append(Statement(piece, start, lines.line(start) + first_line - 1))
    return statements


def parse(statement: Statement, *, path: Path | str | None = None) -> Any:
    """The statement's parse tree (a pglast ``RawStmt``'s ``stmt`` node)."""
    from pglast import parser
    from pglast.ast import RawStmt

    try:
        (raw,) = parser.parse_sql(statement.text)
    except parser.ParseError as exc:
        raise InputError(f"{_one_line(exc.args[0])} (as PostgreSQL's parser reads it)", path=path,
                         line=statement.line) from None
    except ValueError:
        raise InputError("not one SQL statement", path=path, line=statement.line) from None
    assert isinstance(raw, RawStmt)
    return raw.stmt


def is_transaction_control(statement: Statement) -> bool:
    """BEGIN, COMMIT, ROLLBACK, START TRANSACTION, END, ABORT, SAVEPOINT, RELEASE, PREPARE TRANSACTION,
    COMMIT/ROLLBACK PREPARED: decided by the parser for the statements that start with such a keyword."""
    keyword = statement.keyword
    if keyword not in TRANSACTION_KEYWORDS and keyword != "PREPARE":
        return False
    from pglast.ast import TransactionStmt

    return isinstance(parse(statement), TransactionStmt)


def changes_scs(statement: Statement) -> bool:
    """Whether the statement names ``standard_conforming_strings`` anywhere (SET, RESET, set_config(…), ALTER …
    SET, a function body): cruddur refuses them all rather than guess which of them change it."""
    return SCS in statement.text.lower()


def refuse_unsafe(statements: list[Statement], *, path: Path | str, in_transaction: bool, what: str,
                  hint: str = "") -> None:
    """Refuse, with file and line, statements that would commit or end the transaction the file runs in
    (``in_transaction``), and any that touch ``standard_conforming_strings``."""
    for statement in statements:
        if changes_scs(statement):
            raise InputError(f"{SCS} may not be changed in {what}: cruddur splits and checks statements as the "
                             "server reads them with it on (with it off a COMMIT can hide in a string)",
                             path=path, line=statement.line)
        if in_transaction and is_transaction_control(statement):
            raise InputError(f"transaction control ({statement.keyword}) in {what}, which runs in one transaction "
                             "of its own: it would commit part of it or end the transaction early; refused "
                             f"before anything ran{hint}", path=path, line=statement.line)


def pin_session(conn) -> None:
    """Make the session read strings as the splitter did (a database or role may default to off)."""
    conn.execute(f"SET {SCS} = on")


def execute(cur, statement: Statement) -> None:
    """Run one statement through the extended protocol, which refuses a text that the server reads as several
    statements (so nothing the splitter did not see can run). Rows it returns come back in binary and are not read."""
    cur.execute(statement.text, binary=True)
