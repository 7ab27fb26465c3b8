"""Where the default schemas/ and seeds/ live: the current directory's when it has them, else the shipped copy."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def _default_dir(name: str) -> Path:
    local = Path.cwd() / name
    if local.is_dir():
        return local
    shipped = PACKAGE / "_defaults" / name  # inside an installed wheel
    if shipped.is_dir():
        return shipped
    return PACKAGE.parent / name  # an editable install: the repository's own folder


def schemas_dir() -> Path:
    return _default_dir("schemas")


def schema_files() -> list[Path]:
    """The DynamoDB table schemas: every *.yaml / *.yml in schemas/."""
    folder = schemas_dir()
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml")) if folder.is_dir() else []


def seeds_dir() -> Path:
    return _default_dir("seeds")


def seed_file() -> Path:
    return seeds_dir() / "conversations.yaml"


def sql_schema_file() -> Path:
    return schemas_dir() / "schema.sql"
