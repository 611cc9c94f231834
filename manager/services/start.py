"""`start` and `run`: a monitor per container, attached or not.

`run` forks the container's monitor before anything else (services/early.py),
so that its start-up overlaps the creation of the container.  When the
container is ready, we send the monitor its config over the socketpair
between us (CONFIG); the monitor starts the container at once (its
runtime call even before the monitor's interpreter is up) and the same
socket is our attach connection: STARTED (or ERROR), the output frames,
EXIT, then EOF once the monitor is done (--rm removal included).  Every
wait here is a blocking read on that socket: no connect retries, no
polling of files.

Light to import (`mydocker run` goes through here): `_socket` and
`_signal` rather than socket/signal, selectors only when stdin is
forwarded, no json.
"""
import os
import sys

import _signal
import _socket

from .. import jsonfast
from .. import runtime_client as rc
from ..errors import Conflict, ContainerNotFound, RuntimeFailed
from .common import (CommandFailed, _memory_cgroup, _rundir, _runtime, _store, pid_alive,
                     state_of)
from .create import _mount_rootfs, create
from .early import EarlyMonitor
from ..attach import (EXIT, ERROR, HELLO, RESIZE, START, STARTED, STDERR, STDIN,
                      STDIN_CLOSE, STDOUT, FrameReader, frame)
from ..procinfo import proc_start_time, trace

__all__ = ["start", "run", "EarlyMonitor", "Attach"]

FORWARDED = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT,
             _signal.SIGUSR1, _signal.SIGUSR2)


def _monitor_config(paths, rec, hello, stdin_once, winsize):
    cid = rec["Id"]
    rundir = _rundir(paths, cid)
    os.makedirs(rundir, exist_ok=True)
    rt = _runtime(paths, rec)
    log_cfg = rec["HostConfig"]["LogConfig"]["Config"]
    max_size = 0
    if log_cfg.get("max-size"):
        from ..specgen import parse_size
        max_size = parse_size(log_cfg["max-size"])
    cdir = os.path.dirname(rec["LogPath"])
    bundle = os.path.join(cdir, "bundle")
    launch = None
    if not rec["Config"]["Tty"]:      # the monitor's first runtime call, started early
        launch = rc.run_argv(rt, cid, bundle, os.path.join(rundir, "pidfile"), detach=True)
    return {
        "id": cid, "runtime": {"path": rt.path, "root": rt.root, "log": rt.log},
        "bundle": bundle, "cdir": cdir, "rundir": rundir, "launch": launch,
        "log_path": rec["LogPath"], "log_max_size": max_size,
        "log_max_files": int(log_cfg.get("max-file") or 1),
        "tty": bool(rec["Config"]["Tty"]), "stdin": bool(rec["Config"]["OpenStdin"]),
        "stdin_once": stdin_once, "hello": hello, "winsize": winsize,
        "restart": rec["HostConfig"]["RestartPolicy"],
        "auto_remove": rec["HostConfig"]["AutoRemove"],
        "anonymous_volumes": rec.get("AnonymousVolumes") or [],
        "rootfs_merged": rec["GraphDriver"]["Data"]["MergedDir"],
        "memory_cgroup": _memory_cgroup(rec["CgroupsPath"]),
    }


def _terminal_size():
    for fd in (1, 0):
        try:
            if os.isatty(fd):
                sz = os.get_terminal_size(fd)
                return {"h": sz.lines, "w": sz.columns}
        except OSError:
            continue
    return None


def _raise_start_error(msg):
    code = msg.get("code", 125)
    text = msg.get("message") or msg.get("error") or "unknown error"
    if code in (126, 127):
        raise CommandFailed(f"failed to create task for container: {text}", code)
    raise RuntimeFailed(f"OCI runtime create failed: {text}")


class Attach:
    """A client connection to a container's monitor: the socket `run`/`start`
    got from EarlyMonitor.go(), or a connection to its attach.sock."""

    def __init__(self, sock):
        self.sock = sock
        self.reader = FrameReader()
        self.pending = []

    @classmethod
    def connect(cls, paths, cid, stdout=True, stderr=True, stdin=False, timeout=10.0):
        import time
        path = os.path.join(_rundir(paths, cid), "attach.sock")
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        deadline = time.monotonic() + timeout
        while True:
            try:
                sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    sock.close()
                    raise RuntimeFailed(f"cannot attach to container {cid[:12]}: its monitor "
                                        "is not answering")
                time.sleep(0.01)
        att = cls(sock)
        att.send(HELLO, jsonfast.dumps({"stdout": stdout, "stderr": stderr, "stdin": stdin}))
        return att

    def send(self, kind, payload=b""):
        self.sock.sendall(frame(kind, payload))

    def recv(self):
        """Next frame, or None at EOF."""
        while not self.pending:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.pending.extend(self.reader.feed(data))
        return self.pending.pop(0)

    def drain(self, timeout):
        """Read to EOF (the monitor closes once it is done), at most timeout s."""
        self.sock.settimeout(timeout)
        try:
            while self.sock.recv(65536):
                pass
        except OSError:
            pass

    def close(self):
        self.sock.close()


def _wait_started(att, auto_remove=False):
    """Wait for STARTED or ERROR (output frames that come first are kept)."""
    held = []
    while True:
        f = att.recv()
        if f is None:
            raise RuntimeFailed("container monitor went away while starting the container")
        kind, payload = f
        if kind == STARTED:
            trace("started", "mydocker")
            att.pending[:0] = held
            return jsonfast.loads(payload)
        if kind == ERROR:
            if auto_remove:
                att.drain(5)          # --rm: EOF comes once everything is removed
            _raise_start_error(jsonfast.loads(payload))
        held.append(f)


def start(paths, ref, attach=False, interactive=False, out=None, err=None, early=None):
    """Start a created or exited container.  With attach, stream its output and
    return its exit code; else return None."""
    store = _store(paths)
    rec = store.resolve(ref) if isinstance(ref, str) else ref
    st = state_of(paths, rec)
    if st["Status"] in ("running", "restarting"):
        if attach:
            return _attach_loop(paths, rec, Attach.connect(paths, rec["Id"], stdin=interactive),
                                interactive)
        return None
    if st["Status"] == "paused":
        raise Conflict("cannot start a paused container, try unpause instead")
    if st["Status"] == "removing":
        raise Conflict(f"container {ref} is marked for removal and cannot be started")
    cid = rec["Id"]
    if pid_alive(st.get("MonitorPid"), st.get("MonitorStart")):
        # a monitor is there already (it is starting the container): ask it
        att = Attach.connect(paths, cid, stdout=attach, stderr=attach,
                             stdin=attach and interactive)
        try:
            att.send(START)
            _wait_started(att)
        except BaseException:
            att.close()
            raise
    else:
        _mount_rootfs(rec)
        hello = {"stdout": attach, "stderr": attach, "stdin": attach and interactive}
        winsize = _terminal_size() if attach and rec["Config"]["Tty"] else None
        cfg = _monitor_config(paths, rec, hello, attach and interactive, winsize)
        attach_path = os.path.join(cfg["rundir"], "attach.sock")
        mon, early = early or EarlyMonitor(paths.run_root, attach_path), None
        att = Attach(mon.go(jsonfast.dumps(cfg), attach_path))
        trace("config sent", "mydocker")
        # recorded by us too: should the monitor die before it records itself,
        # the next read of the state cleans up what it started
        store.update_state(cid, StopRequested=False, MonitorPid=mon.pid,
                           MonitorStart=proc_start_time(mon.pid))
        try:
            _wait_started(att, rec["HostConfig"]["AutoRemove"])
        except BaseException:
            att.close()
            raise
    if attach:
        return _attach_loop(paths, rec, att, interactive)
    att.close()
    return None


def _attach_loop(paths, rec, att, interactive):
    """Stream frames to our stdout/stderr, forward stdin and signals; return the exit code."""
    tty = rec["Config"]["Tty"]
    out = sys.stdout.buffer
    errb = sys.stderr.buffer
    restore = None
    stdin_fd = None
    old_handlers = {}
    if interactive:
        stdin_fd = sys.stdin.fileno()
        if tty and os.isatty(stdin_fd):
            import termios
            import tty as ttymod
            restore = termios.tcgetattr(stdin_fd)
            ttymod.setraw(stdin_fd)
    if tty:
        def winch(*_):
            size = _terminal_size()
            if size:
                try:
                    att.send(RESIZE, jsonfast.dumps(size))
                except OSError:
                    pass
        winch()
        old_handlers[_signal.SIGWINCH] = _signal.signal(_signal.SIGWINCH, winch)
    if not tty:
        def proxy(signum, _frame):
            try:
                rt = _runtime(paths, rec)
                rc.call(rt, rc.kill_argv(rt, rec["Id"], str(signum)))
            except (rc.RuntimeError_, RuntimeFailed):
                pass
        for s in FORWARDED:
            old_handlers[s] = _signal.signal(s, proxy)
    code = None
    try:
        if interactive:
            code = _pump_with_stdin(paths, rec, att, stdin_fd, out, errb)
        else:
            while code is None:
                f = att.recv()
                if f is None:
                    code = _final_code(paths, rec)
                    break
                code = _handle_frame(f, out, errb)
        # the monitor closes the socket once --rm and the unmount are done
        trace("exit", "mydocker")
        att.drain(10)
        trace("eof", "mydocker")
    finally:
        if restore is not None:
            import termios
            termios.tcsetattr(stdin_fd, termios.TCSADRAIN, restore)
        for s, h in old_handlers.items():
            _signal.signal(s, h)
        att.close()
    return code


def _pump_with_stdin(paths, rec, att, stdin_fd, out, errb):
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(att.sock, selectors.EVENT_READ, "sock")
    sel.register(stdin_fd, selectors.EVENT_READ, "stdin")
    code = None
    while code is None:
        while att.pending and code is None:     # frames already queued first
            code = _handle_frame(att.pending.pop(0), out, errb)
        if code is not None:
            break
        for key, _ in sel.select():
            if key.data == "sock":
                try:
                    data = att.sock.recv(65536)
                except InterruptedError:
                    continue
                if not data:
                    return _final_code(paths, rec)
                att.pending.extend(att.reader.feed(data))
            else:
                data = os.read(stdin_fd, 65536)
                if not data:
                    att.send(STDIN_CLOSE)
                    sel.unregister(stdin_fd)
                else:
                    att.send(STDIN, data)
    sel.close()
    return code


def _handle_frame(f, out, errb):
    kind, payload = f
    if kind == STDOUT:
        out.write(payload)
        out.flush()
    elif kind == STDERR:
        errb.write(payload)
        errb.flush()
    elif kind == EXIT:
        return jsonfast.loads(payload)["ExitCode"]
    elif kind == ERROR:
        _raise_start_error(jsonfast.loads(payload))
    return None


def _final_code(paths, rec):
    try:
        return _store(paths).state(rec["Id"])["ExitCode"]
    except ContainerNotFound:
        return 0


def run(paths, opts, default_runtime=None, detach=False, early=None):
    """create + start; attached runs return the container's exit code.  The
    monitor's interpreter starts while the container is being created."""
    early = early or EarlyMonitor(paths.run_root)
    try:
        rec = create(paths, opts, default_runtime)
        if detach:
            start(paths, rec, early=early)
            return rec
        return start(paths, rec, attach=True, interactive=opts.interactive, early=early)
    finally:
        early.cancel()
