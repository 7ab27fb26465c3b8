"""Hostile templates cost little (issue 25): each refused in < 2 s and < 200 MB, with one line, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CHILD = """
import sys, time
from pathlib import Path
from cruddur_ops.ddb.schema import read  # imported before the clock starts: the bar is the reading's cost
started = time.monotonic()
try:
    read([Path(sys.argv[1])])
    print("LOADED")
except Exception as exc:
    print(type(exc).__name__, exc, sep=": ")
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(round(time.monotonic() - started, 2), peak // 1024)
"""


def _in_child(path) -> tuple[str, float, int]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, timeout=120)
    *_, message, figures = out.stdout.strip().splitlines()
    seconds, megabytes = figures.split()
    return message, float(seconds), int(megabytes)

TABLE = ("Resources:\n  Orders:\n    Type: AWS::DynamoDB::Table\n    Properties:\n"
         "      BillingMode: PAY_PER_REQUEST\n"
         "      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]\n"
         "      KeySchema: [{AttributeName: pk, KeyType: HASH}]\n")


def _nested_sub(levels: int = 10) -> str:
    """~900 bytes: each level substitutes the previous one 50 times (50^10 characters once resolved)."""
    sub: object = "xxxxxxxxxx"
    for _ in range(levels):
        sub = {"Fn::Sub": ["${a}" * 50, {"a": sub}]}
    return json.dumps(sub)


BOMBS = {
    "nested Fn::Sub": ("Resources:\n  Orders:\n    Type: AWS::DynamoDB::Table\n    Properties:\n"
                       f"      TableName: {_nested_sub()}\n" + TABLE.split("Properties:\n", 1)[1], "more than 1,000,000 characters"),
    "2,000 refs to a 1 MB parameter": (
        "Parameters:\n  Big:\n    Type: String\n    Default: " + "x" * (1 << 20) + "\n" + TABLE +
        "      TableName: !Sub '" + "${Big}" * 2000 + "'\n", "at most 4,096"),
    "2,000 refs to a 4 kB parameter": (
        "Parameters:\n  Big:\n    Type: String\n    Default: " + "x" * 4096 + "\n" + TABLE +
        "      TableName: !Sub '" + "${Big}" * 2000 + "'\n", "more than 1,000,000 characters"),
    "AllowedPattern (a+)+$": (
        "Parameters:\n  P:\n    Type: String\n    AllowedPattern: '(a+)+$'\n    Default: '" + "a" * 40 + "b'\n" + TABLE +
        "      TableName: !Ref P\n", "AllowedPattern"),  # no match found in time (re takes minutes)
    "FindInMap leading back to itself": (
        "Mappings:\n  M:\n    k:\n      v: {'Fn::FindInMap': [M, k, v]}\n" + TABLE +
        "      TableName: {'Fn::FindInMap': [M, k, v]}\n", "nested more than"),
    "Split on an empty delimiter": (TABLE + "      Tags: {'Fn::Split': ['', abc]}\n", "delimiter is empty"),
    "deep JSON": ('{"Resources": {"Orders": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": '
                  + "[" * 50_000 + "]" * 50_000 + "}}}}", "nested too deeply"),
    "a lone surrogate": ('{"Resources": {"Orders": {"Type": "AWS::DynamoDB::Table", "Properties": '
                         '{"TableName": {"Fn::Base64": "\\ud800"}, "BillingMode": "PAY_PER_REQUEST", '
                         '"AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], '
                         '"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}}}}', ""),
}


@pytest.mark.parametrize("name", list(BOMBS))
def test_a_hostile_template_is_refused_quickly_in_little_memory(tmp_path, name):
    text, message = BOMBS[name]
    path = tmp_path / ("stack.json" if text.startswith("{") else "stack.yaml")
    path.write_text(text, encoding="utf-8")
    error, seconds, megabytes = _in_child(path)
    assert error.startswith(("SchemaError", "InputError")), error  # one of ours: a one-line message, no traceback
    assert message in error, error
    assert "\n" not in error
    assert seconds < 2, (name, seconds)
    assert megabytes < 200, (name, megabytes)
