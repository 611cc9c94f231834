"""`mydocker image ...` and Docker's short forms (pull, images, rmi, tag,
login, logout, save, load, import, history).  Thin: flags -> one call in
manager.services.images -> output."""
import json
import sys
import time

import click

from .app import cli

__all__ = ["image"]


def _svc():
    from ..services import images
    return images


class _Echo:
    """A file-like `out` for services that prints through click."""

    def write(self, text):
        click.echo(text, nl=False)

    def flush(self):
        pass


def _paths(ctx):
    return ctx.obj.paths


def _ago(ts):
    if not ts:
        return "N/A"
    from datetime import datetime, timezone
    try:
        t = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return ts
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    s = max(0, time.time() - t.timestamp())
    for unit, n in (("year", 365 * 86400), ("month", 30 * 86400), ("week", 7 * 86400),
                    ("day", 86400), ("hour", 3600), ("minute", 60)):
        if s >= n:
            k = int(s // n)
            return f"{k} {unit}{'s' if k > 1 else ''} ago"
    return "Less than a minute ago" if s >= 1 else "Less than a second ago"


def _size(n):
    n = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{int(n)}B" if unit == "B" else f"{n:.3g}{unit}"
        n /= 1000


def _table(rows, headers):
    widths = [max(len(h), *(len(str(r[i])) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    lines = ["   ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    for r in rows:
        lines.append("   ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    click.echo("\n".join(lines))


@cli.group("image")
def image():
    """Manage images."""


# -- pull ------------------------------------------------------------------------------------
def _pull_options(f):
    f = click.option("--platform", default=None, help="os/arch[/variant] (default: this host)")(f)
    f = click.option("-q", "--quiet", is_flag=True, help="Print only the image name")(f)
    f = click.option("--max-concurrent-downloads", "parallel", type=click.IntRange(1, 64),
                     default=None, help="Layers downloaded at once (default 4)")(f)
    return f


@click.command("pull")
@click.argument("ref")
@_pull_options
@click.pass_context
def pull_cmd(ctx, ref, platform, quiet, parallel):
    """Pull an image from a registry."""
    from ..registry import reference
    _svc().pull(_paths(ctx), ref, platform=platform, out=sys.stderr, parallel=parallel,
                quiet=quiet)
    click.echo(str(reference.parse(ref)))


# -- list ------------------------------------------------------------------------------------
@click.command("list")
@click.argument("repository", required=False)
@click.option("-q", "--quiet", is_flag=True, help="Only show image IDs")
@click.option("--digests", is_flag=True, help="Show digests")
@click.option("--no-trunc", is_flag=True, help="Do not truncate IDs")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def list_cmd(ctx, repository, quiet, digests, no_trunc, fmt):
    """List images."""
    rows = _svc().list_images(_paths(ctx), repository)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    short = (lambda i: i) if no_trunc else (lambda i: i.split(":", 1)[1][:12])
    if quiet:
        seen = []
        for r in rows:
            if short(r["id"]) not in seen:
                seen.append(short(r["id"]))
        if seen:
            click.echo("\n".join(seen))
        return
    headers = ["REPOSITORY", "TAG"] + (["DIGEST"] if digests else []) + \
              ["IMAGE ID", "CREATED", "SIZE"]
    table = [[r["repository"], r["tag"]] + ([r["digest"]] if digests else []) +
             [short(r["id"]), _ago(r["created"]), _size(r["size"])] for r in rows]
    _table(table, headers)


# -- remove / tag ----------------------------------------------------------------------------
@click.command("remove")
@click.argument("refs", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True, help="Remove even if a container uses it")
@click.pass_context
def remove_cmd(ctx, refs, force):
    """Remove images."""
    from ..errors import MyDockerError
    failed = None
    for ref in refs:
        try:
            for line in _svc().remove(_paths(ctx), ref, force=force):
                click.echo(line)
        except MyDockerError as e:
            if len(refs) == 1:
                raise
            click.echo(f"Error: {e}", err=True)
            failed = e
    if failed is not None:
        ctx.exit(1)


@click.command("tag")
@click.argument("source")
@click.argument("target")
@click.pass_context
def tag_cmd(ctx, source, target):
    """Create a tag TARGET that refers to SOURCE."""
    _svc().tag(_paths(ctx), source, target)


@click.command("prune")
@click.pass_context
def prune_cmd(ctx):
    """Remove dangling images and unused layers."""
    for line in _svc().prune(_paths(ctx)):
        click.echo(line)


# -- inspect / history -----------------------------------------------------------------------
@click.command("inspect")
@click.argument("refs", nargs=-1, required=True)
@click.option("-f", "--format", "fmt", default=None,
              help="Print one field, e.g. '.Id' or '.Config.Cmd' (JSON for objects)")
@click.pass_context
def inspect_cmd(ctx, refs, fmt):
    """Show details of images as JSON."""
    docs = [_svc().inspect(_paths(ctx), r) for r in refs]
    if fmt:
        for d in docs:
            click.echo(_field(d, fmt))
        return
    click.echo(json.dumps(docs, indent=4))


def _field(doc, fmt):
    path = fmt.strip()
    if path.startswith("{{") and path.endswith("}}"):
        path = path[2:-2].strip()
    v = doc
    for part in [p for p in path.split(".") if p]:
        if not isinstance(v, dict) or part not in v:
            from ..errors import UsageError
            raise UsageError(f"template: no field {part!r} in {fmt!r}")
        v = v[part]
    return v if isinstance(v, str) else json.dumps(v)


@click.command("history")
@click.argument("ref")
@click.option("--no-trunc", is_flag=True)
@click.option("-q", "--quiet", is_flag=True)
@click.pass_context
def history_cmd(ctx, ref, no_trunc, quiet):
    """Show the history of an image."""
    rows = _svc().history(_paths(ctx), ref)
    ident = (lambda i: i) if no_trunc else (
        lambda i: i if i == "<missing>" else i.split(":", 1)[1][:12])
    if quiet:
        click.echo("\n".join(ident(r["id"]) for r in rows))
        return
    by = (lambda s: s) if no_trunc else (lambda s: s if len(s) <= 45 else s[:44] + "…")
    _table([[ident(r["id"]), _ago(r["created"]), by(r["created_by"]), _size(r["size"]),
             r["comment"]] for r in rows],
           ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"])


# -- save / load / import --------------------------------------------------------------------
@click.command("save")
@click.argument("refs", nargs=-1, required=True)
@click.option("-o", "--output", default=None, help="Write to this file (or dir for oci-dir)")
@click.option("--format", "fmt", type=click.Choice(["docker", "oci", "oci-dir"]),
              default="docker", help="docker: Docker archive + OCI layout (default)")
@click.pass_context
def save_cmd(ctx, refs, output, fmt):
    """Save images to a tar archive (stdout by default)."""
    if output is None and fmt != "oci-dir" and sys.stdout.isatty():
        from ..errors import UsageError
        raise UsageError("refusing to write an archive to a terminal; use -o FILE or a pipe")
    _svc().save(_paths(ctx), list(refs), output, fmt)


@click.command("load")
@click.option("-i", "--input", "source", required=True,
              help="A Docker archive or OCI layout (tar or directory)")
@click.option("-q", "--quiet", is_flag=True)
@click.pass_context
def load_cmd(ctx, source, quiet):
    """Load images from a Docker archive or an OCI layout."""
    _svc().load(_paths(ctx), source, out=None if quiet else _Echo())


@click.command("import")
@click.argument("source")
@click.argument("name", required=False)
@click.option("-c", "--change", "changes", multiple=True,
              help="CMD/ENTRYPOINT/ENV/WORKDIR/USER as JSON or text, e.g. 'CMD [\"sh\"]'")
@click.pass_context
def import_cmd(ctx, source, name, changes):
    """Import a root filesystem (directory or tar) as a one-layer image."""
    img = _svc().load_rootfs_image(_paths(ctx), name, source, config=_changes(changes))
    click.echo(img.id)


def _changes(changes):
    from ..errors import UsageError
    cfg = {}
    for ch in changes:
        key, _, value = ch.strip().partition(" ")
        key = key.upper()
        value = value.strip()
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if key in ("CMD", "ENTRYPOINT"):
            cfg["Cmd" if key == "CMD" else "Entrypoint"] = \
                parsed if isinstance(parsed, list) else ["/bin/sh", "-c", value]
        elif key == "ENV":
            k, sep, v = value.partition("=")
            if not sep:
                k, _, v = value.partition(" ")
            env = [e for e in cfg.get("Env", []) if not e.startswith(k + "=")]
            cfg["Env"] = env + [f"{k}={v}"]
        elif key == "WORKDIR":
            cfg["WorkingDir"] = value
        elif key == "USER":
            cfg["User"] = value
        else:
            raise UsageError(f"unsupported --change {ch!r}: use CMD, ENTRYPOINT, ENV, "
                             "WORKDIR or USER")
    if "Env" in cfg:
        from ..store.archive import DEFAULT_ENV
        cfg["Env"] = DEFAULT_ENV + cfg["Env"]
    return cfg


# -- login / logout --------------------------------------------------------------------------
@click.command("login")
@click.argument("server")
@click.option("-u", "--username", prompt=True)
@click.option("-p", "--password", default=None)
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin")
def login_cmd(server, username, password, password_stdin):
    """Log in to a registry."""
    from ..errors import UsageError
    if password_stdin:
        if password:
            raise UsageError("--password and --password-stdin are mutually exclusive")
        password = sys.stdin.read().rstrip("\n")
    if password is None:
        password = click.prompt("Password", hide_input=True)
    server = server.split("://", 1)[-1].rstrip("/")
    if server in ("index.docker.io", "registry-1.docker.io", "index.docker.io/v1"):
        server = "docker.io"
    path = _svc().login(server, username, password)
    click.echo(f"Credentials saved in {path}", err=True)
    click.echo("Login Succeeded")


@click.command("logout")
@click.argument("server")
def logout_cmd(server):
    """Log out from a registry."""
    server = server.split("://", 1)[-1].rstrip("/")
    if _svc().logout(server):
        click.echo(f"Removing login credentials for {server}")
    else:
        click.echo(f"Not logged in to {server}")


for _cmd in (pull_cmd, list_cmd, remove_cmd, tag_cmd, inspect_cmd, history_cmd, save_cmd,
             load_cmd, import_cmd, prune_cmd):
    image.add_command(_cmd)
image.add_command(list_cmd, "ls")
image.add_command(remove_cmd, "rm")

# Docker's short forms.
cli.add_command(pull_cmd, "pull")
cli.add_command(list_cmd, "images")
cli.add_command(remove_cmd, "rmi")
cli.add_command(tag_cmd, "tag")
cli.add_command(login_cmd, "login")
cli.add_command(logout_cmd, "logout")
cli.add_command(save_cmd, "save")
cli.add_command(load_cmd, "load")
cli.add_command(history_cmd, "history")
cli.add_command(import_cmd, "import")
