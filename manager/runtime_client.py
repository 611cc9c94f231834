"""The only module that runs the OCI runtime (runc-py, runc, or any runtime
with runc's command-line contract).

One pure function builds each argv (create/start/state/kill/delete/exec/ps/
pause/resume/update), all with the global flags --root, --log and
--log-format json; one parser reads `state` JSON and one reads the last JSON
error line of the --log file.  `call()` runs an argv and turns a failure into
RuntimeFailed carrying the runtime's own message.

Stdlib only: the per-container monitor imports this module, and its memory
and start-up must stay small.
"""
import json
import os

__all__ = ["Runtime", "resolve", "create_argv", "start_argv", "state_argv", "kill_argv",
           "delete_argv", "exec_argv", "ps_argv", "pause_argv", "resume_argv",
           "update_argv", "parse_state", "last_error", "exit_code_for_error", "call"]

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


def resolve(name):
    import shutil
    """Find a runtime command: an absolute path, or a name looked up in PATH
    (also /usr/sbin and /usr/local/bin, which a minimal PATH may miss)."""
    name = name or DEFAULT_RUNTIME
    if os.sep in name:
        if os.access(name, os.X_OK):
            return name
        return None
    path = os.environ.get("PATH", "") + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"
    return shutil.which(name, path=path)


# ---- argv builders (pure) -------------------------------------------------

def create_argv(rt, cid, bundle, pid_file, console_socket=None):
    argv = rt.base() + ["create", "--bundle", str(bundle), "--pid-file", str(pid_file)]
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
    st = json.loads(text)
    if not isinstance(st, dict) or "status" not in st:
        raise ValueError("runtime state output has no status")
    st.setdefault("pid", 0)
    return st


def last_error(log_text):
    """The message of the last error-level JSON line in a runtime --log file
    (plain-text lines are accepted too, for runtimes that write them)."""
    msg = None
    for line in log_text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            entry = json.loads(line)
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


def call(rt, argv, *, stdin=None, stdout=None, stderr=None, env=None):
    """Run argv; return its stdout (text) or raise RuntimeError_ with the
    runtime's last error line written since this call began.  Passing
    stdout/stderr hands those fds to the runtime (and, for create/exec
    without a terminal, to the container process)."""
    import subprocess
    start = _log_size(rt.log)
    p = subprocess.run(argv, stdin=subprocess.DEVNULL if stdin is None else stdin,
                       stdout=subprocess.PIPE if stdout is None else stdout,
                       stderr=subprocess.PIPE if stderr is None else stderr, env=env)
    if p.returncode != 0:
        msg = None
        try:
            with open(rt.log, "rb") as f:
                f.seek(start)
                msg = last_error(f.read().decode("utf-8", "replace"))
        except OSError:
            pass
        if not msg:
            msg = (p.stderr or b"").decode("utf-8", "replace").strip() or \
                f"{os.path.basename(argv[0])} {argv[len(rt.base())]} exited with {p.returncode}"
        raise RuntimeError_(argv, p.returncode, msg)
    return (p.stdout or b"").decode("utf-8", "replace")


def state(rt, cid):
    """The runtime's state of cid, or None when the runtime does not know it."""
    try:
        return parse_state(call(rt, state_argv(rt, cid)))
    except RuntimeError_:
        return None
    except ValueError:
        return None
