"""cruddur_ops.io.yamlfile: the streaming loader gives exactly what PyYAML's loader gives, in a fraction of the memory;
the strict checks (a key twice, an impossible date) name their line."""

from __future__ import annotations

import pytest
import yaml

from cruddur_ops.errors import InputError
from cruddur_ops.io import yamlfile

SAME_AS_PYYAML = {
    "anchors": "a: &x {k: 1, j: [1, 2]}\nb: *x\nc: &s hello\nd: *s\n",
    "merge": "base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  x: 3\n  z: 4\nn:\n  <<: [*b, {x: 9, w: 5}]\n",
    "scalars": "i: 12\nf: 1.5\nb: yes\nt: true\nn: ~\ne:\nd: 2024-02-28\nts: 2024-02-28T23:50:00+00:00\n"
               "s: '12'\nhex: 0x1f\nkeys: {1: one, 2: two}\n",
    "explicit tags": "a: !!str 12\nb: !!int '7'\nc: !!float '1'\nbin: !!binary aGVsbG8=\n",
    "collection tags": "s: !!set {a, b}\no: !!omap [{a: 1}, {b: 2}]\n",
    "empty": "",
    "comment only": "# nothing\n",
    "a scalar": "just text\n",
    "a list": "- 1\n- two\n",
    "nested": "a:\n  - b:\n      - c: [1, {d: e}]\n",
    "block scalars": "m: |\n  line1\n  line2\nf: >\n  folded\n  text\n",
    "null key": "? ~\n: v\n",
    "document markers": "---\na: 1\n...\n",
    "unicode": "ä: \"Ångström – ✓\"\n",
}


@pytest.mark.parametrize("text", SAME_AS_PYYAML.values(), ids=SAME_AS_PYYAML.keys())
def test_load_gives_what_pyyaml_gives(tmp_path, text):
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    assert repr(yamlfile.load(path)) == repr(yaml.load(text, Loader=yaml.SafeLoader))


def test_recursive_anchors_still_work(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("a: &r\n  self: *r\n")
    doc = yamlfile.load(path)
    assert doc["a"]["self"] is doc["a"]


@pytest.mark.parametrize("text,line,message", [
    ("a: 1\nb: 2\na: 3\n", 3, "duplicate key 'a' (first on line 1); YAML would keep only the last one"),
    ("x:\n  - {k: 1, k: 2}\n", 2, "duplicate key 'k' (first on line 2); YAML would keep only the last one"),
    ("d: 2023-02-29\n", 1, "'2023-02-29' is not a valid date/time (day is out of range for month)"),
    ("a: 1\n---\nb: 2\n", 2, "YAML syntax error: but found another document (expected a single document in the stream on line 1)"),
    ("a: *nope\n", 1, "YAML syntax error: found undefined alias 'nope'"),
    ("? [1, 2]\n: v\n", 1, "YAML syntax error: found unhashable key (while constructing a mapping on line 1)"),
    ("a: !custom x\n", 1, "YAML syntax error: could not determine a constructor for the tag '!custom'"),
    ("a:\n\tb: 1\n", 2, "YAML syntax error: a tab at column 1: YAML indents with spaces, never tabs"),
])
def test_errors_name_line_and_reason(tmp_path, text, line, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        yamlfile.load(path)
    assert str(caught.value) == f"{path}:{line}: {message}"


def test_a_large_file_does_not_hold_a_node_per_value(tmp_path):
    """PyYAML composes every node (with two marks each) before it constructs anything; the streaming loader
    never holds more than the data. Measured with tracemalloc, so no timing is involved."""
    import tracemalloc

    path = tmp_path / "big.yaml"
    lines = ["conversations:"] + [f"  - {{n: {i}, text: \"message {i} with some words in it\"}}" for i in range(1_500)]
    path.write_text("\n".join(lines) + "\n")
    text = path.read_text()

    def peak(load) -> int:
        tracemalloc.start()
        try:
            load()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    ours = peak(lambda: yamlfile.load(path))
    pyyaml = peak(lambda: yaml.load(text, Loader=yamlfile._loader()))
    assert ours * 2 < pyyaml


# --- hostile input: refused cheaply, with its line --------------------------------------------------------------
import subprocess  # noqa: E402
import sys  # noqa: E402
import textwrap  # noqa: E402


def _bomb_anchors(indent: str = "") -> str:
    """The review's alias bomb: 9 levels of 10 aliases (10^9 nodes once expanded), about 900 bytes."""
    lines = [f'{indent}l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        lines.append(f"{indent}l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


SEED_HEAD = "users:\n  - {handle: ana, display_name: Ana}\n  - {handle: bo, display_name: Bo}\n"
BOMBS = {
    # (file, how the child reads it, the line (and what) of the alias that gave it away)
    "a seed's uuid": (
        "bomb:\n" + _bomb_anchors("  ") + "users:\n  - handle: ana\n    display_name: Ana\n    uuid: *l9\n",
        "from cruddur_ops.seeds.seedfile import read; read(path)", "5: alias *l2 expands the document past 10x its own"),
    "a conversation's start": (
        "x:\n" + _bomb_anchors("  ") + SEED_HEAD + "conversations:\n  - between: [ana, bo]\n    start: *l9\n"
        "    messages:\n      - ana: hi\n", "from cruddur_ops.seeds.seedfile import read; read(path)",
        "5: alias *l2 expands the document past 10x its own"),
    "a CloudFormation table's Tags": (
        "Metadata:\n" + _bomb_anchors("  ") + "Resources:\n  Orders:\n    Type: AWS::DynamoDB::Table\n"
        "    Properties:\n      TableName: orders\n      BillingMode: PAY_PER_REQUEST\n"
        "      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]\n"
        "      KeySchema: [{AttributeName: pk, KeyType: HASH}]\n      Tags: *l9\n",
        # the template reader expands only the tables' properties, so the alias's use is what is refused: its line
        "from cruddur_ops.ddb.schema import read; read([path])", "20: Resources.Orders.Properties.Tags"),
}

CHILD = """
import sys, time
from pathlib import Path
path = Path(sys.argv[1])
started = time.monotonic()
try:
{code}
    print("LOADED")
except Exception as exc:
    print(type(exc).__name__, exc, sep=": ")
# VmHWM: this process's own peak (ru_maxrss would also count the pages the forking parent had before exec)
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(round(time.monotonic() - started, 2), peak // 1024)
"""


def _in_child(code: str, path, timeout: float) -> tuple[str, float, int]:
    """Run ``code`` (``path`` is the file) in a fresh interpreter: (its last error or LOADED, seconds, peak RSS MB)."""
    out = subprocess.run([sys.executable, "-c", CHILD.format(code=textwrap.indent(code, "    ")), str(path)],
                         capture_output=True, text=True, timeout=timeout)
    *_, message, figures = out.stdout.strip().splitlines()
    seconds, megabytes = figures.split()
    return message, float(seconds), int(megabytes)


@pytest.mark.parametrize("name", BOMBS)
def test_an_alias_bomb_is_refused_in_under_2_s_and_100_mb(tmp_path, name):
    text, code, where = BOMBS[name]
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    assert 600 < len(text.encode()) < 1_400
    message, seconds, megabytes = _in_child(code, path, timeout=60)
    assert f"{path}:{where}" in message
    assert "alias bomb" in message and "\n" not in message
    assert seconds < 2 and megabytes < 100, (seconds, megabytes)


def test_aliases_in_an_ordinary_file_are_fine(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("base: &b {a: 1, b: 2, c: 3}\n" + "".join(f"k{i}: {{<<: *b, n: {i}, more: *b}}\n" for i in range(500)))
    assert yamlfile.load(path)["k499"] == {"a": 1, "b": 2, "c": 3, "n": 499, "more": {"a": 1, "b": 2, "c": 3}}


@pytest.mark.parametrize("cloudformation", [False, True], ids=["yaml", "cloudformation"])
def test_nesting_too_deep_is_an_error_with_its_line(tmp_path, cloudformation):
    path = tmp_path / "deep.yaml"
    path.write_text("".join("  " * i + "-\n" for i in range(3_000)))
    with pytest.raises(InputError) as caught:
        yamlfile.load(path, cloudformation_tags=cloudformation)
    assert str(caught.value) == f"{path}:{yamlfile.MAX_DEPTH + 1}: nested more than {yamlfile.MAX_DEPTH} levels deep " \
                                "(lists and mappings inside each other)"


def test_nesting_a_few_hundred_deep_still_loads(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("".join("  " * i + "-\n" for i in range(250)))
    doc = yamlfile.load(path)
    for _ in range(249):
        (doc,) = doc
    assert doc == [None]


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f"])
def test_a_control_character_is_reported_with_line_and_column(tmp_path, char):
    path = tmp_path / "ctl.yaml"
    path.write_bytes(f"users:\n  - {{handle: ana, display_name: \"A{char}na\"}}\n".encode())
    with pytest.raises(InputError) as caught:
        yamlfile.load(path)
    assert str(caught.value) == (f"{path}:2: control character #x{ord(char):04x} at column 35: "
                                 "control characters are not allowed")


def test_line_of_finds_keys_and_indexes_without_composing_nodes(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("a:\n  - {k: 1}\n  - skip: [1, {z: 2}]\n    k: |\n      text\n  - k: 3\nb: *x\n" .replace("b: *x\n", "b: 2\n"))
    assert yamlfile.line_of(path, ["a", 2, "k"]) == 6
    assert yamlfile.line_of(path, ["a", 1, "k"]) == 4
    assert yamlfile.line_of(path, ["a", 9]) == 1  # past the end: the nearest parent
    assert yamlfile.line_of(path, ["b"]) == 7
    assert yamlfile.line_of(path, ["nope", 1]) == 1


# --- issue 15: raw scalar text, duplicate anchors, keys equal in value ------------------------------------------
RETYPED = ["1:30", "0x1F", "010", "3.10", "yes", "1_000", "~", "2026-02-28"]


@pytest.mark.parametrize("collection_tag", ["", "s: !!set {q}\n"], ids=["streaming", "with a !!set"])
def test_raw_text_keeps_each_scalar_as_written(tmp_path, collection_tag):
    path = tmp_path / "t.yaml"
    path.write_text("texts: [" + ", ".join(RETYPED) + "]\n" + collection_tag, encoding="utf-8")
    texts = yamlfile.load(path, raw_text=True)["texts"]
    assert texts == RETYPED and all(isinstance(t, str) for t in texts)
    assert yamlfile.plain(texts)[:3] == [90, 31, 8]  # what YAML makes of them, still at hand
    assert yamlfile.load(path)["texts"][:3] == [90, 31, 8]  # without raw_text: PyYAML's values, as before


@pytest.mark.parametrize("text", ["a: &x 1\nb: &x 2\n", "a: &x [1]\nb: &x {k: v}\n"])
def test_a_duplicate_anchor_is_an_error_as_in_pyyaml(tmp_path, text):
    path = tmp_path / "a.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(yaml.composer.ComposerError):
        yaml.load(text, Loader=yaml.SafeLoader)
    with pytest.raises(InputError, match="duplicate anchor 'x'") as err:
        yamlfile.load(path)
    assert str(err.value).startswith(f"{path}:2:")


@pytest.mark.parametrize("keys", [("1", "0x1"), ("true", "True"), ("10", "012")])
@pytest.mark.parametrize("tail", ["", "s: !!set {q}\n"], ids=["streaming", "with a !!set"])
def test_keys_equal_in_value_are_the_same_key_with_or_without_a_set(tmp_path, keys, tail):
    path = tmp_path / "k.yaml"
    path.write_text(f"{keys[0]}: a\n{keys[1]}: b\n{tail}", encoding="utf-8")
    with pytest.raises(InputError, match=f"duplicate key '{keys[1]}' \\(first on line 1\\)"):
        yamlfile.load(path)
