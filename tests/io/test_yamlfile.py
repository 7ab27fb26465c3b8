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
    lines = ["conversations:"] + [f"  - {{n: {i}, text: \"message {i} with some words in it\"}}" for i in range(5_000)]
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
