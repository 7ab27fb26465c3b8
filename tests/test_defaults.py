"""The default files: the app's shipped ones, or the folders a project file names — never a stray folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from cruddur_ops import defaults
from cruddur_ops.errors import InputError


def test_without_a_project_file_the_shipped_files_are_used_even_beside_a_stray_schemas_folder(tmp_path):
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "orders.yaml").write_text("TableName: orders\n")
    project = defaults.find_project(tmp_path)
    assert project.file is None
    assert project.folder("schemas") == defaults.shipped_dir("schemas")
    assert (project.folder("schemas") / "cruddur-messages.yaml").is_file()
    assert (project.folder("seeds") / "conversations.yaml").is_file()
    assert project.source("schemas") == "the app's files shipped in cruddur"


def test_cruddur_toml_in_a_parent_names_folders_relative_to_itself(tmp_path):
    (tmp_path / "cruddur.toml").write_text('schemas = "db/tables"\nmigrations = "db/migrations"\n')
    sub = tmp_path / "src" / "deep"
    sub.mkdir(parents=True)
    project = defaults.find_project(sub)
    assert project.file == (tmp_path / "cruddur.toml").resolve()
    assert project.folder("schemas") == (tmp_path / "db" / "tables").resolve()
    assert project.folder("migrations") == (tmp_path / "db" / "migrations").resolve()
    assert project.folder("seeds") == defaults.shipped_dir("seeds")  # not named: the app's own
    assert "cruddur.toml" in project.source("schemas")


def test_tool_cruddur_in_pyproject(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.cruddur]\nseeds = "fixtures"\n')
    project = defaults.find_project(tmp_path)
    assert project.folder("seeds") == (tmp_path / "fixtures").resolve()


def test_a_pyproject_without_tool_cruddur_is_not_a_project_file(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert defaults.find_project(tmp_path).file is None


@pytest.mark.parametrize("text, message", [
    ('schemas = 3\n', "schemas: must be a folder path"),
    ('tables = "x"\n', "unknown key 'tables'"),
    ('schemas = "x\n', "not valid TOML"),
])
def test_bad_project_files_name_the_file(tmp_path, text, message):
    (tmp_path / "cruddur.toml").write_text(text)
    with pytest.raises(InputError, match=message) as err:
        defaults.find_project(tmp_path)
    assert str(Path(tmp_path / "cruddur.toml")) in str(err.value)
