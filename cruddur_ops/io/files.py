"""Files written whole or not at all, never through a symlink: the one way every ``--out FILE`` is written.

:func:`atomic_write` creates a new temporary file beside the target (``.NAME.<random>.partial``, opened with
``O_CREAT|O_EXCL|O_NOFOLLOW``, so neither a file nor a symlink planted under any name is ever opened), yields it,
and renames it over the target only when the block ends without an error; on an error or an interrupt the
temporary file is removed and the target is left as it was. ``os.replace`` replaces a symlink standing at the
target itself rather than writing where it points.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from cruddur_ops.errors import InputError


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}.partial")


def create_new(path: Path, mode: int = 0o666) -> int:
    """A file descriptor of a new file at ``path`` (``O_EXCL|O_NOFOLLOW``): an existing file or symlink is refused."""
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except OSError as exc:
        raise InputError(f"cannot create {path}: {exc.strerror or exc} (an existing file or symlink is never "
                         "written through)", path=path) from None


@contextmanager
def atomic_write(path: Path | str, mode: str = "w", *, encoding: str | None = "utf-8", newline: str | None = None,
                 perm: int = 0o666) -> Iterator[IO[Any]]:
    """Write ``path`` through a private temporary file in its folder, renamed into place when the block succeeds.

    ``perm`` is the new file's mode before the umask (0o600 for private files). The target's folder must exist.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(f"cannot write {path}: its folder {path.parent} does not exist", path=path)
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a folder", path=path)
    tmp = _temp_name(path)
    fd = create_new(tmp, perm)
    handle: IO[Any]
    try:
        if "b" in mode:
            handle = os.fdopen(fd, "wb")
        else:
            handle = os.fdopen(fd, "w", encoding=encoding, newline=newline)
        with handle:
            yield handle
            handle.flush()
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_bytes(path: Path | str, data: bytes, *, perm: int = 0o666) -> Path:
    """``path``'s whole content, written as :func:`atomic_write` does."""
    with atomic_write(path, "wb", perm=perm) as out:
        out.write(data)
    return Path(path)


def write_text(path: Path | str, text: str, *, perm: int = 0o666, encoding: str = "utf-8") -> Path:
    with atomic_write(path, "w", encoding=encoding, perm=perm) as out:
        out.write(text)
    return Path(path)
