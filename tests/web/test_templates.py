"""The web layer's pure parts: escaping, exact values, paths and cursors (no engine)."""

from __future__ import annotations

import pytest

from cruddur_ops.ddb import browse
from cruddur_ops.errors import InputError
from cruddur_ops.web.server import split_path
from cruddur_ops.web.templates import Html, h, seg, table
from cruddur_ops.web.views import value_cell


def test_hostile_text_is_escaped_everywhere_it_can_land():
    hostile = '<script>alert(1)</script>" onmouseover="x'
    cell = value_cell({"S": hostile})
    assert "<script>" not in cell and "&lt;script&gt;" in cell and '" onmouseover' not in cell
    assert "<script>" not in table([hostile], [[hostile]])
    assert "<script>" not in (Html("<p>") + hostile)  # adding plain text to HTML escapes it
    assert (hostile + Html("<br>")).endswith("<br>") and "<script>" not in (hostile + Html("<br>"))


def test_values_show_their_exact_type_and_digits():
    assert ">N<" in value_cell({"N": "12345678901234567890123456789012345678"})
    assert "12345678901234567890123456789012345678" in value_cell({"N": "12345678901234567890123456789012345678"})
    assert browse.exact({"SS": ["b", "a"]}) == ("SS", '["a", "b"]')
    assert browse.exact({"NS": ["10", "9.5"]}) == ("NS", "[9.5, 10]")
    assert browse.exact({"B": b"\x00\x01\x02\xff"}) == ("B", "AAEC/w==")
    assert browse.exact({"NULL": True}) == ("NULL", "null")
    assert "empty string" in value_cell({"S": ""})
    assert "absent" in value_cell(None)


def test_paths_keep_keys_whole_and_find_the_twin_suffix():
    assert split_path("/t/cruddur-messages/p/" + seg("GRP#a/b.json") + ".json") == (
        ["t", "cruddur-messages", "p", "GRP#a/b.json"], "json")
    assert split_path("/.json") == ([], "json")
    assert split_path("/t/x/q.csv?partition=a") == (["t", "x", "q"], "csv")
    assert split_path("/t/x") == (["t", "x"], None)


def test_cursors_round_trip_and_a_forged_one_is_an_input_error():
    key = {"pk": {"S": "GRP#1"}, "sk": {"S": "2026"}, "n": {"N": "1"}, "b": {"B": b"\x00\xff"}}
    assert browse.decode_cursor(browse.encode_cursor(key), ("pk", "sk")) == key
    with pytest.raises(InputError, match="page token"):
        browse.decode_cursor("not-a-token", ("pk",))
    with pytest.raises(InputError, match="lacks the key attribute 'sk'"):
        browse.decode_cursor(browse.encode_cursor({"pk": {"S": "a"}}), ("pk", "sk"))


def test_item_kinds_come_from_key_prefixes():
    assert browse.kind_of("GRP#1", "2026-01-01T00:00:00+00:00") == "GRP"
    assert browse.kind_of("CUSTOMER#42", "ORDER#7") == "ORDER"
    assert browse.kind_of("plain", None) == "item"
    assert browse.kind_of(5, None) == "item"


def test_escaping_leaves_html_alone():
    assert h(Html("<b>")) == "<b>"
    assert h("<b>") == "&lt;b&gt;"
