"""`mydocker system info|prune`: where things live, what runs, and a cleanup
of stopped containers (plus dangling images when the image service offers it)."""
import os
import platform
import sys

import click

from .app import cli


@cli.group("system", context_settings={"help_option_names": ["-h", "--help"]})
def system():
    """Manage mydocker."""


@system.command("info")
@click.option("-f", "--format", "format_", help="Format output using a Go template.")
@click.pass_context
def info_cmd(ctx, format_):
    """Display system-wide information."""
    from .. import runtime_client as rc
    from ..services import containers as svc
    from ..services import stats as _stats
    paths = ctx.obj.paths
    rows = svc.list_containers(paths, all_=True)
    states = [st["Status"] for _, st in rows]
    try:
        from ..store.images import ImageStore
        n_images = len(ImageStore(paths.data_root).list())
    except Exception:
        n_images = 0
    runtime = ctx.obj.runtime or rc.DEFAULT_RUNTIME
    cgroup_v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
    info = {
        "Containers": len(rows), "ContainersRunning": states.count("running"),
        "ContainersPaused": states.count("paused"),
        "ContainersStopped": len([s for s in states if s in ("exited", "created")]),
        "Images": n_images, "Driver": "overlay2", "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs", "CgroupVersion": "2" if cgroup_v2 else "1",
        "DefaultRuntime": runtime, "RuntimePath": rc.resolve(runtime) or "(not found)",
        "KernelVersion": platform.release(), "OperatingSystem": _os_name(),
        "OSType": "linux", "Architecture": platform.machine(), "NCPU": os.cpu_count(),
        "MemTotal": _stats._mem_total(), "DockerRootDir": str(paths.data_root),
        "RunRoot": str(paths.run_root), "Name": platform.node(),
    }
    if format_:
        from .gotemplate import render
        click.echo(render(format_, info))
        return
    lines = [
        f"Containers: {info['Containers']}",
        f" Running: {info['ContainersRunning']}",
        f" Paused: {info['ContainersPaused']}",
        f" Stopped: {info['ContainersStopped']}",
        f"Images: {info['Images']}",
        f"Storage Driver: {info['Driver']}",
        f"Logging Driver: {info['LoggingDriver']}",
        f"Cgroup Driver: {info['CgroupDriver']}",
        f"Cgroup Version: {info['CgroupVersion']}",
        f"Default Runtime: {info['DefaultRuntime']} ({info['RuntimePath']})",
        f"Kernel Version: {info['KernelVersion']}",
        f"Operating System: {info['OperatingSystem']}",
        f"Architecture: {info['Architecture']}",
        f"CPUs: {info['NCPU']}",
        f"Total Memory: {_stats._bytes(info['MemTotal'])}",
        f"Name: {info['Name']}",
        f"Data Root Dir: {info['DockerRootDir']}",
        f"Run Root Dir: {info['RunRoot']}",
    ]
    click.echo("\n".join(lines))


def _os_name():
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


@system.command("prune")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.pass_context
def prune_cmd(ctx, force):
    """Remove stopped containers and dangling images."""
    if not force and sys.stdin.isatty():
        click.confirm("WARNING! This will remove:\n  - all stopped containers\n"
                      "  - all dangling images\nAre you sure you want to continue?",
                      abort=True)
    from ..services import containers as svc
    removed = svc.prune(ctx.obj.paths)
    if removed:
        click.echo("Deleted Containers:")
        for cid in removed:
            click.echo(cid)
        click.echo("")
    try:
        from ..services import images
        pruned = images.prune(ctx.obj.paths)
    except (ImportError, AttributeError):
        pruned = None
    if pruned:
        click.echo("Deleted Images:")
        for item in pruned if isinstance(pruned, (list, tuple)) else [pruned]:
            click.echo(f"deleted: {item}")
        click.echo("")
    click.echo("Total reclaimed space: 0B")
