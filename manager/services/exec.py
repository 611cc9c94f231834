"""`mydocker exec`: a process.json for the runtime's `exec --process`, run
attached (stdio or a terminal) or detached."""
import json
import os
import signal
import sys
from pathlib import Path

from .. import specgen
from .. import runtime_client as rc
from ..errors import Conflict, UsageError
from .containers import (CommandFailed, _read_in_root, _rundir, _runtime, _store, _token,
                         state_of)


# ---- exec -----------------------------------------------------------------------------

def exec_(paths, ref, command, interactive=False, tty=False, detach=False, env=(), user=None,
          workdir=None, privileged=False):
    """Run a command in a running container; returns its exit code (None if detached)."""
    store = _store(paths)
    rec = store.resolve(ref)
    st = state_of(paths, rec)
    if st["Status"] != "running":
        raise Conflict(f"Container {rec['Id']} is not running")
    if not command:
        raise UsageError("exec requires at least one argument: the command to run")
    rt = _runtime(paths, rec)
    cdir = Path(rec["LogPath"]).parent
    with open(cdir / "bundle" / "config.json") as f:
        spec = json.load(f)
    proc = dict(spec["process"])
    proc["terminal"] = bool(tty)
    proc["args"] = list(command)
    if rec["HostConfig"].get("Init") and proc["args"][:1] == [specgen.INIT_PATH]:
        pass
    env_list = list(proc.get("env") or [])
    if env:
        keys = {e.split("=", 1)[0] for e in env}
        env_list = [e for e in env_list if e.split("=", 1)[0] not in keys] + list(env)
    if tty and not any(e.startswith("TERM=") for e in env_list):
        env_list.append("TERM=xterm")
    proc["env"] = env_list
    if workdir:
        proc["cwd"] = workdir
    if user is not None:
        merged = rec["GraphDriver"]["Data"]["MergedDir"]
        uid, gid, extra, home = specgen.resolve_user(user, _read_in_root(merged, "etc/passwd"),
                                                     _read_in_root(merged, "etc/group"))
        proc["user"] = {"uid": uid, "gid": gid}
        if extra:
            proc["user"]["additionalGids"] = extra
        caps = proc.get("capabilities", {}).get("bounding", [])
        proc["capabilities"] = {"bounding": caps} if uid else \
            {"bounding": caps, "effective": caps, "permitted": caps}
    if privileged:
        caps = list(specgen.ALL_CAPS)
        proc["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps}
    rundir = Path(_rundir(paths, rec["Id"]))
    rundir.mkdir(parents=True, exist_ok=True)
    tag = _token(6)
    pjson = rundir / f"exec-{tag}.json"
    pidf = rundir / f"exec-{tag}.pid"
    with open(pjson, "w") as f:
        json.dump(proc, f)
    try:
        return _exec_process(rt, rec["Id"], pjson, pidf, rundir / f"exec-{tag}.sock",
                             interactive, tty, detach)
    finally:
        for p in (pjson, pidf):
            try:
                os.unlink(p)
            except OSError:
                pass


def _exec_process(rt, cid, pjson, pidf, csock, interactive, tty, detach):
    import ctypes
    import socket
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)      # PR_SET_CHILD_SUBREAPER: reap the exec'd process
    import subprocess
    null = open(os.devnull, "rb")
    master = None
    listener = None
    if tty:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(csock))
        listener.listen(1)
    argv = rc.exec_argv(rt, cid, pjson, pid_file=pidf, detach=True,
                        console_socket=str(csock) if tty else None)
    start = rc._log_size(rt.log)
    if detach:
        stdio = dict(stdin=null, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elif tty:
        stdio = dict(stdin=null, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        stdio = dict(stdin=None if interactive else null, stdout=None, stderr=None)
    p = subprocess.Popen(argv, **stdio)
    try:
        if tty:
            listener.settimeout(0.1)
            while master is None and p.poll() is None:
                try:
                    conn, _ = listener.accept()
                except socket.timeout:
                    continue
                with conn:
                    _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
                    master = fds[0] if fds else None
            if master is None:
                try:
                    conn, _ = listener.accept()
                    with conn:
                        _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
                        master = fds[0] if fds else None
                except (socket.timeout, OSError):
                    pass
        rcode = p.wait()
    finally:
        if listener is not None:
            listener.close()
            try:
                os.unlink(csock)
            except OSError:
                pass
        null.close()
    if rcode != 0:
        msg = None
        try:
            with open(rt.log, "rb") as f:
                f.seek(start)
                msg = rc.last_error(f.read().decode("utf-8", "replace"))
        except OSError:
            pass
        msg = msg or f"runtime exec exited with {rcode}"
        code = rc.exit_code_for_error(msg)
        if master is not None:
            os.close(master)
        raise CommandFailed(f"OCI runtime exec failed: {rc.short_error(msg)}", code)
    pid = int(Path(pidf).read_text().strip())
    if detach:
        if master is not None:
            os.close(master)
        return None
    if master is not None:
        return _proxy_tty(master, pid, interactive)
    return _wait_pid(pid)


def _wait_pid(pid):
    def fwd(signum, _f):
        try:
            os.kill(pid, signum)
        except OSError:
            pass
    old = {s: signal.signal(s, fwd) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                break
            except InterruptedError:
                continue
            except ChildProcessError:
                return 0
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _proxy_tty(master, pid, interactive):
    """Copy between our terminal and the exec'd process's pty until it exits."""
    import fcntl
    import selectors
    import struct
    import termios
    stdin_fd = sys.stdin.fileno()
    restore = None
    if interactive and os.isatty(stdin_fd):
        import tty as ttymod
        restore = termios.tcgetattr(stdin_fd)
        ttymod.setraw(stdin_fd)

    def winch(*_):
        try:
            sz = os.get_terminal_size(stdin_fd)
            fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", sz.lines, sz.columns,
                                                                0, 0))
        except OSError:
            pass
    winch()
    old = signal.signal(signal.SIGWINCH, winch)
    sel = selectors.DefaultSelector()
    sel.register(master, selectors.EVENT_READ, "pty")
    if interactive:
        sel.register(stdin_fd, selectors.EVENT_READ, "stdin")
    out = sys.stdout.buffer
    status = None
    try:
        while True:
            for key, _ in sel.select(0.1):
                if key.data == "pty":
                    try:
                        data = os.read(master, 65536)
                    except OSError:
                        data = b""
                    if not data:
                        sel.unregister(master)
                        raise StopIteration
                    out.write(data)
                    out.flush()
                else:
                    data = os.read(stdin_fd, 65536)
                    if not data:
                        sel.unregister(stdin_fd)
                    else:
                        os.write(master, data)
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
                # drain
                try:
                    while True:
                        data = os.read(master, 65536)
                        if not data:
                            break
                        out.write(data)
                except OSError:
                    pass
                out.flush()
                break
    except StopIteration:
        pass
    finally:
        if restore is not None:
            termios.tcsetattr(stdin_fd, termios.TCSADRAIN, restore)
        signal.signal(signal.SIGWINCH, old)
        os.close(master)
    if status is None:
        _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code
