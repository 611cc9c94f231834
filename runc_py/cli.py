"""`runc-py` command line: runc's contract (global flags, verbs, exit codes).

A small table-driven parser instead of click: callers (containerd, conmon,
podman) pass Go-style flags (`-bundle x`, `--pid-file=x`, booleans as
`--detach` or `--detach=true`), and every runtime call pays this module's
import time, so it imports nothing heavy.  Each verb: flags -> one
lifecycle call -> exit code.  Errors go to stderr and, as a JSON line, to
--log (containerd and Docker show only that line)."""
import sys
import time

from . import fastjson as json
from . import lite
from .errors import RuncPyError, UsageError

VERSION = "0.1.0"
SPEC_VERSION = "1.2.0"

GLOBAL = {
    "root": ("root", True), "log": ("log", True), "log-format": ("log_format", True),
    "debug": ("debug", False), "systemd-cgroup": ("systemd_cgroup", False),
    "rootless": ("rootless", True), "criu": ("criu", True),
    "help": ("help", False), "h": ("help", False), "version": ("version", False),
    "v": ("version", False),
}

_CREATE = {"bundle": ("bundle", True), "b": ("bundle", True), "pid-file": ("pid_file", True),
           "console-socket": ("console_socket", True), "no-pivot": ("no_pivot", False),
           "no-new-keyring": ("no_new_keyring", False),
           "preserve-fds": ("preserve_fds", True), "pidfd-socket": ("pidfd_socket", True)}

COMMANDS = {
    "create": dict(_CREATE),
    "run": dict(_CREATE, **{"detach": ("detach", False), "d": ("detach", False),
                            "keep": ("keep", False), "no-subreaper": ("no_subreaper", False)}),
    "start": {},
    "state": {},
    "kill": {"all": ("all", False), "a": ("all", False)},
    "delete": {"force": ("force", False), "f": ("force", False)},
    "list": {"format": ("format", True), "f": ("format", True), "quiet": ("quiet", False),
             "q": ("quiet", False)},
    "spec": {"bundle": ("bundle", True), "b": ("bundle", True), "rootless": ("rootless", False)},
    "plan": {"bundle": ("bundle", True), "b": ("bundle", True), "json": ("json", False),
             "no-pivot": ("no_pivot", False)},
    "validate": {"bundle": ("bundle", True), "b": ("bundle", True)},
    "features": {},
    "exec": {"console-socket": ("console_socket", True), "pidfd-socket": ("pidfd_socket", True),
             "cwd": ("cwd", True), "env": ("env", "multi"), "e": ("env", "multi"),
             "tty": ("tty", False), "t": ("tty", False), "user": ("user", True),
             "u": ("user", True), "additional-gids": ("additional_gids", "multi"),
             "g": ("additional_gids", "multi"), "process": ("process", True),
             "p": ("process", True), "detach": ("detach", False), "d": ("detach", False),
             "pid-file": ("pid_file", True), "process-label": ("process_label", True),
             "apparmor": ("apparmor", True), "no-new-privs": ("no_new_privs", False),
             "cap": ("cap", "multi"), "c": ("cap", "multi"),
             "preserve-fds": ("preserve_fds", True), "cgroup": ("cgroup", "multi"),
             "ignore-paused": ("ignore_paused", False)},
    "ps": {"format": ("format", True), "f": ("format", True)},
    "pause": {},
    "resume": {},
    "events": {"interval": ("interval", True), "stats": ("stats", False)},
    "update": {"resources": ("resources", True), "r": ("resources", True),
               "blkio-weight": ("blkio_weight", True), "cpu-period": ("cpu_period", True),
               "cpu-quota": ("cpu_quota", True), "cpu-share": ("cpu_share", True),
               "cpu-rt-period": ("cpu_rt_period", True),
               "cpu-rt-runtime": ("cpu_rt_runtime", True), "cpuset-cpus": ("cpuset_cpus", True),
               "cpuset-mems": ("cpuset_mems", True), "memory": ("memory", True),
               "memory-reservation": ("memory_reservation", True),
               "memory-swap": ("memory_swap", True), "pids-limit": ("pids_limit", True),
               "cpu-idle": ("cpu_idle", True), "cpu-burst": ("cpu_burst", True),
               "l3-cache-schema": ("l3_cache_schema", True),
               "mem-bw-schema": ("mem_bw_schema", True)},
    "checkpoint": {"image-path": ("image_path", True), "work-path": ("work_path", True),
                   "leave-running": ("leave_running", False),
                   "tcp-established": ("tcp_established", False),
                   "ext-unix-sk": ("ext_unix_sk", False), "shell-job": ("shell_job", False),
                   "file-locks": ("file_locks", False), "pre-dump": ("pre_dump", False),
                   "manage-cgroups-mode": ("manage_cgroups_mode", True)},
    "restore": {"image-path": ("image_path", True), "work-path": ("work_path", True),
                "bundle": ("bundle", True), "b": ("bundle", True),
                "detach": ("detach", False), "d": ("detach", False),
                "pid-file": ("pid_file", True), "console-socket": ("console_socket", True),
                "tcp-established": ("tcp_established", False),
                "ext-unix-sk": ("ext_unix_sk", False), "shell-job": ("shell_job", False),
                "file-locks": ("file_locks", False), "no-pivot": ("no_pivot", False),
                "manage-cgroups-mode": ("manage_cgroups_mode", True)},
}

USAGE = """usage: runc-py [global options] COMMAND [options] [args]

An OCI runtime in Python, with runc's command-line contract.

Commands:
  create ID     create a container from a bundle (process not started)
  start ID      run the created container's process
  run ID        create + start (+ wait and delete unless --detach/--keep)
  state ID      print the container's OCI state JSON
  kill ID [SIG] send a signal (name or number; default TERM; --all)
  delete ID     delete a stopped container (--force kills it first)
  list          list containers (--format table|json)
  spec          write a default config.json (--bundle, --rootless)
  plan          print the setup steps config.json compiles to (--bundle)
  validate      check config.json against the OCI schema and rules
  features      print the features this runtime and host support
  exec ID CMD   run a process in a running container (--process FILE, --tty, ...)
  ps ID         list the container's processes (--format table|json)
  pause ID      freeze every process of the container; resume ID thaws them
  update ID     change resource limits (--resources FILE|-, --memory, ...)
  events ID     stream events (OOM, ...) or --stats
  checkpoint/restore   with CRIU, when installed

Global options: --root DIR (default /run/runc-py), --log FILE,
  --log-format text|json, --debug, --systemd-cgroup
"""


class Args(dict):
    __getattr__ = dict.get


def parse(argv):
    g = Args()
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "-":
        i = _take(argv, i, GLOBAL, g, "global")
    if g.version:
        return g, "version", Args(), []
    if g.help or i >= len(argv):
        return g, "help", Args(), []
    cmd = argv[i]
    i += 1
    if cmd == "help":
        return g, "help", Args(), []
    table = COMMANDS.get(cmd)
    if table is None:
        raise UsageError(f"unknown command {cmd!r}", hint="run `runc-py --help`")
    opts = Args()
    pos = []
    stop_at_first_positional = cmd in ("exec", "ps")
    while i < len(argv):
        a = argv[i]
        if a == "--":
            pos.extend(argv[i + 1:])
            break
        if a.startswith("-") and len(a) > 1 and not (stop_at_first_positional and pos):
            name = a.lstrip("-").split("=", 1)[0]
            if name in ("h", "help"):
                return g, "help", Args(), []
            if name in table:
                i = _take(argv, i, table, opts, cmd)
            elif name in GLOBAL:
                i = _take(argv, i, GLOBAL, g, cmd)
            else:
                raise UsageError(f"{cmd}: unknown flag {a.split('=')[0]}")
            continue
        pos.append(a)
        i += 1
    return g, cmd, opts, pos


def _take(argv, i, table, out, where):
    a = argv[i]
    body = a.lstrip("-")
    name, eq, val = body.partition("=")
    if name not in table:
        raise UsageError(f"{where}: unknown flag {a.split('=')[0]}")
    dest, takes = table[name]
    if takes == "multi":
        if not eq:
            if i + 1 >= len(argv):
                raise UsageError(f"flag --{name} needs a value")
            val = argv[i + 1]
            i += 1
        out.setdefault(dest, []).append(val)
    elif takes:
        if not eq:
            if i + 1 >= len(argv):
                raise UsageError(f"flag --{name} needs a value")
            val = argv[i + 1]
            i += 1
        out[dest] = val
    else:
        if eq:
            if val.lower() not in ("true", "false", "1", "0"):
                raise UsageError(f"flag --{name} takes true or false, not {val!r}")
            out[dest] = val.lower() in ("true", "1")
        else:
            out[dest] = True
    return i + 1


# ------------------------------------------------------------------ logging

_log_opts = None


def log_line(opts, level, msg):
    """Append one line to --log, in --log-format (json is what containerd,
    podman and Docker parse)."""
    path = getattr(opts, "log", None)
    if not path:
        return
    t = time.time()
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e9):09d}Z"
    if getattr(opts, "log_format", "text") == "json":
        line = json.dumps({"level": level, "msg": msg, "time": ts})
    else:
        line = f'time="{ts}" level={level} msg={json.dumps(msg)}'
    try:
        with open(path, "a") as f:
            f.write(line + "\n")
    except OSError:
        pass


def _need_id(cmd, pos):
    if not pos:
        raise UsageError(f"{cmd}: a container ID is required")
    return pos[0]


def main(argv=None):
    # A short-lived process: the cyclic garbage collector would only walk
    # the imported modules' objects (and, after a fork, touch every page of
    # them in the child: copy-on-write faults for nothing)
    import gc
    gc.disable()
    argv = sys.argv[1:] if argv is None else argv
    from .lifecycle import Options
    try:
        g, cmd, o, pos = parse(argv)
    except UsageError as e:
        sys.stderr.write(f"runc-py: {e}\n")
        sys.exit(1)
    opts = Options(root=g.root or lite.getenv("RUNC_PY_ROOT") or "/run/runc-py",
                   log=g.log, log_format=g.log_format or "text", debug=bool(g.debug),
                   systemd_cgroup=bool(g.systemd_cgroup))
    if g.criu:  # --criu PATH: the CRIU binary checkpoint/restore use
        import os  # (only here: the small verbs do without it, lite.py)
        os.environ["RUNC_PY_CRIU"] = g.criu
    if opts.log_format not in ("text", "json"):
        sys.stderr.write(f"runc-py: --log-format must be text or json, not "
                         f"{opts.log_format!r}\n")
        sys.exit(1)
    try:
        rc = dispatch(opts, cmd, o, pos)
    except RuncPyError as e:
        msg = str(e)
        log_line(opts, "error", msg)
        sys.stderr.write(f"runc-py: {msg}\n")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    _exit(rc or 0)


def _exit(code):
    """Leave without the interpreter's finalization (module teardown and
    garbage collection: ~4 ms once the runtime's modules are loaded).  All
    files the runtime writes are closed by then; only stdio is buffered."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        if code == 0:
            code = 1  # like the interpreter when stdout cannot be flushed
    lite._exit(code)


def dispatch(opts, cmd, o, pos):
    from . import lifecycle as LC
    if cmd == "help":
        sys.stdout.write(USAGE)
        return 0
    if cmd == "version":
        sys.stdout.write(f"runc-py version {VERSION}\nspec: {SPEC_VERSION}\n")
        return 0
    if cmd in ("create", "run"):
        cid = _need_id(cmd, pos)
        kw = dict(pid_file=o.pid_file, console_socket=o.console_socket,
                  no_pivot=bool(o.no_pivot), no_new_keyring=bool(o.no_new_keyring),
                  preserve_fds=_int_flag("preserve-fds", o.preserve_fds))
        if cmd == "create":
            from .create import create
            create(opts, cid, o.bundle, **kw)
            return 0
        from .foreground import run
        return run(opts, cid, o.bundle, detach=bool(o.detach), keep=bool(o.keep),
                      no_subreaper=bool(o.no_subreaper), **kw)
    if cmd == "start":
        LC.start(opts, _need_id(cmd, pos))
        return 0
    if cmd == "state":
        st = LC.state(opts, _need_id(cmd, pos))
        sys.stdout.write(json.dumps(st, indent=2) + "\n")
        return 0
    if cmd == "kill":
        cid = _need_id(cmd, pos)
        sig = parse_signal(pos[1] if len(pos) > 1 else "TERM")
        LC.kill(opts, cid, sig, all_procs=bool(o.all))
        return 0
    if cmd == "delete":
        LC.delete(opts, _need_id(cmd, pos), force=bool(o.force))
        return 0
    if cmd == "list":
        return cmd_list(opts, o)
    if cmd == "spec":
        return cmd_spec(o)
    if cmd == "plan":
        from .plan import compile_plan
        from .spec.load import check, load_bundle
        bundle, doc = load_bundle(o.bundle)
        check(doc)
        plan = compile_plan(doc, bundle, no_pivot=bool(o.no_pivot))
        if o.json:
            import json as _json
            sys.stdout.write(_json.dumps(plan.to_dict(), indent=2, default=str) + "\n")
        else:
            sys.stdout.write(plan.render() + "\n")
        return 0
    if cmd == "validate":
        from .spec.load import check, load_bundle
        _, doc = load_bundle(o.bundle)
        check(doc, schema=True)
        sys.stdout.write("config.json is valid\n")
        return 0
    if cmd == "features":
        from .features import features
        sys.stdout.write(json.dumps(features(), indent=2) + "\n")
        return 0
    if cmd == "exec":
        from .process.exec import exec_cmd
        return exec_cmd(opts, o, pos)
    if cmd in ("ps", "pause", "resume", "events", "update", "checkpoint", "restore"):
        from . import ops
        return getattr(ops, "cmd_" + cmd)(opts, o, pos)
    raise UsageError(f"unknown command {cmd!r}")


def _int_flag(name, v):
    if v is None:
        return 0
    try:
        n = int(v)
    except ValueError:
        raise UsageError(f"--{name} takes a number, not {v!r}")
    if n < 0:
        raise UsageError(f"--{name} must be >= 0")
    return n


def parse_signal(s):
    try:
        import _signal as signal  # the same numbers without enum (~8 ms)
    except ImportError:  # pragma: no cover
        import signal
    if s.isdigit():
        n = int(s)
        if not 0 < n < 65:
            raise UsageError(f"invalid signal number {s}")
        return n
    name = s.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    if name.startswith("SIGRTMIN+") or name.startswith("SIGRTMAX-"):
        base = signal.SIGRTMIN if "MIN" in name else signal.SIGRTMAX
        off = int(name[9:])
        return base + off if "MIN" in name else base - off
    sig = getattr(signal, name, None)
    if not isinstance(sig, int) or name.startswith("SIG_"):
        raise UsageError(f"unknown signal {s!r}")
    return int(sig)


def cmd_list(opts, o):
    from .state import list_containers
    fmt = o.format or "table"
    if fmt not in ("table", "json"):
        raise UsageError(f"list: --format must be table or json, not {fmt!r}")
    items = [c.oci_state() for c in list_containers(opts.root)]
    if o.quiet:
        for it in items:
            sys.stdout.write(it["id"] + "\n")
    elif fmt == "json":
        sys.stdout.write(json.dumps(items) + "\n")
    else:
        rows = [("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER")]
        for it in items:
            rows.append((it["id"], str(it["pid"]), it["status"], it["bundle"], it["created"],
                         it.get("owner") or "root"))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            sys.stdout.write("   ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() + "\n")
    return 0


def cmd_spec(o):
    from .spec.default import default_spec
    bundle = o.bundle or "."
    path = lite.join(bundle, "config.json")
    if lite.exists(path):
        raise UsageError(f"File {path} exists. Remove it first")
    with open(path, "w") as f:
        json.dump(default_spec(rootless=bool(o.rootless)), f, indent=2)
        f.write("\n")
    return 0
