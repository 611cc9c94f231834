"""The click application: the root group, its global options and the error
handling every command shares (`Error: ...` on stderr, the error's exit
code).  Subcommand modules register themselves on the groups defined here:
manager/cli/image.py (image group + pull/images/rmi/tag/login/logout),
manager/cli/container.py (container group + run/ps/start/stop/rm/logs/exec/inspect),
manager/cli/system.py (system group).  `mydocker run` usually never gets
here: see manager/cli/fastpath.py."""
import sys

import click

from ..errors import MyDockerError
from ..paths import Paths


class Context:
    def __init__(self, paths, runtime, debug):
        self.paths = paths
        self.runtime = runtime
        self.debug = debug


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-root", envvar="MYDOCKER_DATA_ROOT", default=None,
              help="Where images and containers are stored (default /var/lib/mydocker).")
@click.option("--run-root", envvar="MYDOCKER_RUN_ROOT", default=None,
              help="Where run state lives (default /run/mydocker).")
@click.option("--runtime", "runtime", envvar="MYDOCKER_RUNTIME", default=None,
              help="Default OCI runtime command (default runc-py).")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.pass_context
def cli(ctx, data_root, run_root, runtime, debug):
    """mydocker: images and containers on any OCI runtime."""
    ctx.obj = Context(Paths.from_env(data_root, run_root), runtime, debug)


def _register():
    import importlib
    for name in ("image", "container", "system"):
        try:
            importlib.import_module(f"manager.cli.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"manager.cli.{name}":
                raise


def report(e, debug):
    """Print a MyDockerError the way every command does and exit with its code."""
    if debug:
        raise e
    click.echo(f"Error: {e}", err=True)
    sys.exit(e.exit_code)


def main(argv=None):
    _register()
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        rc = cli.main(args=argv, prog_name="mydocker", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.exceptions.ClickException as e:
        e.show()
        sys.exit(125 if e.exit_code == 2 else e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except MyDockerError as e:
        report(e, debug)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(rc if isinstance(rc, int) else 0)
