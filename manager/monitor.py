"""The per-container monitor (conmon's role): one small process per
container that outlives `mydocker`.

How it starts (services/early.py): `mydocker` forks it as soon as it knows
it will run a container, so that its start-up overlaps the manager's own
work.  The forked child leaves the caller's session, becomes a child
subreaper (kept across execve: this interpreter never loads ctypes) and
waits for its config on a socketpair.  As soon as the config comes, and
before it execs `python -I -S -c <bootstrap> fd:3 fd:4 LISTEN fd:5`, it
already starts the container's `<runtime> run --detach`, so the runtime
works while this interpreter starts.  It hands on: fd 3, its end of the
socketpair, from now on the attach connection of the `mydocker` that
started it (no connect, no HELLO: both are in the config); fd 4, the
listening attach socket RUNDIR/attach.sock; fd 5, a memfd holding the
config (with the pid and stdio pipes of the runtime it started, fds 6-8).

Then it:

* runs the container: `<runtime> run --detach` (create + start in one
  runtime call; the container's init, orphaned when the runtime exits, is
  re-parented to this subreaper) with pipes as its stdio; with a terminal,
  `<runtime> create --console-socket` (the pty master is received over it
  and sized before the process starts) then `<runtime> start`.  It sends
  STARTED {"pid"} or ERROR {"message", "code": 125|126|127} to its clients;
* serves the attach socket (protocol below): clients receive the live
  output, send stdin and resize the terminal;
* writes stdout/stderr to the json-file log (Docker's format: one JSON
  object per line with log, stream, time; rotated by size);
* reaps the container, reads whether the kernel OOM-killed it (before the
  runtime's `delete` removes the cgroup), records ExitCode/FinishedAt/
  OOMKilled in state.json, deletes the runtime's container (unmounting the
  rootfs meanwhile), then applies the restart policy or --rm and exits;
  clients see EOF only after that, so `mydocker run --rm` returns once
  everything is gone.

Attach protocol: frames of 1 byte type + 4 bytes big-endian length +
payload, in both directions.  To the client: STDOUT, STDERR, STARTED (json
{"pid"}), ERROR (json {"message", "code"}), EXIT (json {"ExitCode",
"OOMKilled"}).  From the client: CONFIG (first frame on the socketpair,
read before the exec), HELLO (json {"stdout", "stderr", "stdin"}), START
(answered with STARTED), STDIN data, STDIN_CLOSE, RESIZE (json {"h", "w"}).

Light on purpose (its start-up is on `mydocker run`'s path and one lives
per container): `_json` (through jsonfast), `_signal`, `select`, fcntl,
runtime_client and the state file helpers.  Sockets are used through
their fds; `_socket` is loaded only for a terminal's console socket or when
a client connects to the attach socket, rootfs (mount(2) binding) only to
unmount.
"""
import os
import sys
import time

import _signal
import select

from . import jsonfast
from . import runtime_client as rc
from .attach import (ERROR, EXIT, HELLO, RESIZE, START, STARTED, STDERR, STDIN,
                     STDIN_CLOSE, STDOUT, FrameReader, frame)
from .jsonlog import JsonLog
from .procinfo import proc_start_time, rfc3339nano, trace
from .store.statefile import read_state, rmtree, update_state


CREATE_TIMEOUT = float(os.environ.get("MYDOCKER_RUNTIME_TIMEOUT", "30"))
EIO = 5

# ---- the monitor ------------------------------------------------------------

class FdConn:
    """A connected stream socket used through its fd (no socket module)."""
    __slots__ = ("fd",)

    def __init__(self, fd):
        self.fd = fd

    def fileno(self):
        return self.fd

    def recv(self, n):
        return os.read(self.fd, n)

    def sendall(self, data):
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

    def setblocking(self, flag):
        os.set_blocking(self.fd, flag)

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class Client:
    def __init__(self, sock):
        self.sock = sock
        self.fd = sock.fileno()
        self.reader = FrameReader()
        self.streams = set()
        self.stdin = False


def _noop(*_):
    pass


def _recv_fd(conn):
    """One fd sent with SCM_RIGHTS over conn (None if none came)."""
    import _socket
    _, anc, _, _ = conn.recvmsg(4096, _socket.CMSG_SPACE(4 * 4))
    fds = []
    for level, kind, data in anc:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            fds += [int.from_bytes(data[i:i + 4], sys.byteorder, signed=True)
                    for i in range(0, len(data) - len(data) % 4, 4)]
    for extra in fds[1:]:
        os.close(extra)
    return fds[0] if fds else None


class Monitor:
    def __init__(self, cfg, chan=None):
        self.cfg = cfg
        self.cid = cfg["id"]
        self.rt = rc.Runtime(**cfg["runtime"])
        self.cdir = cfg["cdir"]
        self.rundir = cfg["rundir"]
        self.poller = select.poll()
        self.fds = {}                   # fd -> what it is ("listen", "wake", ("out", fd) ...)
        self.clients = []
        self.pid = 0
        self.status = None
        self.started = False
        self.master = None
        self.stdin_w = None
        self.outs = {}
        self.log = JsonLog(cfg["log_path"], cfg.get("log_max_size", 0),
                           cfg.get("log_max_files", 1))
        ws = cfg.get("winsize")
        self.winsize = (int(ws["h"]), int(ws["w"])) if ws else None
        self.listener = None
        if chan is not None:
            c = Client(chan)
            hello = cfg.get("hello") or {}
            c.streams = {s for s in ("stdout", "stderr") if hello.get(s)}
            c.stdin = bool(hello.get("stdin"))
            self.add_client(c)

    # -- poll set -----------------------------------------------------------------------------
    def watch(self, fd, tag):
        self.poller.register(fd, select.POLLIN)
        self.fds[fd] = tag

    def unwatch(self, fd):
        if self.fds.pop(fd, None) is not None:
            try:
                self.poller.unregister(fd)
            except KeyError:
                pass

    # -- state ----------------------------------------------------------------------------------
    def set_state(self, **changes):
        return update_state(self.cdir, **changes)

    # -- runtime calls ----------------------------------------------------------------------
    def _runtime_error(self, start_size):
        try:
            with open(self.rt.log, "rb") as f:
                f.seek(start_size)
                return rc.last_error(f.read().decode("utf-8", "replace"))
        except OSError:
            return None

    def _take_console(self, console):
        import _socket
        try:
            conn_fd, _ = console._accept()
        except OSError:
            return True
        conn = _socket.socket(fileno=conn_fd)
        try:
            conn.setblocking(True)
            fd = _recv_fd(conn)
        finally:
            conn.close()
        if fd is None:
            return True
        self.master = fd
        if self.winsize:
            self.resize(*self.winsize)
        return False

    def _adopt(self, pre):
        """The `run` started before the exec: (argv, pid, error, log offset)."""
        argv = self.cfg["launch"]
        trace("runtime run (started before the exec)")
        if pre.get("error"):
            return argv, None, (f"cannot run runtime {argv[0]}: {pre['error']}", 125), \
                pre["log_start"]
        self.outs = {pre["stdout"]: "stdout", pre["stderr"]: "stderr"}
        self.stdin_w = pre.get("stdin")
        for fd in (pre["stdout"], pre["stderr"], self.stdin_w):
            if fd is not None:
                os.set_inheritable(fd, False)
        return argv, pre["pid"], None, pre["log_start"]

    def _console_socket(self):
        import _socket
        path = os.path.join(self.rundir, "console.sock")
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        console = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        console.bind(path)
        console.listen(1)
        return console

    def _spawn(self, argv):
        """Start a runtime's create (null stdio: the terminal comes over the
        console socket) or run (pipes); returns (pid, None) or (None, error)."""
        trace("runtime " + argv[len(self.rt.base())])
        try:
            if self.cfg.get("tty"):
                null = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
                try:
                    return rc.spawn(argv, null, null, null), None
                finally:
                    os.close(null)
            child, out_r, err_r, self.stdin_w = rc.spawn_with_pipes(argv, self.cfg.get("stdin"))
            self.outs = {out_r: "stdout", err_r: "stderr"}
            return child, None
        except OSError as e:
            return None, (f"cannot run runtime {argv[0]}: {e.strerror}", 125)

    def launch(self):
        """Create and start the container.  Without a terminal: `run --detach`
        (one runtime call); with one: `create --console-socket` (the pty is
        sized before the process starts), then `start`.  The first `run`
        may have been started before this interpreter was exec'd
        (cfg["launched"], see services/early.py).  Returns None, or
        (message, exit code) when the container could not be started."""
        cfg = self.cfg
        pid_file = os.path.join(self.rundir, "pidfile")
        console = None
        also = {}
        pre = cfg.pop("launched", None)
        if pre is not None:
            argv, child, err, log_start = self._adopt(pre)
        else:
            try:
                os.unlink(pid_file)
            except FileNotFoundError:
                pass
            log_start = rc._log_size(self.rt.log)
            if cfg.get("tty"):
                console = self._console_socket()
                also[console.fileno()] = lambda: self._take_console(console)
                argv = rc.create_argv(self.rt, self.cid, cfg["bundle"], pid_file,
                                      console.getsockname())
            else:
                argv = rc.run_argv(self.rt, self.cid, cfg["bundle"], pid_file, detach=True)
            child, err = self._spawn(argv)
        verb = argv[len(self.rt.base())]
        if child is not None:
            try:
                code = rc.wait(child, CREATE_TIMEOUT, also)
                if code != 0:
                    msg = self._runtime_error(log_start) or f"runtime {verb} exited with {code}"
                    err = (rc.short_error(msg), rc.exit_code_for_error(msg))
            except rc.TimedOut:
                err = (f"runtime {verb} did not finish within {CREATE_TIMEOUT:g}s", 125)
        if console is not None:
            console.close()
        if err is None:
            try:
                with open(pid_file) as f:
                    self.pid = int(f.read().strip())
            except (OSError, ValueError) as e:
                err = (f"runtime wrote no pid file: {e}", 125)
        if err is not None:
            self._close_io()
            return err
        trace("runtime done")
        if self.master is not None:
            os.set_blocking(self.master, False)
            self.outs = {self.master: "stdout"}
        for fd in self.outs:
            os.set_blocking(fd, False)
            self.watch(fd, ("out", fd))
        if cfg.get("tty"):
            try:
                rc.call(self.rt, rc.start_argv(self.rt, self.cid))
            except rc.RuntimeError_ as e:
                msg = rc.short_error(e.message)
                return msg, rc.exit_code_for_error(msg)
        self.started = True
        self.set_state(Status="running", Pid=self.pid, StartedAt=rfc3339nano(),
                       ExitCode=0, Error="", OOMKilled=False,
                       FinishedAt="0001-01-01T00:00:00Z")
        return None

    def delete(self):
        try:
            rc.call(self.rt, rc.delete_argv(self.rt, self.cid, force=True))
        except rc.RuntimeError_:
            pass

    def delete_async(self):
        """Start `<runtime> delete`; returns its pid for delete_wait()."""
        null = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
        try:
            return rc.spawn(rc.delete_argv(self.rt, self.cid, force=True), null, null, null)
        except OSError:
            return None
        finally:
            os.close(null)

    def delete_wait(self, pid):
        if pid is not None:
            try:
                rc.wait(pid, CREATE_TIMEOUT)
            except rc.TimedOut:
                pass

    def oom_killed(self):
        path = self.cfg.get("memory_cgroup")
        if not path:
            return False
        for name, key in (("memory.oom_control", "oom_kill"), ("memory.events", "oom_kill")):
            try:
                with open(os.path.join(path, name)) as f:
                    for line in f:
                        k, _, v = line.partition(" ")
                        if k == key and int(v) > 0:
                            return True
            except (OSError, ValueError):
                continue
        return False

    # -- io ---------------------------------------------------------------------------------
    def add_client(self, c):
        self.clients.append(c)
        self.watch(c.fd, ("client", c))

    def broadcast(self, kind, data, stream=None):
        if not isinstance(data, (bytes, str)):
            data = jsonfast.dumps(data)
        msg = None
        for c in list(self.clients):
            if stream is None or stream in c.streams:
                msg = msg or frame(kind, data)
                self.send(c, msg)

    def send(self, c, data):
        try:
            c.sock.setblocking(True)
            c.sock.sendall(data)
        except OSError:
            self.drop(c)

    def drop(self, c):
        if c in self.clients:
            self.clients.remove(c)
            self.unwatch(c.fd)
            c.sock.close()

    def read_out(self, fd):
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return True
        except OSError as e:
            if e.errno != EIO:      # EIO: pty closed
                raise
            data = b""
        if not data:
            self.unwatch(fd)
            self.outs.pop(fd)
            if fd != self.master:
                os.close(fd)
            self.log.flush()
            return False
        stream = self.outs[fd]
        self.log.write(stream, data)
        self.broadcast(STDOUT if stream == "stdout" else STDERR, data, stream)
        return True

    def resize(self, h, w):
        self.winsize = (h, w)
        if self.master is not None:
            import fcntl
            import termios
            try:
                fcntl.ioctl(self.master, termios.TIOCSWINSZ,
                            h.to_bytes(2, sys.byteorder) + w.to_bytes(2, sys.byteorder) +
                            bytes(4))
            except OSError:
                pass

    def client_input(self, c):
        try:
            data = c.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            if c.stdin and self.cfg.get("stdin_once"):
                self.close_stdin()
            self.drop(c)
            return
        for kind, payload in c.reader.feed(data):
            if kind == HELLO:
                h = jsonfast.loads(payload or b"{}")
                c.streams = {s for s in ("stdout", "stderr") if h.get(s)}
                c.stdin = bool(h.get("stdin"))
            elif kind == START:
                self.send(c, frame(STARTED, jsonfast.dumps({"pid": self.pid})))
            elif kind == STDIN:
                self.write_stdin(payload)
            elif kind == STDIN_CLOSE:
                self.close_stdin()
            elif kind == RESIZE:
                h = jsonfast.loads(payload)
                self.resize(int(h["h"]), int(h["w"]))

    def write_stdin(self, data):
        fd = self.master if self.master is not None else self.stdin_w
        if fd is None:
            return
        try:
            os.set_blocking(fd, True)
            os.write(fd, data)
        except OSError:
            pass
        finally:
            if fd == self.master:
                os.set_blocking(fd, False)

    def close_stdin(self):
        if self.master is not None:
            self.write_stdin(b"\x04")
        elif self.stdin_w is not None:
            os.close(self.stdin_w)
            self.stdin_w = None

    def _close_io(self):
        for fd in list(self.outs):
            self.unwatch(fd)
            if fd != self.master:
                os.close(fd)
        self.outs = {}
        if self.master is not None:
            os.close(self.master)
            self.master = None
        if self.stdin_w is not None:
            os.close(self.stdin_w)
            self.stdin_w = None

    # -- main loop --------------------------------------------------------------------------
    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.pid:
                self.status = os.waitstatus_to_exitcode(status)
                if self.status < 0:
                    self.status = 128 - self.status

    def accept(self, listener_fd):
        """A new attach client (the socket module is loaded only now: most
        containers never see one besides the `run` that started them)."""
        import _socket
        if self.listener is None:
            self.listener = _socket.socket(fileno=listener_fd)
        try:
            conn_fd, _ = self.listener._accept()
        except OSError:
            return
        self.add_client(Client(FdConn(conn_fd)))

    def run_once(self, listener, wake_r):
        """Serve io until the container exited and its output is drained."""
        self.status = None
        deadline = None
        self.reap()
        while True:
            if self.status is not None:
                if not self.outs:
                    break
                if deadline is None:
                    deadline = time.monotonic() + 1.0
                elif time.monotonic() > deadline:
                    break
                timeout = 50
            else:
                timeout = None
            for fd, _ in self.poller.poll(timeout):
                tag = self.fds.get(fd)
                if tag is None:
                    continue
                if tag == "listen":
                    self.accept(listener)
                elif tag == "wake":
                    try:
                        os.read(wake_r, 512)
                    except OSError:
                        pass
                    self.reap()
                elif tag[0] == "out":
                    self.read_out(tag[1])
                elif tag[0] == "client":
                    self.client_input(tag[1])
        self._close_io()
        self.log.flush()
        return self.status

    def restart_wanted(self, code, count):
        if read_state(self.cdir).get("StopRequested"):
            return False
        pol = self.cfg.get("restart") or {}
        name = pol.get("Name", "no")
        if name in ("always", "unless-stopped"):
            return True
        if name == "on-failure" and code != 0:
            mx = pol.get("MaximumRetryCount", 0)
            return not mx or count < mx
        return False

    def main(self, listener):
        """listener: the fd of the attach socket (RUNDIR/attach.sock), bound
        and listening."""
        os.makedirs(self.rundir, exist_ok=True)
        sock_path = os.path.join(self.rundir, "attach.sock")
        os.set_blocking(listener, False)
        self.watch(listener, "listen")
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        _signal.set_wakeup_fd(wake_w)
        _signal.signal(_signal.SIGCHLD, _noop)
        self.watch(wake_r, "wake")
        me = os.getpid()
        st = self.set_state(MonitorPid=me, MonitorStart=proc_start_time(me), StopRequested=False)
        restarts = st.get("RestartCount", 0)
        first = True
        while True:
            err = self.launch()
            if err:
                msg, code = err
                self._close_io()
                self.delete()
                self.set_state(Status="created" if first else "exited", Pid=0,
                               ExitCode=code, Error=msg, FinishedAt=rfc3339nano(),
                               MonitorPid=0)
                self.broadcast(ERROR, {"message": msg, "code": code})
                break
            self.broadcast(STARTED, {"pid": self.pid})
            code = self.run_once(listener, wake_r)
            trace("container exited")
            oom = self.oom_killed()         # before `delete` removes the cgroup
            deleting = self.delete_async()
            self.set_state(Status="exited", Pid=0, ExitCode=code, FinishedAt=rfc3339nano(),
                           OOMKilled=oom)
            self.broadcast(EXIT, {"ExitCode": code, "OOMKilled": oom})
            trace("exit recorded")
            if not self.restart_wanted(code, restarts):
                # while the runtime deletes: unmount, and with --rm remove the
                # bulk (the record goes once the runtime is done)
                _unmount(self.cfg.get("rootfs_merged"))
                if self.cfg.get("auto_remove"):
                    for sub in ("rootfs", "diff", "work", "bundle"):
                        rmtree(os.path.join(self.cdir, sub))
                trace("unmounted")
                self.delete_wait(deleting)
                trace("runtime delete done")
                break
            self.delete_wait(deleting)
            restarts += 1
            self.set_state(Status="restarting", RestartCount=restarts)
            time.sleep(min(0.1 * (2 ** min(restarts - 1, 6)), 2.0))
            if read_state(self.cdir).get("StopRequested"):
                self.set_state(Status="exited")
                break
            first = False
            self.started = False
        self.log.close()
        self.unwatch(listener)
        if self.listener is not None:
            self.listener.close()
        else:
            os.close(listener)
        try:
            os.unlink(sock_path)
        except OSError:
            pass
        self.finish()
        trace("finished")
        # attached clients see EOF only once --rm and the unmount are done
        for c in list(self.clients):
            self.drop(c)

    def finish(self):
        merged = self.cfg.get("rootfs_merged")
        if self.cfg.get("auto_remove"):
            self.set_state(Status="removing", MonitorPid=0)
            _unmount(merged)
            for vol in self.cfg.get("anonymous_volumes") or []:
                rmtree(vol)
            rmtree(self.cdir)
            rmtree(self.rundir)
            return
        _unmount(merged)
        self.set_state(MonitorPid=0)


def _unmount(merged):
    if not merged:
        return
    from . import rootfs
    try:
        rootfs.unmount(merged)
    except OSError:
        pass


def main(argv=None):
    """argv: fd:3 fd:4 LISTEN_PATH fd:5 (see services/early.py): the attach
    connection of the `mydocker` that started us, the listening attach
    socket, and a memfd holding our config."""
    argv = sys.argv[1:] if argv is None else argv
    trace("main")
    if argv != ["fd:3", "fd:4", argv[2] if len(argv) > 2 else "", "fd:5"]:
        sys.stderr.write("usage: monitor fd:3 fd:4 LISTEN_PATH fd:5 (started by mydocker)\n")
        os._exit(2)
    for fd in (3, 4):
        os.set_inheritable(fd, False)      # the runtime and the container must not hold them
    for sig in (_signal.SIGHUP, _signal.SIGINT, _signal.SIGPIPE, _signal.SIGTTOU,
                _signal.SIGTTIN):
        _signal.signal(sig, _signal.SIG_IGN)
    chan = FdConn(3)
    with open(5, "rb") as f:
        cfg = jsonfast.loads(f.read())
    logfd = os.open(os.path.join(cfg["rundir"], "monitor.log"),
                    os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
    os.dup2(logfd, 1)
    os.dup2(logfd, 2)
    os.close(logfd)
    trace("config")
    m = Monitor(cfg, chan)
    try:
        m.main(4)
    except Exception as e:
        import traceback
        traceback.print_exc()
        m.broadcast(ERROR, {"message": f"monitor failed: {e}", "code": 125})
        try:
            m.set_state(Status="exited", Pid=0, ExitCode=125, Error=f"monitor failed: {e}",
                        MonitorPid=0, FinishedAt=rfc3339nano())
        except Exception:
            pass
        os._exit(1)
    os._exit(0)


if __name__ == "__main__":
    main()
