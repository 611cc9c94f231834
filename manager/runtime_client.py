"""The only module that runs the OCI runtime (runc-py, runc, or any runtime
with runc's command-line contract).

One pure function builds each argv (create/start/state/kill/delete/exec/ps/
pause/resume/update), all with the global flags --root, --log and
--log-format json; one parser reads `state` JSON and one reads the last JSON
error line of the --log file.  `call()` runs an argv and turns a failure into
RuntimeFailed carrying the runtime's own message.

Runtime processes are started with posix_spawn and waited for through a
pidfd (no `subprocess`, no sleep loops).  Stdlib only and light to import
(no `json`, `shutil` or `subprocess` at import): `mydocker run` and the
per-container monitor import this module, and their start-up and memory
must stay small.
"""
import os
import sys

__all__ = ["Runtime", "resolve", "create_argv", "run_argv", "start_argv", "state_argv",
           "kill_argv", "delete_argv", "exec_argv", "ps_argv", "pause_argv", "resume_argv",
           "update_argv", "parse_state", "last_error", "exit_code_for_error", "call",
           "spawn", "spawn_with_pipes", "wait", "TimedOut"]

DEFAULT_RUNTIME = "runc-py"


class Runtime:
    """How to call one runtime: its executable, state root and log file.
    (A plain class, not a dataclass: `dataclasses` costs the monitor ~10 ms.)"""
    __slots__ = ("path", "root", "log")

    def __init__(self, path, root, log):
        self.path, self.root, self.log = path, root, log

    def __eq__(self, other):
        return isinstance(other, Runtime) and (self.path, self.root, self.log) == \
            (other.path, other.root, other.log)

    def __repr__(self):
        return f"Runtime(path={self.path!r}, root={self.root!r}, log={self.log!r})"

    def base(self):
        return [self.path, "--root", self.root, "--log", self.log, "--log-format", "json"]


EXTRA_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin")


def _is_shim_dir(d):
    """A pyenv shims directory: its commands are bash scripts that re-run
    `pyenv exec` (~100 ms a call), never what a runtime call should pay."""
    d = d.rstrip("/")
    if os.path.basename(d) != "shims":
        return False
    root = os.environ.get("PYENV_ROOT")
    return "pyenv" in d or bool(root and d.startswith(root.rstrip("/") + "/"))


def _launcher_dir():
    """The directory of the `mydocker` launcher being run (install_launchers
    writes `runc-py` beside it), or None when started some other way."""
    arg0 = sys.argv[0] if sys.argv else ""
    if not arg0 or os.sep not in arg0 or arg0.endswith(".py"):
        return None
    d = os.path.dirname(os.path.abspath(arg0))
    return None if _is_shim_dir(d) else d


def _executable(path):
    return os.path.isfile(path) and os.access(path, os.X_OK)


def resolve(name):
    """Find a runtime command: an absolute path, or a name looked up in the
    directory of the running mydocker launcher, then PATH (also /usr/sbin and
    /usr/local/bin, which a minimal PATH may miss).  pyenv shim directories
    come last: a shim costs ~100 ms per call where the launcher it wraps
    costs ~10."""
    name = name or DEFAULT_RUNTIME
    if os.sep in name:
        if os.access(name, os.X_OK):
            return name
        return None
    dirs, shims = [], []
    first = _launcher_dir()
    if first:
        dirs.append(first)
    for d in os.environ.get("PATH", "").split(os.pathsep) + list(EXTRA_PATH):
        d = d or "."
        (shims if _is_shim_dir(d) else dirs).append(d)
    for d in dirs + shims:
        path = os.path.join(d, name)
        if _executable(path):
            return path
    return None


# ---- argv builders (pure) -------------------------------------------------

def create_argv(rt, cid, bundle, pid_file, console_socket=None):
    argv = rt.base() + ["create", "--bundle", str(bundle), "--pid-file", str(pid_file)]
    if console_socket:
        argv += ["--console-socket", str(console_socket)]
    return argv + [cid]


def run_argv(rt, cid, bundle, pid_file, detach=True, console_socket=None, keep=False):
    """`run`: create + start in one runtime call (with --detach the runtime
    exits once the process runs; without it, it waits and deletes)."""
    argv = rt.base() + ["run", "--bundle", str(bundle), "--pid-file", str(pid_file)]
    if detach:
        argv.append("--detach")
    if keep:
        argv.append("--keep")
    if console_socket:
        argv += ["--console-socket", str(console_socket)]
    return argv + [cid]


def start_argv(rt, cid):
    return rt.base() + ["start", cid]


def state_argv(rt, cid):
    return rt.base() + ["state", cid]


def kill_argv(rt, cid, signal="TERM", all_processes=False):
    argv = rt.base() + ["kill"]
    if all_processes:
        argv.append("--all")
    return argv + [cid, str(signal)]


def delete_argv(rt, cid, force=False):
    return rt.base() + ["delete"] + (["--force"] if force else []) + [cid]


def exec_argv(rt, cid, process_json, pid_file=None, detach=False, console_socket=None):
    argv = rt.base() + ["exec", "--process", str(process_json)]
    if detach:
        argv.append("--detach")
    if pid_file:
        argv += ["--pid-file", str(pid_file)]
    if console_socket:
        argv += ["--console-socket", str(console_socket)]
    return argv + [cid]


def ps_argv(rt, cid):
    return rt.base() + ["ps", "--format", "json", cid]


def pause_argv(rt, cid):
    return rt.base() + ["pause", cid]


def resume_argv(rt, cid):
    return rt.base() + ["resume", cid]


def update_argv(rt, cid, resources_json):
    return rt.base() + ["update", "--resources", str(resources_json), cid]


# ---- parsers (pure) -------------------------------------------------------

def parse_state(text):
    """`state` output -> dict with at least id, status, pid (0 if none)."""
    from .jsonfast import loads
    st = loads(text)
    if not isinstance(st, dict) or "status" not in st:
        raise ValueError("runtime state output has no status")
    st.setdefault("pid", 0)
    return st


def last_error(log_text):
    """The message of the last error-level JSON line in a runtime --log file
    (plain-text lines are accepted too, for runtimes that write them)."""
    from .jsonfast import loads
    msg = None
    for line in log_text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            entry = loads(line)
        except ValueError:
            msg = line
            continue
        if isinstance(entry, dict) and entry.get("level") in ("error", "fatal", "panic"):
            msg = entry.get("msg") or msg
    return msg


def exit_code_for_error(msg):
    """Docker's codes for a process that could not be started: 127 when the
    command is not found, 126 when it cannot be invoked, else 125."""
    m = (msg or "").lower()
    if "executable file not found" in m or "no such file or directory" in m and "exec" in m:
        return 127
    if "permission denied" in m and "exec" in m or "is a directory" in m:
        return 126
    return 125


def short_error(msg):
    """Keep Docker's useful tail: `exec: "foo": executable file not found in $PATH`."""
    if not msg:
        return msg
    i = msg.find("exec: ")
    return msg[i:] if i >= 0 else msg


# ---- running --------------------------------------------------------------

class RuntimeError_(Exception):
    """Raised by call(); the manager maps it to errors.RuntimeFailed."""

    def __init__(self, argv, returncode, message):
        super().__init__(message)
        self.argv = argv
        self.returncode = returncode
        self.message = message


def _log_size(path):
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


class TimedOut(Exception):
    """wait() gave up: the process was killed after its timeout."""


SIGDEF = (1, 2, 13, 15, 17)    # HUP INT PIPE TERM CHLD: default in the runtime


def spawn(argv, stdin, stdout, stderr, env=None):
    """Start argv[0] (a path) with the given fds as its stdio; returns its pid.
    Only inheritable fds (the three given) reach it."""
    acts = [(os.POSIX_SPAWN_DUP2, stdin, 0), (os.POSIX_SPAWN_DUP2, stdout, 1),
            (os.POSIX_SPAWN_DUP2, stderr, 2)]
    return os.posix_spawn(argv[0], argv, os.environ if env is None else env,
                          file_actions=acts, setsigdef=SIGDEF)


def spawn_with_pipes(argv, stdin=False):
    """Start argv with new pipes as its stdout and stderr (and stdin if asked;
    else /dev/null), as a runtime's `run --detach` hands them on to the
    container.  Returns (pid, stdout_r, stderr_r, stdin_w or None); our
    ends are close-on-exec."""
    null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    theirs, ours = [null], []
    try:
        in_r = in_w = None
        if stdin:
            in_r, in_w = os.pipe()
            theirs.append(in_r)
            ours.append(in_w)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        theirs += [out_w, err_w]
        ours += [out_r, err_r]
        pid = spawn(argv, in_r if stdin else null, out_w, err_w)
    except BaseException:
        for fd in ours:
            os.close(fd)
        raise
    finally:
        for fd in theirs:
            os.close(fd)
    return pid, out_r, err_r, in_w


def wait(pid, timeout=None, also=None):
    """Wait for child pid, blocking on its pidfd so that its exit is seen at
    once; return its exit code (negative: killed by that signal).  With
    timeout (s), kill it and raise TimedOut when it runs longer.  `also`:
    {fd: callback} served while waiting (a callback returning False is
    dropped), e.g. the console socket a `create` hands the terminal to."""
    import select
    import time
    extra = dict(also or {})
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):    # before Linux 5.3: poll the child
        pidfd = None
    poller = select.poll()
    if pidfd is not None:
        poller.register(pidfd, select.POLLIN)
    for fd in extra:
        poller.register(fd, select.POLLIN)
    delay = 0.0005
    try:
        while True:
            if pidfd is None:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    return os.waitstatus_to_exitcode(status)
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if pidfd is None:
                left = delay if left is None else min(left, delay)
                delay = min(delay * 2, 0.01)
            events = poller.poll(None if left is None else left * 1000)
            if not events and deadline is not None and time.monotonic() >= deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                raise TimedOut(pid)
            for fd, _ in events:
                if fd == pidfd:
                    _, status = os.waitpid(pid, 0)
                    return os.waitstatus_to_exitcode(status)
                if fd in extra and extra[fd]() is False:
                    poller.unregister(fd)
                    del extra[fd]
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _drain(fds):
    """Read the given pipes to EOF; returns their bytes (same order)."""
    import select
    out = {fd: [] for fd in fds}
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    open_ = set(fds)
    while open_:
        for fd, _ in poller.poll():
            data = os.read(fd, 65536)
            if data:
                out[fd].append(data)
            else:
                poller.unregister(fd)
                open_.discard(fd)
    return [b"".join(out[fd]) for fd in fds]


def call(rt, argv, *, stdin=None, stdout=None, stderr=None, env=None):
    """Run argv; return its stdout (text) or raise RuntimeError_ with the
    runtime's last error line written since this call began.  Passing
    stdout/stderr (fds) hands them to the runtime (and, for create/exec
    without a terminal, to the container process)."""
    start = _log_size(rt.log)
    mine, reads = [], []
    try:
        if stdin is None:
            stdin = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
            mine.append(stdin)
        out_r = err_r = None
        if stdout is None:
            out_r, stdout = os.pipe()
            mine.append(stdout)
            reads.append(out_r)
        if stderr is None:
            err_r, stderr = os.pipe()
            mine.append(stderr)
            reads.append(err_r)
        pid = spawn(argv, stdin, stdout, stderr, env)
    except BaseException:
        for fd in mine + reads:
            os.close(fd)
        raise
    for fd in mine:
        os.close(fd)
    try:
        got = dict(zip(reads, _drain(reads)))
    finally:
        for fd in reads:
            os.close(fd)
    code = wait(pid)
    out, err = got.get(out_r, b""), got.get(err_r, b"")
    if code != 0:
        msg = None
        try:
            with open(rt.log, "rb") as f:
                f.seek(start)
                msg = last_error(f.read().decode("utf-8", "replace"))
        except OSError:
            pass
        if not msg:
            msg = err.decode("utf-8", "replace").strip() or \
                f"{os.path.basename(argv[0])} {argv[len(rt.base())]} exited with {code}"
        raise RuntimeError_(argv, code, msg)
    return out.decode("utf-8", "replace")


def state(rt, cid):
    """The runtime's state of cid, or None when the runtime does not know it."""
    try:
        return parse_state(call(rt, state_argv(rt, cid)))
    except RuntimeError_:
        return None
    except ValueError:
        return None
