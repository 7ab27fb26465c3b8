"""cruddur_ops.seeds.seedfile: a bad seed file is one error naming the file, the line and the field."""

from __future__ import annotations

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
