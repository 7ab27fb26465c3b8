"""Control characters from data never reach the terminal raw (issue 25): one escaping function in cli/render.py."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from cruddur_ops.cli import errors, render
from cruddur_ops.cli.render import Column, Section, printable
from cruddur_ops.errors import InputError

HOSTILE = "ok\x1b]0;owned\x07\x1b[2J\x9b31m\rfake"


def test_printable_escapes_c0_del_and_c1_but_keeps_newline_and_tab():
    assert printable(HOSTILE) == "ok\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\x0dfake"
    assert printable("a\tb\nc") == "a\tb\nc"


def test_a_table_cell_and_its_title_are_escaped():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=200, color_system=None)
    render.print_tables([Section(f"Snapshot {HOSTILE}", [Column("name", "name")], [{"name": HOSTILE}])], console)
    text = out.getvalue()
    assert "\x1b]0" not in text and "\x9b" not in text and "\\x1b]0;owned" in text


def test_an_error_line_is_escaped():
    line = errors.line(InputError(f"migration {HOSTILE} failed"))
    assert "\x1b" not in line and "\\x1b[2J" in line


@pytest.mark.integration
def test_an_item_with_escape_sequences_is_shown_escaped(cli, messages_table):
    messages_table.put_item(TableName="cruddur-messages", Item={"pk": {"S": "MSG#x"}, "sk": {"S": HOSTILE}})
    shown = cli("ddb", "scan", "cruddur-messages", "-o", "table").stdout
    assert "\x1b" not in shown and "\\x1b]0;owned" in shown
