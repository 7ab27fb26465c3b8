"""Which schema, seed and migration files a command uses when it is given none.

The app's own files ship inside the package (``cruddur_ops/data/{schemas,seeds,migrations}``, read through
``importlib.resources``). A project folder is used only when a project file names it: ``cruddur.toml`` in the
current directory or a parent (top-level keys ``schemas``, ``seeds``, ``migrations``), or ``[tool.cruddur]`` in a
``pyproject.toml`` there; paths are relative to that file. One more key, ``cognito_placeholder``, names the text
``users.cognito_user_id`` holds for a user without a Cognito account (default ``MOCK``, the app's convention). A stray ``schemas/`` folder in the current directory is
never picked up on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from cruddur_ops.errors import InputError

KINDS = ("schemas", "seeds", "migrations")
VALUES = ("cognito_placeholder",)  # project keys that hold text, not a folder
COGNITO_PLACEHOLDER = "MOCK"  # the app's own seed.sql and schema.sql (NOT NULL) convention
PROJECT_FILE = "cruddur.toml"


def shipped_dir(kind: str) -> Path:
    """The app's own folder of ``kind`` inside the installed package."""
    return Path(str(resources.files("cruddur_ops") / "data" / kind))


@dataclass(frozen=True)
class Project:
    """The project file in force (None: the shipped defaults) and the folder of each kind it names."""

    file: Path | None = None
    folders: dict[str, Path] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)

    def folder(self, kind: str) -> Path:
        return self.folders.get(kind) or shipped_dir(kind)

    def source(self, kind: str) -> str:
        """Where ``kind``'s files come from, for notes: ``cruddur.toml`` or ``the app's files shipped in cruddur``."""
        if kind in self.folders and self.file is not None:
            return f"{self.file} ({kind} = {self.folders[kind]})"
        return "the app's files shipped in cruddur"


def _read_toml(path: Path) -> dict:
    import tomllib

    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", path=path) from exc
    except OSError as exc:
        raise InputError(f"cannot read it: {exc.strerror}", path=path) from exc


def _project_from(path: Path, table: dict) -> Project:
    if not isinstance(table, dict):
        raise InputError("the cruddur settings must be a table", path=path)
    folders: dict[str, Path] = {}
    values: dict[str, str] = {}
    for key, value in table.items():
        if key in VALUES:
            if not isinstance(value, str) or not value.strip():
                raise InputError(f"{key}: must be non-empty text, got {value!r}", path=path)
            values[key] = value
            continue
        if key not in KINDS:
            raise InputError(f"unknown key {key!r} (known: {', '.join(KINDS + VALUES)})", path=path)
        if not isinstance(value, str) or not value:
            raise InputError(f"{key}: must be a folder path (text), got {value!r}", path=path)
        folders[key] = (path.parent / value).resolve()
    return Project(file=path, folders=folders, values=values)


def find_project(start: Path | None = None) -> Project:
    """The nearest project file from ``start`` (default: the current directory) upward, else the defaults."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            data = _read_toml(candidate)
            return _project_from(candidate, data.get("cruddur", data))
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            data = _read_toml(pyproject)
            table = data.get("tool", {}).get("cruddur") if isinstance(data.get("tool"), dict) else None
            if table is not None:
                return _project_from(pyproject, table)
    return Project()


@cache
def _cached_project(cwd: str) -> Project:
    return find_project(Path(cwd))


def project() -> Project:
    """The project in force for the current directory (read once per directory and process)."""
    return _cached_project(str(Path.cwd()))


def schemas_dir() -> Path:
    return project().folder("schemas")


def schema_files() -> list[Path]:
    """The DynamoDB table schemas: every *.yaml / *.yml in the schemas folder, and every *.json there that is an
    AWS DynamoDB MCP ``schema.json`` (``{"tables": [{"table_config": …}]}``)."""
    folder = schemas_dir()
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") or (p.suffix == ".json" and _is_mcp_schema(p)))


def _is_mcp_schema(path: Path) -> bool:
    try:
        head = path.read_text("utf-8", errors="replace")[:4096]
    except OSError:
        return False
    return '"tables"' in head and '"table_config"' in head


def seeds_dir() -> Path:
    return project().folder("seeds")


def seed_file() -> Path:
    return seeds_dir() / "conversations.yaml"


def sql_schema_file() -> Path:
    return schemas_dir() / "schema.sql"


def migrations_dir() -> Path:
    return project().folder("migrations")


def cognito_placeholder() -> str:
    """What ``users.cognito_user_id`` holds for a user without a Cognito account: the project file's
    ``cognito_placeholder``, else ``MOCK`` (the app declares the column NOT NULL and tests ``= 'MOCK'``)."""
    return project().values.get("cognito_placeholder", COGNITO_PLACEHOLDER)
