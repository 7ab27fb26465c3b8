"""cruddur_ops.model: the uuid5 scheme is a contract with every item already seeded, so its values are pinned.

Changing the namespace or a name's spelling would pass every other test and orphan every item seeded before.
"""

from __future__ import annotations

from cruddur_ops.model import MAX_ITEM_BYTES, NAMESPACE, group_uuid_for, item_size, message_uuid_for, user_uuid_for
from cruddur_ops.seeds.activities import activity_uuid_for


def test_the_namespace_is_pinned():
    assert str(NAMESPACE) == "6f1d4c1e-3b9a-5c6e-9a57-0c7a1d2e4b10"


def test_a_handle_derives_the_same_user_uuid_forever():
    assert user_uuid_for("andrewbrown") == "318dd6a3-3599-5812-a071-368ea6e93c89"


def test_a_pair_derives_one_group_uuid_in_either_order():
    assert group_uuid_for("andrewbrown", "bayko") == "66e9404a-d7c2-5061-a909-3c87861d43aa"
    assert group_uuid_for("bayko", "andrewbrown") == "66e9404a-d7c2-5061-a909-3c87861d43aa"


def test_a_message_uuid_is_derived_from_its_group_and_position():
    assert message_uuid_for("66e9404a-d7c2-5061-a909-3c87861d43aa", 0) == "0bffe589-d675-5b57-8013-bdd223d4d432"
    assert message_uuid_for("66e9404a-d7c2-5061-a909-3c87861d43aa", 1) != message_uuid_for(
        "66e9404a-d7c2-5061-a909-3c87861d43aa", 0)


def test_an_activity_uuid_is_derived_from_handle_and_message():
    assert activity_uuid_for("andrewbrown", "hello") == "65ac189f-386d-5c6f-b0e7-cadb7bcbb13d"


def test_item_size_counts_utf8_bytes_of_names_and_values():
    assert item_size({"pk": "GRP#x", "sk": "é"}) == len("pk") + len("GRP#x") + len("sk") + 2
    assert MAX_ITEM_BYTES == 409_600
