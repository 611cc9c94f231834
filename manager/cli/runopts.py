"""The options of `run` and `create`, declared once: manager/cli/container.py
turns RUN_OPTIONS into click options and manager/cli/fastpath.py parses
the same table without click.  build_options() turns the parsed values
into specgen.ContainerOptions.  No click here."""
import os

from ..errors import UsageError

__all__ = ["RUN_OPTIONS", "RUN_ARGUMENTS", "build_options"]

# (param decls, settings): as click.option(*decls, **settings)
RUN_OPTIONS = (
    (("-d", "--detach"), dict(is_flag=True, help="Run in the background, print the ID.")),
    (("-i", "--interactive"), dict(is_flag=True, help="Keep STDIN open.")),
    (("-t", "--tty"), dict(is_flag=True, help="Allocate a pseudo-TTY.")),
    (("--rm", "rm"), dict(is_flag=True, help="Remove the container when it exits.")),
    (("--name",), dict(help="Assign a name to the container.")),
    (("-e", "--env"), dict(multiple=True, help="Set environment variables.")),
    (("--env-file",), dict(multiple=True, help="Read environment variables from a file.")),
    (("-v", "--volume", "volumes"), dict(multiple=True, help="Bind mount a volume.")),
    (("--mount", "mounts"), dict(multiple=True, help="Attach a filesystem mount.")),
    (("--tmpfs",), dict(multiple=True, help="Mount a tmpfs directory.")),
    (("-w", "--workdir"), dict(help="Working directory inside the container.")),
    (("-u", "--user"), dict(help="Username or UID (format: <name|uid>[:<group|gid>]).")),
    (("--entrypoint",), dict(help="Overwrite the default ENTRYPOINT of the image.")),
    (("-h", "--hostname"), dict(help="Container host name.")),
    (("--read-only",), dict(is_flag=True, help="Mount the root filesystem read-only.")),
    (("--cap-add",), dict(multiple=True, help="Add Linux capabilities.")),
    (("--cap-drop",), dict(multiple=True, help="Drop Linux capabilities.")),
    (("--privileged",), dict(is_flag=True, help="Give extended privileges.")),
    (("--security-opt",), dict(multiple=True, help="Security options.")),
    (("-m", "--memory"), dict(help="Memory limit.")),
    (("--memory-swap",), dict(help="Memory + swap limit; -1: unlimited swap.")),
    (("--cpus",), dict(type=float, default=0.0, help="Number of CPUs.")),
    (("-c", "--cpu-shares"), dict(type=int, default=0, help="CPU shares.")),
    (("--cpuset-cpus",), dict(help="CPUs in which to allow execution (0-3, 0,1).")),
    (("--pids-limit",), dict(type=int, default=0, help="Tune container pids limit.")),
    (("--ulimit",), dict(multiple=True, help="Ulimit options (nofile=1024:2048).")),
    (("--restart",), dict(default="no", help="Restart policy.")),
    (("--init",), dict(is_flag=True, help="Run an init inside the container.")),
    (("--stop-signal",), dict(help="Signal to stop the container.")),
    (("--stop-timeout",), dict(type=int, help="Timeout (in seconds) to stop.")),
    (("-l", "--label", "labels"), dict(multiple=True, help="Set metadata.")),
    (("--runtime",), dict(help="Runtime to use for this container.")),
    (("--pull",), dict(default="missing", help="Pull image before running.")),
    (("--log-opt",), dict(multiple=True, help="Log driver options (max-size, max-file).")),
    (("--cgroup-parent",), dict(help="Parent cgroup for the container.")),
    (("--network", "--net"), dict(default="none", help="Network (only none for now).")),
)
# then the arguments IMAGE and COMMAND... (nargs=-1, unprocessed)
RUN_ARGUMENTS = ("image", "command")


def _size(value, flag):
    if value is None:
        return 0
    from ..specgen import parse_size
    if str(value).strip() == "-1":
        return -1
    try:
        return parse_size(value, "size")
    except UsageError as e:
        raise UsageError(f'invalid argument "{value}" for "{flag}" flag: {e.message}')


def _env_list(env, env_files):
    from ..specgen import parse_env_file
    out = []
    for path in env_files:
        try:
            with open(path) as fh:
                text = fh.read()
        except OSError as e:
            raise UsageError(f"open {path}: {e.strerror}")
        out.extend(parse_env_file(text, path))
    out.extend(env)
    resolved = []
    for item in out:
        if "=" not in item:
            if item in os.environ:
                resolved.append(f"{item}={os.environ[item]}")
            continue
        resolved.append(item)
    return resolved


def _kv(items, what):
    out = {}
    for item in items:
        k, eq, v = item.partition("=")
        if not k:
            raise UsageError(f"invalid {what}: {item!r}")
        out[k] = v
    return out


def build_options(kw):
    from ..specgen import ContainerOptions
    if kw["network"] not in ("none", "host") and kw["network"]:
        raise UsageError(f"network {kw['network']} not found",
                         hint="only --network none is supported for now")
    if kw["network"] == "host":
        raise UsageError("--network host is not supported yet")
    return ContainerOptions(
        image=kw["image"], command=list(kw["command"]) or None, entrypoint=kw["entrypoint"],
        name=kw["name"], interactive=kw["interactive"], tty=kw["tty"], rm=kw["rm"],
        env=_env_list(kw["env"], kw["env_file"]), volumes=list(kw["volumes"]),
        mounts=list(kw["mounts"]), tmpfs=list(kw["tmpfs"]), workdir=kw["workdir"],
        user=kw["user"], hostname=kw["hostname"], read_only=kw["read_only"],
        cap_add=list(kw["cap_add"]), cap_drop=list(kw["cap_drop"]),
        privileged=kw["privileged"], security_opt=list(kw["security_opt"]),
        memory=_size(kw["memory"], "-m, --memory"),
        memory_swap=_size(kw["memory_swap"], "--memory-swap"),
        cpus=kw["cpus"], cpu_shares=kw["cpu_shares"], cpuset_cpus=kw["cpuset_cpus"],
        pids_limit=kw["pids_limit"], ulimits=list(kw["ulimit"]), restart=kw["restart"],
        init=kw["init"], stop_signal=kw["stop_signal"], stop_timeout=kw["stop_timeout"],
        labels=_kv(kw["labels"], "label"), runtime=kw["runtime"], pull=kw["pull"],
        log_opts=_kv(kw["log_opt"], "log-opt"), cgroup_parent=kw["cgroup_parent"],
        network=kw["network"])


