"""cruddur_ops.seeds.seedfile: a bad seed file is one error naming the file, the line and the field; a huge seed
file's one bad value costs no more memory to report than to parse."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cruddur_ops.errors import SeedError
from cruddur_ops.seeds import seedfile
from tests.ddb.test_seed import SMALL, write


@pytest.mark.parametrize("old,new,message", [
    ("between: [cy, ana]", "between: [cy, zed]", "conversations[1].between[1]: unknown handle 'zed' in conversation 2"),
    ("between: [cy, ana]", "between: [cy, cy]", "two different people"),
    ("start: 2024-02-28T23:58:00+00:00", "start: yesterday", "'yesterday' is not an ISO 8601 timestamp"),
    ("start: 2024-02-28T23:58:00+00:00", "start: 2024-02-28T23:58:00", "has no UTC offset"),
    ("      - cy: floating one\n      - ana: floating two\n", "      []\n", "at least one message"),
    ("      - cy: floating one", "      - bo: floating one", "sender 'bo' is not in this conversation"),
    ("{handle: cy, display_name: Cy Young}", "{handle: cy}", "missing required field 'display_name'"),
    ("{handle: cy, display_name: Cy Young}", "{handle: cy, display_name: Cy, colour: red}", "unknown field 'colour'"),
])
def test_bad_seed_files_name_the_field(tmp_path, old, new, message):
    assert old in SMALL
    with pytest.raises(SeedError) as err:
        seedfile.read(write(tmp_path, SMALL.replace(old, new)))
    text = str(err.value)
    assert message in text and text.startswith(str(tmp_path / "seed.yaml") + ":")


def test_unknown_handle_error_names_line(tmp_path):
    with pytest.raises(SeedError) as err:
        seedfile.read(write(tmp_path, SMALL.replace("between: [cy, ana]", "between: [cy, zed]")))
    assert f"{tmp_path / 'seed.yaml'}:12:" in str(err.value)


USERS = 200
WORDS = " ".join(["ordinary"] * 20)


def _write_seed(path, size: int) -> int:
    """A seed of about ``size`` bytes: 200 users, conversations of 40 messages, and a last conversation with an
    unknown handle. Returns that handle's line."""
    lines = 0
    with path.open("w", encoding="utf-8") as out:
        out.write("users:\n" + "".join(f"  - {{handle: u{i}, display_name: User {i}}}\n" for i in range(USERS)))
        out.write("conversations:\n")
        lines = USERS + 2
        written, n = out.tell(), 0
        while written < size:
            a = n % USERS
            b = (a + 1 + n // USERS) % USERS or (a + 1) % USERS
            block = (f"  - between: [u{a}, u{b}]\n    message_group_uuid: {n:08x}-0000-4000-8000-000000000000\n"
                     "    messages:\n" + "".join(f"      - u{a if j % 2 else b}: {j} {WORDS}\n" for j in range(40)))
            out.write(block)
            written += len(block)
            lines += 43
            n += 1
        out.write("  - between: [u1, nobody]\n    messages:\n      - u1: is anyone there?\n")
    return lines + 1


CHILD = """
import sys
from cruddur_ops.seeds.seedfile import read
try:
    read(sys.argv[1])
    print("LOADED")
except Exception as exc:
    print(exc)
# VmHWM: this process's own peak (ru_maxrss would also count the pages the forking parent had before exec)
print(next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")) // 1024)
"""


@pytest.mark.heavy
def test_a_166_mb_seed_reports_its_one_bad_handle_under_1_5_gb(tmp_path):
    """The review's file: 166 MB with one unknown handle at the very end. Finding the line used to compose the
    whole node tree a second time (7.4 GB); now the lookup streams parser events, so the peak is the parse's."""
    path = tmp_path / "huge.yaml"
    line = _write_seed(path, 166_000_000)
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, timeout=1_200)
    message, megabytes = out.stdout.strip().splitlines()[-2:]
    assert message.startswith(f"{path}:{line}: conversations[") and "unknown handle 'nobody'" in message
    assert int(megabytes) < 1_500, f"peak RSS {megabytes} MB"


# --- issue 15: text fields are the text as written ------------------------------------------------------------
RAW_SEED = """\
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


def write_raw(tmp_path, text=RAW_SEED):
    path = tmp_path / "seed.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_five_retyped_texts_and_more_stay_as_written(tmp_path):
    seed = seedfile.read(write_raw(tmp_path))
    texts = [text for _, text in seed.conversations[0].messages]
    assert texts == ["1:30", "0x1F", "010", "3.10", "yes", "1_000", "~"]
    assert [(u.handle, u.display_name) for u in seed.users] == [("ana", "3.10"), ("010", "yes")]
    assert seed.conversations[0].between == ("ana", "010")
    assert [sender for sender, _ in seed.conversations[0].messages][:2] == ["ana", "010"]


@pytest.mark.parametrize("empty", ["", '""', "' '"])
def test_an_empty_text_is_an_error_naming_its_line(tmp_path, empty):
    path = write_raw(tmp_path, RAW_SEED.replace("      - ana: 010\n", f"      - ana: {empty}\n"))
    with pytest.raises(SeedError, match="empty text") as err:
        seedfile.read(path)
    assert str(err.value).startswith(f"{path}:9: conversations[0].messages[2].ana")


def test_a_fixed_start_in_any_iso_spelling(tmp_path):
    text = RAW_SEED.replace("    messages:\n", "    start: 2026-02-28T23:50:00Z\n    messages:\n", 1)
    seed = seedfile.read(write_raw(tmp_path, text))
    assert seed.conversations[0].start.isoformat() == "2026-02-28T23:50:00+00:00"
