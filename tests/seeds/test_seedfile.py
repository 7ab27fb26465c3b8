"""cruddur_ops.seeds.seedfile: text fields are the text as written (issue 15)."""

from __future__ import annotations

import pytest

from cruddur_ops.errors import SeedError
from cruddur_ops.seeds import seedfile

SEED = """\
users:
  - {handle: ana, display_name: 3.10}
  - {handle: 010, display_name: yes}
conversations:
  - between: [ana, 010]
    messages:
      - ana: 1:30
      - 010: 0x1F
      - ana: 010
      - 010: 3.10
      - ana: yes
      - 010: 1_000
      - ana: ~
"""


def write(tmp_path, text=SEED):
    path = tmp_path / "seed.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_five_retyped_texts_and_more_stay_as_written(tmp_path):
    seed = seedfile.read(write(tmp_path))
    texts = [text for _, text in seed.conversations[0].messages]
    assert texts == ["1:30", "0x1F", "010", "3.10", "yes", "1_000", "~"]
    assert [(u.handle, u.display_name) for u in seed.users] == [("ana", "3.10"), ("010", "yes")]
    assert seed.conversations[0].between == ("ana", "010")
    assert [sender for sender, _ in seed.conversations[0].messages][:2] == ["ana", "010"]


@pytest.mark.parametrize("empty", ["", '""', "' '"])
def test_an_empty_text_is_an_error_naming_its_line(tmp_path, empty):
    path = write(tmp_path, SEED.replace("      - ana: 010\n", f"      - ana: {empty}\n"))
    with pytest.raises(SeedError, match="empty text") as err:
        seedfile.read(path)
    assert str(err.value).startswith(f"{path}:9: conversations[0].messages[2].ana")


def test_a_fixed_start_in_any_iso_spelling(tmp_path):
    text = SEED.replace("    messages:\n", "    start: 2026-02-28T23:50:00Z\n    messages:\n", 1)
    seed = seedfile.read(write(tmp_path, text))
    assert seed.conversations[0].start.isoformat() == "2026-02-28T23:50:00+00:00"
