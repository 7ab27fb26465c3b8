"""The root of ``cruddur``: global options, the command groups, and the error edge."""

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from cruddur_ops import __version__
from cruddur_ops.cli import cognito, db, ddb, doctor, local, rds, render, web
from cruddur_ops.cli.errors import document, install_signal_handlers, line, signal_of, translate
from cruddur_ops.errors import CruddurError, Declined, Interrupted
from cruddur_ops.settings import Settings

# Global options may stand anywhere on the line, as in the AWS CLI: `cruddur ddb seed --prod` works.
VALUE_FLAGS = {"--endpoint-url", "--profile", "--region", "--data-dir"}
BOOL_FLAGS = {"--prod", "--debug"}


def hoist_global_flags(args: list[str]) -> list[str]:
    """Move global flags written after a command to the front, where the root parser reads them."""
    front, rest = [], []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        name = arg.split("=", 1)[0]
        if arg in BOOL_FLAGS:
            front.append(arg)
        elif name in VALUE_FLAGS and "=" in arg:
            front.append(arg)
        elif arg in VALUE_FLAGS and i + 1 < len(args):
            front.extend(args[i : i + 2])
            i += 1
        else:
            rest.append(arg)
        i += 1
    return front + rest


def output_flag(args: list[str]) -> str | None:
    """The value of ``--output``/``-o`` on the command line (the edge's own look: errors need it too)."""
    value = None
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg in ("--output", "-o") and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith("--output="):
            value = arg.split("=", 1)[1]
        elif arg.startswith("-o") and len(arg) > 2 and not arg.startswith("--"):
            value = arg[2:]
    return value


def _silence_stdout() -> None:
    """The reader of stdout went away (`| head`): send whatever is still buffered nowhere, as Unix tools do."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except Exception:  # OSError, or io.UnsupportedOperation: stdout is not a file (an in-process test runner)
        pass


def _output_mode(flag: str | None) -> str:
    """The output mode of this run, resolved once for results and errors alike (render.resolve's rule)."""
    try:
        return render.resolve(render.Output(flag) if flag else None).value
    except ValueError:  # a bad -o value: typer reports it
        return "table"


class RootGroup(TyperGroup):
    """Hoists global flags and turns errors the user can fix into one line on stderr and their exit status."""

    def parse_args(self, ctx, args):
        ctx.meta["cruddur.output"] = output_flag(list(args))
        return super().parse_args(ctx, hoist_global_flags(list(args)))

    def invoke(self, ctx) -> Any:
        from cruddur_ops.cli.clicklib import Abort, ClickException, Exit

        render.WROTE["result"] = False
        try:
            return super().invoke(ctx)
        except (Exit, Abort, ClickException):
            raise
        except BrokenPipeError:
            _silence_stdout()
            ctx.exit(0)
        except KeyboardInterrupt as exc:  # SIGINT, or SIGTERM through cli.errors.Terminated
            signum = signal_of(exc)
            err: CruddurError | None
            err = Interrupted(f"interrupted by {'SIGTERM' if signum == 15 else 'SIGINT'}", signum=signum)
            self._report(ctx, err, exc)
        except Exception as exc:
            if type(exc).__module__.startswith(("click", "typer")):
                raise
            settings = ctx.obj if isinstance(ctx.obj, Settings) else None
            err = translate(exc, settings)
            if err is None:
                raise
            self._report(ctx, err, exc)

    def _report(self, ctx, err: CruddurError, exc: BaseException) -> None:
        settings = ctx.obj if isinstance(ctx.obj, Settings) else None
        if settings is not None and settings.debug:
            import traceback

            traceback.print_exception(exc, file=sys.stderr)
        if isinstance(err, Declined):
            render.plain(line(err))
        elif isinstance(err, Interrupted):
            render.warn(line(err))
        else:
            mode = _output_mode(ctx.meta.get("cruddur.output"))  # as results resolve it: -o, else JSON when piped
            if mode in ("json", "jsonl") and not render.WROTE["result"]:
                try:
                    render.emit(document(err), render.Output.json)
                except BrokenPipeError:
                    _silence_stdout()
            render.error(line(err))
        code = getattr(err, "exit_code", 1)
        ctx.exit(code if isinstance(code, int) else 1)


app = typer.Typer(
    cls=RootGroup,
    name="cruddur",
    no_args_is_help=True,
    help="Data chores for Cruddur: PostgreSQL, DynamoDB, RDS and Cognito, from one CLI.",
    epilog="Example: cruddur local demo",
    pretty_exceptions_show_locals=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(ddb.app, name="ddb")
app.add_typer(db.app, name="db")
app.add_typer(rds.app, name="rds")
app.add_typer(cognito.app, name="cognito")
app.add_typer(local.app, name="local")
app.command("doctor")(doctor.doctor)
app.command("web")(web.web)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"cruddur {__version__}\n")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    endpoint_url: Annotated[Optional[str], typer.Option("--endpoint-url", help="Endpoint for every AWS service (else AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL).", show_default=False)] = None,
    profile: Annotated[Optional[str], typer.Option("--profile", help="AWS profile (else AWS_PROFILE).", show_default=False)] = None,
    region: Annotated[Optional[str], typer.Option("--region", help="AWS region (else AWS_REGION, AWS_DEFAULT_REGION).", show_default=False)] = None,
    prod: Annotated[bool, typer.Option("--prod", help="Allow writes to non-local endpoints; use PROD_CONNECTION_URL.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    data_dir: Annotated[Optional[Path], typer.Option("--data-dir", help="Where local engines live (else CRUDDUR_HOME, ~/.local/share/cruddur).", show_default=False)] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")] = False,
) -> None:
    """Data chores for Cruddur: PostgreSQL, DynamoDB, RDS and Cognito, from one CLI.

    Global options may also follow the command: `cruddur ddb seed --prod`.
    """
    from cruddur_ops.cli.options import confirm_action

    ctx.obj = Settings.from_env(endpoint_url=endpoint_url, profile=profile, region=region, prod=prod, debug=debug,
                                data_dir=data_dir, confirmer=confirm_action)


def main() -> None:
    install_signal_handlers()
    app()
