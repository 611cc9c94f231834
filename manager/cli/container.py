"""`mydocker container ...` and Docker's short forms (run, create, ps, start,
stop, restart, kill, rm, logs, exec, inspect, wait, top, stats, rename,
pause, unpause): flags -> options -> one call into services/containers.py."""
import json
import sys

import click

from .app import cli
from .runopts import RUN_OPTIONS, _env_list, build_options
from ..errors import ContainerNotFound, UsageError

CONTAINER_CTX = {"help_option_names": ["-h", "--help"]}
RUN_CTX = {"help_option_names": ["--help"], "allow_interspersed_args": False}

PS_HEADERS = {"ID": "CONTAINER ID", "FullID": "CONTAINER ID", "Image": "IMAGE",
              "Command": "COMMAND", "CreatedAt": "CREATED AT", "RunningFor": "CREATED",
              "Status": "STATUS", "State": "STATE", "Ports": "PORTS", "Names": "NAMES",
              "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS", "Size": "SIZE",
              "ExitCode": "EXIT CODE", "ImageID": "IMAGE ID"}
PS_DEFAULT = ("table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t"
              "{{.Ports}}\t{{.Names}}")
STATS_HEADERS = {"ID": "CONTAINER ID", "Container": "CONTAINER", "Name": "NAME",
                 "CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %",
                 "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS"}
STATS_DEFAULT = ("table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t"
                 "{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}")


def _svc():
    from ..services import containers
    return containers


@cli.group("container", context_settings=CONTAINER_CTX)
def container():
    """Manage containers."""


# ---- run / create -----------------------------------------------------------------

def run_options(f):
    """The click options of run/create, from runopts.RUN_OPTIONS (which the
    fast path parses too)."""
    opts = [click.option(*decls, **settings) for decls, settings in RUN_OPTIONS]
    opts += [click.argument("image"),
             click.argument("command", nargs=-1, type=click.UNPROCESSED)]
    for o in reversed(opts):
        f = o(f)
    return f


@container.command("run", context_settings=RUN_CTX)
@run_options
@click.pass_context
def run_cmd(ctx, detach, **kw):
    """Create and run a new container from an image."""
    opts = build_options(kw)
    svc = _svc()
    if detach and kw["tty"] is False and kw["interactive"]:
        pass
    result = svc.run(ctx.obj.paths, opts, ctx.obj.runtime, detach=detach)
    if detach:
        click.echo(result["Id"])
        return
    from .fastpath import _exit  # no interpreter teardown (~20 ms): nothing left to do
    _exit(result or 0)


@container.command("create", context_settings=RUN_CTX)
@run_options
@click.pass_context
def create_cmd(ctx, detach, **kw):
    """Create a new container."""
    opts = build_options(kw)
    rec = _svc().create(ctx.obj.paths, opts, ctx.obj.runtime)
    click.echo(rec["Id"])


# ---- lifecycle --------------------------------------------------------------------

def _each(ctx, refs, fn, echo=True):
    """Apply fn to each ref; print the ref on success, Docker-style errors otherwise."""
    failed = False
    for ref in refs:
        try:
            fn(ref)
            if echo:
                click.echo(ref)
        except ContainerNotFound as e:
            click.echo(f"Error response from daemon: {e}", err=True)
            failed = True
        except UsageError:
            raise
        except Exception as e:
            from ..errors import MyDockerError
            if not isinstance(e, MyDockerError):
                raise
            click.echo(f"Error response from daemon: {e}", err=True)
            failed = True
    if failed:
        sys.exit(1)


@container.command("start", context_settings=CONTAINER_CTX)
@click.option("-a", "--attach", is_flag=True, help="Attach STDOUT/STDERR and forward signals.")
@click.option("-i", "--interactive", is_flag=True, help="Attach container's STDIN.")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def start_cmd(ctx, attach, interactive, containers):
    """Start one or more stopped containers."""
    svc = _svc()
    if attach or interactive:
        if len(containers) > 1:
            raise UsageError("you cannot start and attach multiple containers at once")
        code = svc.start(ctx.obj.paths, containers[0], attach=True, interactive=interactive)
        sys.exit(code or 0)
    _each(ctx, containers, lambda r: svc.start(ctx.obj.paths, r))


@container.command("stop", context_settings=CONTAINER_CTX)
@click.option("-t", "--time", "timeout", type=int, default=None,
              help="Seconds to wait before killing the container.")
@click.option("-s", "--signal", "sig", default=None, help="Signal to send to the container.")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def stop_cmd(ctx, timeout, sig, containers):
    """Stop one or more running containers."""
    svc = _svc()
    _each(ctx, containers, lambda r: svc.stop(ctx.obj.paths, r, timeout, sig))


@container.command("restart", context_settings=CONTAINER_CTX)
@click.option("-t", "--time", "timeout", type=int, default=None)
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def restart_cmd(ctx, timeout, containers):
    """Restart one or more containers."""
    svc = _svc()
    _each(ctx, containers, lambda r: svc.restart(ctx.obj.paths, r, timeout))


@container.command("kill", context_settings=CONTAINER_CTX)
@click.option("-s", "--signal", "sig", default="KILL", help="Signal to send.")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def kill_cmd(ctx, sig, containers):
    """Kill one or more running containers."""
    svc = _svc()
    from ..specgen import parse_signal
    parse_signal(sig)
    _each(ctx, containers, lambda r: svc.kill(ctx.obj.paths, r, sig))


@container.command("remove", context_settings=CONTAINER_CTX)
@click.option("-f", "--force", is_flag=True, help="Force the removal of a running container.")
@click.option("-v", "--volumes", is_flag=True, help="Remove anonymous volumes.")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def remove_cmd(ctx, force, volumes, containers):
    """Remove one or more containers."""
    svc = _svc()
    _each(ctx, containers, lambda r: svc.remove(ctx.obj.paths, r, force, volumes))


container.add_command(remove_cmd, "rm")


@container.command("pause", context_settings=CONTAINER_CTX)
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def pause_cmd(ctx, containers):
    """Pause all processes within one or more containers."""
    svc = _svc()
    _each(ctx, containers, lambda r: svc.pause(ctx.obj.paths, r))


@container.command("unpause", context_settings=CONTAINER_CTX)
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def unpause_cmd(ctx, containers):
    """Unpause all processes within one or more containers."""
    svc = _svc()
    _each(ctx, containers, lambda r: svc.unpause(ctx.obj.paths, r))


@container.command("wait", context_settings=CONTAINER_CTX)
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def wait_cmd(ctx, containers):
    """Block until one or more containers stop, then print their exit codes."""
    svc = _svc()
    _each(ctx, containers, lambda r: click.echo(svc.wait(ctx.obj.paths, r)), echo=False)


@container.command("rename", context_settings=CONTAINER_CTX)
@click.argument("container")
@click.argument("new_name")
@click.pass_context
def rename_cmd(ctx, container, new_name):
    """Rename a container."""
    _svc().rename(ctx.obj.paths, container, new_name)


@container.command("prune", context_settings=CONTAINER_CTX)
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.option("--filter", "filters", multiple=True)
@click.pass_context
def prune_cmd(ctx, force, filters):
    """Remove all stopped containers."""
    if not force and sys.stdin.isatty():
        click.confirm("WARNING! This will remove all stopped containers.\n"
                      "Are you sure you want to continue?", abort=True)
    removed = _svc().prune(ctx.obj.paths, filters)
    if removed:
        click.echo("Deleted Containers:")
        for cid in removed:
            click.echo(cid)
        click.echo("")
    click.echo("Total reclaimed space: 0B")


# ---- list / inspect / logs -----------------------------------------------------------

@container.command("list", context_settings=CONTAINER_CTX)
@click.option("-a", "--all", "all_", is_flag=True, help="Show all containers.")
@click.option("-q", "--quiet", is_flag=True, help="Only display container IDs.")
@click.option("-f", "--filter", "filters", multiple=True, help="Filter output (name=value).")
@click.option("--format", "format_", help="Format output using a Go template.")
@click.option("-n", "--last", type=int, default=None, help="Show n last created containers.")
@click.option("-l", "--latest", is_flag=True, help="Show the latest created container.")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output.")
@click.option("-s", "--size", is_flag=True, help="Display total file sizes (ignored).")
@click.pass_context
def list_cmd(ctx, all_, quiet, filters, format_, last, latest, no_trunc, size):
    """List containers."""
    from .gotemplate import render_table
    svc = _svc()
    if latest:
        last = 1
    rows = svc.list_containers(ctx.obj.paths, all_, filters, last)
    summaries = []
    for rec, st in rows:
        s = svc.summary(ctx.obj.paths, rec, st)
        labels = s.pop("LabelMap")
        s["Label"] = (lambda lm: lambda k: lm.get(k, ""))(labels)
        if no_trunc:
            s["ID"] = s["FullID"]
        elif len(s["Command"]) > 22:
            s["Command"] = s["Command"][:20] + "…\""
        summaries.append(s)
    if quiet:
        for s in summaries:
            click.echo(s["ID"])
        return
    for line in render_table(format_ or PS_DEFAULT, summaries, PS_HEADERS):
        click.echo(line)


container.add_command(list_cmd, "ls")
container.add_command(list_cmd, "ps")


def _print_docs(docs, format_):
    from .gotemplate import render
    if format_:
        for d in docs:
            click.echo(render(format_, d))
    else:
        click.echo(json.dumps(docs, indent=4))


@container.command("inspect", context_settings=CONTAINER_CTX)
@click.option("-f", "--format", "format_", help="Format output using a Go template.")
@click.option("-s", "--size", is_flag=True)
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def inspect_cmd(ctx, format_, size, containers):
    """Display detailed information on one or more containers."""
    docs, missing = _svc().inspect(ctx.obj.paths, containers)
    _print_docs(docs, format_)
    for ref in missing:
        click.echo(f"Error: No such container: {ref}", err=True)
    if missing:
        sys.exit(1)


@container.command("logs", context_settings=CONTAINER_CTX)
@click.option("-f", "--follow", is_flag=True, help="Follow log output.")
@click.option("-n", "--tail", default="all", help="Number of lines to show from the end.")
@click.option("--since", help="Show logs since timestamp or relative (e.g. 42m).")
@click.option("--until", help="Show logs before a timestamp or relative (e.g. 42m).")
@click.option("-t", "--timestamps", is_flag=True, help="Show timestamps.")
@click.option("--details", is_flag=True, help="Show extra details (ignored).")
@click.argument("container")
@click.pass_context
def logs_cmd(ctx, follow, tail, since, until, timestamps, details, container):
    """Fetch the logs of a container."""
    if tail == "all":
        n = None
    else:
        try:
            n = int(tail)
        except ValueError:
            raise UsageError(f"invalid value for --tail: {tail!r}: use a number or all")
        if n < 0:
            n = None
    try:
        from ..services.logs import logs
        logs(ctx.obj.paths, container, follow, n, since, until, timestamps)
    except KeyboardInterrupt:
        pass


# ---- exec / top / stats ------------------------------------------------------------

@container.command("exec", context_settings=RUN_CTX)
@click.option("-d", "--detach", is_flag=True, help="Run the command in the background.")
@click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open.")
@click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY.")
@click.option("-e", "--env", multiple=True, help="Set environment variables.")
@click.option("--env-file", multiple=True, help="Read environment variables from a file.")
@click.option("-u", "--user", help="Username or UID (format: <name|uid>[:<group|gid>]).")
@click.option("-w", "--workdir", help="Working directory inside the container.")
@click.option("--privileged", is_flag=True, help="Give extended privileges to the command.")
@click.argument("container")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
def exec_cmd(ctx, detach, interactive, tty, env, env_file, user, workdir, privileged,
             container, command):
    """Execute a command in a running container."""
    from ..services.exec import exec_
    code = exec_(ctx.obj.paths, container, list(command), interactive, tty, detach,
                        _env_list(env, env_file), user, workdir, privileged)
    sys.exit(code or 0)


@container.command("top", context_settings=CONTAINER_CTX)
@click.argument("container")
@click.pass_context
def top_cmd(ctx, container):
    """Display the running processes of a container."""
    from .gotemplate import tabulate
    from ..services.stats import top
    titles, rows = top(ctx.obj.paths, container)
    for line in tabulate(["\t".join(titles)] + ["\t".join(r) for r in rows], 0, 4):
        click.echo(line)


@container.command("stats", context_settings=CONTAINER_CTX)
@click.option("-a", "--all", "all_", is_flag=True, help="Show all containers.")
@click.option("--no-stream", is_flag=True, help="Print the first result only.")
@click.option("--no-trunc", is_flag=True)
@click.option("--format", "format_", help="Format output using a Go template.")
@click.argument("containers", nargs=-1)
@click.pass_context
def stats_cmd(ctx, all_, no_stream, no_trunc, format_, containers):
    """Display a live stream of container resource usage statistics."""
    from .gotemplate import render_table
    from ..services.stats import stats
    while True:
        rows = stats(ctx.obj.paths, containers, all_)
        lines = render_table(format_ or STATS_DEFAULT, rows, STATS_HEADERS)
        if not no_stream:
            click.echo("\x1b[2J\x1b[H", nl=False)
        for line in lines:
            click.echo(line)
        if no_stream:
            return


# ---- Docker's short forms -------------------------------------------------------------

for _name, _cmd in (("run", run_cmd), ("create", create_cmd), ("ps", list_cmd),
                    ("start", start_cmd), ("stop", stop_cmd), ("restart", restart_cmd),
                    ("kill", kill_cmd), ("rm", remove_cmd), ("logs", logs_cmd),
                    ("exec", exec_cmd), ("wait", wait_cmd), ("top", top_cmd),
                    ("stats", stats_cmd), ("rename", rename_cmd), ("pause", pause_cmd),
                    ("unpause", unpause_cmd)):
    if _name not in cli.commands:
        cli.add_command(_cmd, _name)


@click.command("inspect", context_settings=CONTAINER_CTX)
@click.option("-f", "--format", "format_", help="Format output using a Go template.")
@click.option("--type", "type_", type=click.Choice(["container", "image"]), default=None)
@click.option("-s", "--size", is_flag=True)
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def inspect_any(ctx, format_, type_, size, names):
    """Return low-level information on containers or images."""
    docs, missing = ([], list(names)) if type_ == "image" else \
        _svc().inspect(ctx.obj.paths, names)
    still = []
    if missing and type_ != "container":
        try:
            from ..services import images
        except ImportError:
            images = None
        for ref in missing:
            try:
                docs.append(images.inspect(ctx.obj.paths, ref) if images else None)
            except Exception:
                still.append(ref)
        docs = [d for d in docs if d is not None]
    else:
        still = missing
    _print_docs(docs, format_)
    for ref in still:
        click.echo(f"Error: No such object: {ref}", err=True)
    if still:
        sys.exit(1)


if "inspect" not in cli.commands:
    cli.add_command(inspect_any, "inspect")
