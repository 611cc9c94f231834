"""`mydocker [global options] run|create ...` without click.

Importing click and the click application costs more than the rest of
`mydocker run --rm busybox true` on the manager's side.  This module
parses the command lines of `run`, `create`, `container run` and
`container create` with the same algorithm as click's parser (long
options with `=value` or a separate value, clustered short options, a
value glued to a short option, `--`, options only before IMAGE) from the
same option table (runopts.RUN_OPTIONS), and converts values with the
same types.  Whenever click would do anything else (help, an unknown or
malformed option, a missing value or argument, a value of the wrong type)
parse() returns None and main() hands the command line to click, which
then prints its own message.  What a command does next is shared with
click's commands: runopts.build_options, services/start.run and
services/create.create, and app.report for errors.
"""
import os
import sys

__all__ = ["parse", "try_fast"]

GLOBAL_VALUES = {"--data-root": "data_root", "--run-root": "run_root", "--runtime": "runtime"}
GLOBAL_ENV = {"data_root": "MYDOCKER_DATA_ROOT", "run_root": "MYDOCKER_RUN_ROOT",
              "runtime": "MYDOCKER_RUNTIME"}
COMMANDS = ("run", "create")


class _Opt:
    __slots__ = ("name", "flag", "multiple", "type", "default")

    def __init__(self, decls, settings):
        ident = [d for d in decls if not d.startswith("-")]
        longs = [d for d in decls if d.startswith("--")]
        self.name = ident[0] if ident else longs[0][2:].replace("-", "_").lower()
        self.flag = bool(settings.get("is_flag"))
        self.multiple = bool(settings.get("multiple"))
        self.type = settings.get("type")
        self.default = False if self.flag else settings.get("default")


_TABLE = None


def _table():
    """{"--long": opt}, {"-s": opt}, [opts] from runopts.RUN_OPTIONS."""
    global _TABLE
    if _TABLE is None:
        from .runopts import RUN_OPTIONS
        longs, shorts, opts = {}, {}, []
        for decls, settings in RUN_OPTIONS:
            o = _Opt(decls, settings)
            opts.append(o)
            for d in decls:
                if d.startswith("--") or (d.startswith("-") and len(d) > 2):
                    longs[d] = o
                elif d.startswith("-"):
                    shorts[d] = o
        _TABLE = (longs, shorts, opts)
    return _TABLE


class _Decline(Exception):
    """click must handle this command line."""


def _convert(opt, value):
    if opt.type is None:
        return value
    try:
        return opt.type(value)
    except (TypeError, ValueError):
        raise _Decline


def _store(kw, opt, value):
    if opt.flag:
        kw[opt.name] = True
    elif opt.multiple:
        kw[opt.name] = kw[opt.name] + (_convert(opt, value),)
    else:
        kw[opt.name] = _convert(opt, value)


def _parse_run(rest):
    """The params click would pass to run_cmd/create_cmd (detach included)."""
    longs, shorts, opts = _table()
    kw = {o.name: (() if o.multiple else o.default) for o in opts}
    i = 0
    while i < len(rest):
        arg = rest[i]
        i += 1
        if arg == "--":
            break
        if arg[:1] != "-" or len(arg) < 2:
            i -= 1                       # the first argument: no options after it
            break
        name, explicit = arg.split("=", 1) if "=" in arg else (arg, None)
        opt = longs.get(name)
        if opt is not None:
            if opt.flag:
                if explicit is not None:
                    raise _Decline        # "Option '--rm' does not take a value."
                _store(kw, opt, None)
                continue
            if explicit is None:
                if i >= len(rest):
                    raise _Decline        # "Option '--name' requires an argument."
                explicit = rest[i]
                i += 1
            _store(kw, opt, explicit)
            continue
        if arg[:2] == "--":
            raise _Decline                # "No such option"
        # clustered short options: -it, -dit, -eFOO, -e=FOO (value "=FOO", as click)
        j = 1
        while j < len(arg):
            opt = shorts.get("-" + arg[j])
            j += 1
            if opt is None:
                raise _Decline
            if opt.flag:
                _store(kw, opt, None)
                continue
            if j < len(arg):
                value = arg[j:]
            elif i < len(rest):
                value = rest[i]
                i += 1
            else:
                raise _Decline
            _store(kw, opt, value)
            break
    args = rest[i:]
    if not args:
        raise _Decline                    # "Missing argument 'IMAGE'."
    kw["image"] = args[0]
    kw["command"] = tuple(args[1:])
    return kw


def parse(argv):
    """(global options, command, params) for a run/create command line that
    click would accept, else None."""
    g = {"data_root": None, "run_root": None, "runtime": None, "debug": False}
    i = 0
    try:
        while i < len(argv):
            arg = argv[i]
            if arg[:1] != "-" or len(arg) < 2:
                break
            i += 1
            name, explicit = arg.split("=", 1) if "=" in arg else (arg, None)
            if name == "--debug":
                if explicit is not None:
                    return None
                g["debug"] = True
                continue
            if name not in GLOBAL_VALUES:
                return None               # -h/--help, --, unknown: click decides
            if explicit is None:
                if i >= len(argv):
                    return None
                explicit = argv[i]
                i += 1
            g[GLOBAL_VALUES[name]] = explicit
        if i < len(argv) and argv[i] == "container":
            i += 1
        if i >= len(argv) or argv[i] not in COMMANDS:
            return None
        command = argv[i]
        kw = _parse_run(argv[i + 1:])
    except _Decline:
        return None
    for key, env in GLOBAL_ENV.items():   # click: envvar when the option is absent
        if g[key] is None:
            g[key] = os.environ.get(env) or None
    return g, command, kw


class RootPaths:
    """Where things live, as str (manager.paths.Paths without pathlib)."""
    __slots__ = ("data_root", "run_root")

    def __init__(self, data_root=None, run_root=None):
        self.data_root = data_root or os.environ.get("MYDOCKER_DATA_ROOT") or \
            "/var/lib/mydocker"
        self.run_root = run_root or os.environ.get("MYDOCKER_RUN_ROOT") or "/run/mydocker"


def _exit(code):
    """Exit without the interpreter's teardown: nothing is left to clean up."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:
        pass
    os._exit(code)


def try_fast(argv):
    """Run the command line if it is a plain run/create (never returns then)."""
    parsed = parse(argv)
    if parsed is None:
        return
    g, command, kw = parsed
    paths = RootPaths(g["data_root"], g["run_root"])
    early = None
    if command == "run":
        # first of all: the monitor's start-up then overlaps everything below
        from ..services.early import EarlyMonitor
        early = EarlyMonitor(paths.run_root)
    from ..procinfo import trace
    trace("monitor forked" if early else "parsed", "mydocker")
    debug = "--debug" in argv            # as app.main decides it
    from ..errors import MyDockerError
    try:
        from .runopts import build_options
        detach = kw.pop("detach")
        opts = build_options(kw)
        if command == "create":
            from ..services.create import create
            rec = create(paths, opts, g["runtime"])
            sys.stdout.write(rec["Id"] + "\n")
            _exit(0)
        from ..services.start import run
        result = run(paths, opts, g["runtime"], detach=detach, early=early)
        if detach:
            sys.stdout.write(result["Id"] + "\n")
            _exit(0)
        _exit(result or 0)
    except MyDockerError as e:
        if early is not None:
            early.cancel()
        from .app import report
        report(e, debug)
    except KeyboardInterrupt:
        sys.stderr.write("\nAborted.\n")     # what click prints (Abort)
        sys.exit(130)
