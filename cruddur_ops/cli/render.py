"""The one place that prints results: rich tables on a terminal, one JSON document (or JSON lines) for scripts.

Commands build a plain ``doc`` (what ``--output json`` prints) and, for tables, a list of ``Section``s.
Notes, warnings and progress go to stderr, so stdout carries the result alone.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Iterable, Iterator


class Output(str, Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"  # one JSON document per row, streamed
    csv = "csv"  # a header row, then one row per item/row, streamed


def resolve(output: Output | None) -> Output:
    """``table`` on a terminal, ``json`` when stdout is piped, unless the user chose."""
    if output is not None:
        return output
    return Output.table if sys.stdout.isatty() else Output.json


@dataclass
class Column:
    header: str
    key: str | Callable[[dict], Any]
    max_width: int | None = None
    justify: str = "left"
    style: str | None = None

    def value(self, row: dict) -> str:
        value = self.key(row) if callable(self.key) else row.get(self.key)
        if value is None:
            return ""
        if isinstance(value, float):
            return f"{value:g}"
        if isinstance(value, (list, tuple)):
            return ", ".join(str(v) for v in value)
        if isinstance(value, dict):
            return json.dumps(value, ensure_ascii=False)
        text = str(value)
        if self.max_width and len(text) > self.max_width:
            text = text[: self.max_width - 1] + "…"
        return text


@dataclass
class Section:
    title: str | None
    columns: list[Column]
    rows: list[dict]
    caption: str | None = None
    empty: str = "(none)"


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, soft_wrap=False, highlight=False)


def _default(value: Any) -> Any:
    """JSON for what ``json`` cannot write: numbers with more digits than a float as ``{"$n": "…"}``
    (ddb/typed.py's typed form), anything else as its text."""
    if type(value).__name__ == "LongNumber":
        return {"$n": str(value)}
    return str(value)


def to_json(doc: Any) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False, default=_default)


def rows_of(doc: Any) -> list | None:
    """The rows a ``jsonl``/``csv`` output prints: the document's first list of objects (items, tables, users…)."""
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for value in doc.values():
            if isinstance(value, list) and (not value or isinstance(value[0], dict)):
                return value
    return None


def emit(doc: Any, output: Output | None, sections: Callable[[], list[Section]] | list[Section] | None = None) -> None:
    """Print ``doc`` as JSON, or its ``sections`` as rich tables."""
    output = resolve(output)
    if output in (Output.jsonl, Output.csv):
        rows = rows_of(doc)
        emit_rows(rows if rows is not None else [doc], output)
        return
    if output is Output.json or sections is None:
        sys.stdout.write(to_json(doc) + "\n")
        sys.stdout.flush()
        return
    from rich.table import Table

    console = _console()
    for section in sections() if callable(sections) else sections:
        table = Table(title=section.title, caption=section.caption, title_justify="left", caption_justify="left")
        for col in section.columns:
            table.add_column(col.header, justify=col.justify, style=col.style, overflow="fold")
        for row in section.rows:
            table.add_row(*(col.value(row) for col in section.columns))
        if not section.rows:
            table.add_row(*([section.empty] + [""] * (len(section.columns) - 1)))
        console.print(table)


def emit_lines(items: Iterable[Any]) -> int:
    """Stream one JSON document per line (``--output jsonl``); memory stays flat. Numbers keep every digit."""
    from cruddur_ops.ddb.typed import dumps

    count = 0
    write = sys.stdout.write
    for item in items:
        write(dumps(item) + "\n")
        count += 1
    sys.stdout.flush()
    return count


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or isinstance(value, (dict, list)):
        from cruddur_ops.ddb.typed import dumps

        return dumps(value)
    return str(value)


def emit_csv(rows: Iterable[dict]) -> int:
    """Stream rows as CSV: the header is the union of the rows' keys (first-seen order), so the rows are
    spooled to a temporary file first; memory stays flat."""
    import csv
    import tempfile

    from cruddur_ops.ddb.typed import dumps, loads

    columns: dict[str, None] = {}
    count = 0
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
        for row in rows:
            row = row if isinstance(row, dict) else {"value": row}
            for key in row:
                columns.setdefault(key, None)
            spool.write(dumps(row) + "\n")
            count += 1
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(list(columns))
        spool.seek(0)
        for line in spool:
            row = loads(line)
            writer.writerow([_cell(row.get(c)) for c in columns])
    sys.stdout.flush()
    return count


def emit_rows(rows: Iterable[Any], output: Output) -> int:
    """``jsonl`` or ``csv`` of an iterable of rows, streamed; returns how many."""
    return emit_csv(rows) if output is Output.csv else emit_lines(rows)


def note(message: str, style: str = "dim") -> None:
    """A line for the person, on stderr."""
    _console(stderr=True).print(message, style=style, markup=False, soft_wrap=True)


def warn(message: str) -> None:
    _console(stderr=True).print(message, style="yellow", markup=False, soft_wrap=True)


def error(message: str) -> None:
    _console(stderr=True).print(f"Error: {message}", style="bold red", markup=False, soft_wrap=True)


class Advance:
    """What ``progress`` yields: ``advance(n)``, and ``advance.pace(text)`` for the writer's throttled rate."""

    def __init__(self, bar, task):
        self.bar, self.task = bar, task

    def __call__(self, n: int = 1) -> None:
        self.bar.advance(self.task, n)

    def pace(self, text: str) -> None:
        self.bar.update(self.task, pace=text)


@contextmanager
def progress(description: str, total: int | None) -> Iterator[Advance]:
    """A rich progress bar on stderr; yields ``advance(n)``. Silent when stderr is not a terminal.

    The bar is not erased by Ctrl-C: the command prints one line of what was done after it."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = _console(stderr=True)
    bar = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[pace]}", style="yellow"),
        console=console, transient=True, disable=not console.is_terminal,
    )
    with bar:
        task = bar.add_task(description, total=total, pace="")
        yield Advance(bar, task)


@contextmanager
def interrupts(summary: Callable[[Any], str]) -> Iterator[None]:
    """Ctrl-C (SIGINT) and SIGTERM during a long command: the workers stop (the library raises
    ``Interrupted`` with what was done), one line goes to stderr — ``summary(exc)`` — and the command exits
    130 or 143."""
    import signal
    import threading

    from cruddur_ops.ddb.batch import Interrupted

    previous = None
    if threading.current_thread() is threading.main_thread():
        def on_term(signum, frame):
            raise Interrupted(signum)

        previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    except KeyboardInterrupt as exc:
        import typer

        signum = getattr(exc, "signum", signal.SIGINT)
        _console(stderr=True).print(summary(exc), style="yellow", markup=False, soft_wrap=True)
        raise typer.Exit(128 + int(signum)) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _dollars(amount: float) -> str:
    """Dollars with the digits that matter: $0.0000000625, $0.0625, $1,250.00."""
    if amount >= 1 or amount == 0:
        return f"${amount:,.2f}"
    digits = f"{amount:.12f}".rstrip("0")
    return "$" + digits


def capacity_section(capacity: dict | None, title: str = "Consumed capacity") -> Section:
    """The consumed-capacity table every read and write command shows: total, table, each index, and cost."""
    capacity = capacity or {}
    cost = capacity.get("cost") or {}
    rows = [{"where": "total", "units": capacity.get("total", 0)}, {"where": "table", "units": capacity.get("table", 0)}]
    rows += [{"where": f"index {name}", "units": units} for name, units in (capacity.get("indexes") or {}).items()]
    if cost:
        rows[0]["usd"] = _dollars(cost["usd"])
        rows[0]["per_million"] = _dollars(cost["usd_per_million_calls"])
    caption = (
        f"Cost at on-demand prices ({cost['unit']}, {cost['region']}, as of {cost['as_of']})" if cost else None
    )
    columns = [Column("", "where"), Column("capacity units", "units", justify="right")]
    if cost:
        columns += [Column("cost per call", "usd", justify="right"), Column("per million calls", "per_million", justify="right")]
    return Section(title, columns, rows, caption=caption)
