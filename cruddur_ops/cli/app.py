"""The root of ``cruddur``: global options, the command groups, and the error edge."""

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from cruddur_ops import __version__
from cruddur_ops.cli import render
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


# The command groups, loaded when a command line names one (or when the whole tree is asked for: docs, tests).
# `cruddur --help` lists them from SHORT_HELP without importing any: building every group's commands cost about
# as much as the rest of the start-up. tests/cli/test_app.py checks each line against the loaded command's own.
LAZY = {  # name -> (module, attribute: a Typer app, or a function that is one command)
    "doctor": ("cruddur_ops.cli.doctor", "doctor"),
    "web": ("cruddur_ops.cli.web", "web"),
    "ddb": ("cruddur_ops.cli.ddb", "app"),
    "db": ("cruddur_ops.cli.db", "app"),
    "rds": ("cruddur_ops.cli.rds", "app"),
    "cognito": ("cruddur_ops.cli.cognito", "app"),
    "local": ("cruddur_ops.cli.local", "app"),
}
SHORT_HELP = {
    "doctor": "Find, explain and (with --fix) repair the traps of the Cruddur...",
    "web": "Serve a read-only local page of the DynamoDB tables: item...",
    "ddb": "DynamoDB: schema-load, seed, scan and the app's access patterns.",
    "db": "PostgreSQL: create, schema-load, seed, sessions and status of...",
    "rds": "RDS: the instance in DB_INSTANCE_ID (status, start, stop) and...",
    "cognito": "Cognito: list the pool's users; copy their ids into PostgreSQL...",
    "local": "Start, stop and inspect the local engines: DynamoDB Local (on...",
}


def load_command(name: str):
    """The click command of one lazy group or command, built by Typer as ``add_typer``/``command`` would."""
    import importlib

    module, attribute = LAZY[name]
    target = getattr(importlib.import_module(module), attribute)
    command: Any
    if isinstance(target, typer.Typer):
        command = typer.main.get_group(target)
    else:
        holder = typer.Typer(rich_markup_mode=None, add_completion=False)
        holder.command(name)(target)
        command = typer.main.get_command(holder)
    command.name = name
    _plain_help(command)
    return command


def _plain_help(command) -> None:
    """The root's plain help for every command below it (``rich_markup_mode=None``, as ``add_typer`` passes down)."""
    command.rich_markup_mode = None
    for sub in getattr(command, "commands", {}).values():
        _plain_help(sub)


class RootGroup(TyperGroup):
    """Hoists global flags and turns errors the user can fix into one line on stderr and their exit status.

    Its commands are loaded when first named (:data:`LAZY`); ``commands`` loads them all, for whoever walks the
    whole tree (the docs generator, the tests)."""

    @property  # type: ignore[override]
    def commands(self) -> dict:
        for name in LAZY:
            self.get_command(None, name)
        return self._commands

    @commands.setter
    def commands(self, value) -> None:
        self._commands = dict(value or {})

    def list_commands(self, ctx) -> list[str]:
        return [*self._commands, *(n for n in LAZY if n not in self._commands)]

    def get_command(self, ctx, cmd_name: str):
        if cmd_name in LAZY and cmd_name not in self._commands:
            self._commands[cmd_name] = load_command(cmd_name)
        return self._commands.get(cmd_name)

    def format_commands(self, ctx, formatter) -> None:
        """`cruddur --help`'s list, from SHORT_HELP: no group is imported to print it."""
        rows = [(name, SHORT_HELP[name]) for name in LAZY]
        rows += [(n, c.get_short_help_str(60)) for n, c in self._commands.items() if n not in LAZY]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

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
