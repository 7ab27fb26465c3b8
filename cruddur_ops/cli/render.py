"""The one place that prints results: rich tables on a terminal, one JSON document (or JSON lines) for scripts.

Commands build a plain ``doc`` (what ``--output json`` prints) and, for tables, a list of ``Section``s.
Notes, warnings and progress go to stderr, so stdout carries the result alone.
"""

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal, TextIO


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
    """One column of a table. Identifiers (uuids, subs, ARNs, names, keys, timestamps) never wrap and are never cut;
    free text (``wrap``) takes the width that is left and wraps at word boundaries. ``wrap=None`` decides from the
    values: a column where some value holds a space is free text. A value with a newline shows as several lines
    of the same cell (each line whole). ``max_width`` caps a free-text column (it wraps within it)."""

    header: str
    key: str | Callable[[dict], Any]
    max_width: int | None = None
    justify: Literal["default", "left", "center", "right", "full"] = "left"
    style: str | None = None
    wrap: bool | None = None

    def value(self, row: dict) -> str:
        value = self.key(row) if callable(self.key) else row.get(self.key)
        if value is None:
            return ""
        if isinstance(value, float):
            return f"{value:g}"
        if isinstance(value, (list, tuple)):
            return printable(", ".join(str(v) for v in value))
        if isinstance(value, dict):
            return json.dumps(value, ensure_ascii=False)  # JSON escapes control characters itself
        return printable(str(value))


@dataclass
class Section:
    title: str | None
    columns: list[Column]
    rows: list[dict]
    caption: str | None = None
    empty: str = "(none)"


_CONTROL_RE = None


def printable(text: str) -> str:
    """``text`` with every control character but newline and tab written as ``\\xNN`` (C0, DEL, C1): data
    (items, migration and snapshot names, server messages) never moves the cursor, retitles the window or
    rewrites the line on a terminal. Every table cell and every message on stderr goes through it."""
    global _CONTROL_RE
    if _CONTROL_RE is None:
        import re

        _CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
    return _CONTROL_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, soft_wrap=False, highlight=False)


def _default(value: Any) -> Any:
    """JSON for what ``json`` cannot write: numbers with more digits than a float as ``{"$n": "…"}``
    (ddb/typed.py's typed form), anything else as its text."""
    if type(value).__name__ in ("LongNumber", "Decimal"):
        from cruddur_ops.ddb.typed import json_number

        return json_number(value)
    return str(value)


def _exact(value: Any) -> Any:
    """Integers a double cannot hold as ``{"$n": "…"}`` (``json`` would print them bare; a reader in another
    language would round them)."""
    if isinstance(value, int) and not isinstance(value, bool) and not -(2 ** 53) <= value <= 2 ** 53:
        return {"$n": str(value)}
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_exact(v) for v in value]
    return value


def to_json(doc: Any) -> str:
    return json.dumps(_exact(doc), indent=2, ensure_ascii=False, default=_default)


def rows_of(doc: Any) -> list | None:
    """The rows a ``jsonl``/``csv`` output prints: the document's first list of objects (items, tables, users…)."""
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for value in doc.values():
            if isinstance(value, list) and (not value or isinstance(value[0], dict)):
                return value
    return None


# Whether a result went to stdout already: the error edge then adds no error document (stdout stays one document).
WROTE = {"result": False}


def emit(doc: Any, output: Output | None, sections: Callable[[], list[Section]] | list[Section] | None = None) -> None:
    """Print ``doc`` as JSON, or its ``sections`` as rich tables."""
    WROTE["result"] = True
    output = resolve(output)
    if output in (Output.jsonl, Output.csv):
        rows = rows_of(doc)
        emit_rows(rows if rows is not None else [doc], output)
        return
    if output is Output.json or sections is None:
        sys.stdout.write(to_json(doc) + "\n")
        sys.stdout.flush()
        return
    print_tables(list(sections() if callable(sections) else sections))


# --- table mode: tables for people ---------------------------------------------------------------------------
TEXT_MIN_WIDTH = 24  # free text gets at least this much before a table turns into records


def _is_text(column: Column, cells: list[str]) -> bool:
    if column.wrap is not None:
        return column.wrap
    return any(" " in cell or "\t" in cell for cell in cells)  # a newline only stacks whole lines


def _table(section: Section, text_cap: int | None = None):
    """The rich table of ``section``; ``text_cap`` narrows free text (to measure the least width it needs)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    cells = [[col.value(row) for col in section.columns] for row in section.rows]
    text = [_is_text(col, [line[i] for line in cells]) for i, col in enumerate(section.columns)]
    # identifiers stacked in one cell (group uuid over its time): a blank line between rows keeps rows apart
    stacked = any("\n" in line[i] for line in cells for i in range(len(text)) if not text[i])
    table = Table(title=section.title and printable(section.title), caption=section.caption and printable(section.caption), title_justify="left", caption_justify="left",
                  box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, leading=1 if stacked else 0)
    for i, (col, is_text) in enumerate(zip(section.columns, text, strict=True)):
        longest = max((len(line[i]) for line in cells), default=0)
        word = max((len(w) for line in cells for w in line[i].split()), default=0)
        if is_text:
            # the least a text column gets: its longest word whole (an ARN or uuid in a sentence), and some room
            floor = max(word, min(longest, TEXT_MIN_WIDTH, col.max_width or TEXT_MIN_WIDTH))
            caps = [c for c in (col.max_width, text_cap) if c]
            table.add_column(col.header, justify=col.justify, style=col.style, overflow="fold",
                             min_width=floor or None, max_width=max(min(caps), floor) if caps else None)
        else:
            table.add_column(col.header, justify=col.justify, style=col.style, no_wrap=True, overflow="fold")
    for line in cells:
        table.add_row(*(Text(cell, no_wrap=not is_text, overflow="fold", justify=col.justify)
                        for cell, is_text, col in zip(line, text, section.columns, strict=True)))
    if not section.rows:
        table.add_row(*([section.empty] + [""] * (len(section.columns) - 1)))
    return table


def _records(section: Section, width: int):
    """The rows of ``section`` one after another as ``field  value`` lines, when its identifiers and the least
    width of its free text do not fit side by side (as pgcli's auto-expand does). Identifiers stay whole: a field
    whose identifier does not fit beside its label goes on the lines below it."""
    import textwrap

    from rich.console import Group
    from rich.text import Text

    cells = [[col.value(row) for col in section.columns] for row in section.rows]
    text = [_is_text(col, [line[i] for line in cells]) for i, col in enumerate(section.columns)]
    label_width = max((len(col.header) for col in section.columns), default=0)
    value_width = max(width - label_width - 3, TEXT_MIN_WIDTH)
    out = [Text(section.title, style="italic")] if section.title else []
    if not section.rows:
        out.append(Text(section.empty))
    for n, line in enumerate(cells):
        if n:
            out.append(Text(""))
        for i, (col, cell) in enumerate(zip(section.columns, line, strict=True)):
            parts = cell.split("\n")
            if text[i]:
                beside = max((len(w) for w in cell.split()), default=0) <= value_width
                wrap_at = value_width if beside else max(width - 2, TEXT_MIN_WIDTH)
                lines = [w for part in parts
                         for w in (textwrap.wrap(part, wrap_at, break_on_hyphens=False, break_long_words=False) or [""])]
            else:
                lines, beside = parts, max(len(part) for part in parts) <= value_width
            if beside:
                out.append(Text.assemble((f"{col.header:<{label_width}}   ", "bold"), lines[0]))
                out += [Text(" " * (label_width + 3) + rest) for rest in lines[1:]]
            else:
                out.append(Text(col.header, style="bold"))
                out += [Text("  " + rest) for rest in lines]
    if section.caption:
        out.append(Text(section.caption, style="dim"))
    return Group(*out)


def layout(section: Section, width: int):
    """The renderable for ``section`` at ``width`` columns: a table when its identifiers fit whole beside at least
    ``TEXT_MIN_WIDTH`` of each free-text column, else one record per row."""
    from rich.console import Console
    from rich.measure import Measurement

    probe = Console(width=10_000, soft_wrap=False, highlight=False)
    need = Measurement.get(probe, probe.options, _table(section, TEXT_MIN_WIDTH)).maximum
    if need <= width or not section.rows:
        return _table(section)
    return _records(section, width)


def print_tables(sections: list[Section], console=None) -> None:
    """Print ``sections`` on stdout; on a terminal, output taller than the screen goes through ``$PAGER``."""
    console = console or _console()
    renderables = [layout(section, console.width) for section in sections]
    if console.is_terminal:
        with console.capture() as capture:
            for renderable in renderables:
                console.print(renderable, crop=False, soft_wrap=True)
        shown = capture.get()
        if shown.count("\n") > console.height:
            with console.pager(styles=False):  # rich's pager: pydoc's, which runs $PAGER (else less)
                for renderable in renderables:
                    console.print(renderable, crop=False, soft_wrap=True)
        else:
            console.file.write(shown)
            console.file.flush()
        return
    for renderable in renderables:
        console.print(renderable, crop=False, soft_wrap=True)


def emit_lines(items: Iterable[Any], out: TextIO | None = None) -> int:
    """Stream one JSON document per line (``--output jsonl``) to stdout (or ``out``: `cruddur web`'s export);
    memory stays flat. Numbers keep every digit."""
    from cruddur_ops.ddb.typed import dumps

    count = 0
    if out is None:
        WROTE["result"] = True
    stream = out or sys.stdout
    write = stream.write
    for item in items:
        write(dumps(item) + "\n")
        count += 1
    stream.flush()
    return count


def emit_csv(rows: Iterable[Any], out: TextIO | None = None, *, keys: Sequence[str] | None = None,
             safe: bool = False) -> int:
    """Stream rows as CSV through the one CSV writer (ddb/typed.py's ``write_csv``); memory stays flat. ``keys``:
    the rows are items of a table with these key attributes (they lead; other columns alphabetically, each of one
    type or plain JSON). ``safe``: formula cells neutralised (``--csv-safe``). ``out``: another stream than stdout
    (`cruddur web`'s export)."""
    from cruddur_ops.ddb.typed import write_csv

    written = write_csv(rows, out or sys.stdout, keys=keys, safe=safe)
    if written.types:
        note("read it back with --types " + ",".join(f"{k}={v}" for k, v in written.types.items()))
    return written.rows


def emit_rows(rows: Iterable[Any], output: Output, *, keys: Sequence[str] | None = None, safe: bool = False) -> int:
    """``jsonl`` or ``csv`` of an iterable of rows, streamed; returns how many."""
    return emit_csv(rows, keys=keys, safe=safe) if output is Output.csv else emit_lines(rows)


def note(message: str, style: str = "dim") -> None:
    """A line for the person, on stderr."""
    _console(stderr=True).print(printable(message), style=style, markup=False, soft_wrap=True)


def warn(message: str) -> None:
    _console(stderr=True).print(printable(message), style="yellow", markup=False, soft_wrap=True)


def plain(message: str) -> None:
    """One plain line on stderr (a declined prompt: not an error)."""
    _console(stderr=True).print(printable(message), markup=False, soft_wrap=True)


def error(message: str) -> None:
    _console(stderr=True).print(f"Error: {printable(message)}", style="bold red", markup=False, soft_wrap=True)


class Advance:
    """What ``progress`` yields: ``advance(n)``, and ``advance.pace(text)`` for the writer's throttled rate."""

    def __init__(self, bar, task):
        self.bar, self.task = bar, task

    def __call__(self, n: int = 1) -> None:
        self.bar.advance(self.task, n)

    def pace(self, text: str) -> None:
        self.bar.update(self.task, pace=text)

    def describe(self, text: str) -> None:
        """Replace the bar's description (a long wait's status: ``export in_progress, 1,200 items``)."""
        self.bar.update(self.task, description=text)


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
    per_items = "usd_per_million_items" in cost  # a run of many writes (seed), not one call
    if cost:
        rows[0]["usd"] = _dollars(cost["usd"])
        rows[0]["per_million"] = _dollars(cost["usd_per_million_items" if per_items else "usd_per_million_calls"])
    caption = (
        f"Cost at on-demand prices ({cost['unit']}, {cost['region']}, as of {cost['as_of']})" if cost else None
    )
    columns = [Column("", "where"), Column("capacity units", "units", justify="right")]
    if cost:
        columns += [Column("cost of this run" if per_items else "cost per call", "usd", justify="right"),
                    Column("per million items" if per_items else "per million calls", "per_million", justify="right")]
    return Section(title, columns, rows, caption=caption)
