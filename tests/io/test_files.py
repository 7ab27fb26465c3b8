"""Outputs are written whole or not at all, never through a symlink (issue 25)."""

from __future__ import annotations

import os

import pytest

from cruddur_ops.io.files import atomic_write, write_text


def _plant(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "out.txt"
    (tmp_path / "out.txt.partial").symlink_to(victim)
    return victim, out


def test_a_planted_partial_symlink_is_never_written_through(tmp_path):
    victim, out = _plant(tmp_path)
    write_text(out, "result\n")
    assert out.read_text() == "result\n" and not out.is_symlink()
    assert victim.read_text() == "precious\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_a_symlink_at_the_target_is_replaced_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "out.txt"
    out.symlink_to(victim)
    write_text(out, "result\n")
    assert victim.read_text() == "precious\n" and not out.is_symlink() and out.read_text() == "result\n"


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path):
    out = tmp_path / "out.txt"
    out.write_text("old\n")
    with pytest.raises(KeyboardInterrupt), atomic_write(out) as handle:
        handle.write("half")
        raise KeyboardInterrupt
    assert out.read_text() == "old\n" and os.listdir(tmp_path) == ["out.txt"]


def test_private_files_are_created_0600(tmp_path):
    out = tmp_path / "secret.bin"
    with atomic_write(out, "wb", perm=0o600) as handle:
        handle.write(b"x")
    assert out.stat().st_mode & 0o777 == 0o600


@pytest.mark.integration
def test_ddb_export_and_model_export_refuse_to_follow_a_planted_partial(cli, messages_table, tmp_path):
    victim, out = _plant(tmp_path)
    cli("ddb", "export", "cruddur-messages", "--out", out)
    assert victim.read_text() == "precious\n" and out.exists() and not out.is_symlink()
    model = tmp_path / "model.json"
    (tmp_path / "model.json.partial").symlink_to(victim)
    cli("ddb", "model", "export", "--format", "workbench", "--out", model)
    assert victim.read_text() == "precious\n" and model.read_text().startswith("{")
