"""The one place that prints results: rich tables on a terminal, one JSON document (or JSON lines) for scripts.

Commands build a plain ``doc`` (what ``--output json`` prints) and, for tables, a list of ``Section``s.
Notes, warnings and progress go to stderr, so stdout carries the result alone.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal


class Output(str, Enum):
    table = "table"
    json = "json"


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
    justify: Literal["default", "left", "center", "right", "full"] = "left"
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


def to_json(doc: Any) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False, default=str)


def emit(doc: Any, output: Output | None, sections: Callable[[], list[Section]] | list[Section] | None = None) -> None:
    """Print ``doc`` as JSON, or its ``sections`` as rich tables."""
    output = resolve(output)
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
    """Stream one JSON document per line (``--output jsonl``); memory stays flat."""
    count = 0
    write = sys.stdout.write
    for item in items:
        write(json.dumps(item, ensure_ascii=False, default=str) + "\n")
        count += 1
    sys.stdout.flush()
    return count


def note(message: str, style: str = "dim") -> None:
    """A line for the person, on stderr."""
    _console(stderr=True).print(message, style=style, markup=False, soft_wrap=True)


def warn(message: str) -> None:
    _console(stderr=True).print(message, style="yellow", markup=False, soft_wrap=True)


def error(message: str) -> None:
    _console(stderr=True).print(f"Error: {message}", style="bold red", markup=False, soft_wrap=True)


@contextmanager
def progress(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr; yields ``advance(n)``. Silent when stderr is not a terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = _console(stderr=True)
    bar = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=True, disable=not console.is_terminal,
    )
    with bar:
        task = bar.add_task(description, total=total)

        def advance(n: int = 1) -> None:
            bar.advance(task, n)

        yield advance


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
