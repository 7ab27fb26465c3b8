"""Click's exception classes, as the installed Typer raises them.

Typer 0.28 vendors its own copy of click (``typer._click``, with ``Exit``/``Abort`` in ``typer.exceptions``) and no
longer depends on the ``click`` distribution, so a plain ``pip install`` of cruddur has no ``click`` to import and
the exceptions Typer raises are not click's. Older Typer releases use click itself. Everything in ``cli/`` that
catches click's exceptions takes them from here; ``typer.Exit`` and ``typer.Abort`` are right for both.
"""

import typer

Exit = typer.Exit
Abort = typer.Abort
try:
    from typer._click.exceptions import ClickException  # typer >= 0.28
except ImportError:  # pragma: no cover - typer < 0.28 depends on click
    from click.exceptions import ClickException  # type: ignore[no-redef,assignment,unused-ignore]

__all__ = ["Abort", "ClickException", "Exit"]
