"""Click's exception classes, as the installed Typer raises them.

Typer 0.28 vendors its own copy of click (``typer._click``, with ``Exit``/``Abort`` in ``typer.exceptions``) and no
longer depends on the ``click`` distribution: a plain ``pip install`` of cruddur has no ``click`` to import, and the
exceptions Typer raises are not click's. pyproject.toml requires that Typer; everything in ``cli/`` that catches
click's exceptions takes them from here.
"""

import typer
from typer._click.exceptions import ClickException

Exit = typer.Exit
Abort = typer.Abort

__all__ = ["Abort", "ClickException", "Exit"]
