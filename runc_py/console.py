"""Terminals.  The console-socket protocol (runc's): the runtime connects to
the caller's unix socket and the container's init sends the pty master fd
over it with SCM_RIGHTS.  For `run` without --console-socket, the runtime
itself receives the master and joins it to the caller's terminal."""
import fcntl
import os
import select
import signal
import socket
import struct
import termios
import tty


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        s.connect(path)
    except OSError as e:
        s.close()
        raise OSError(e.errno, f"cannot connect to console socket {path}: {e.strerror}")
    return s


def send_master(sock, master_fd, name=b"/dev/ptmx"):
    socket.send_fds(sock, [name], [master_fd])


def recv_master(sock):
    msg, fds, _flags, _addr = socket.recv_fds(sock, 4096, 1)
    if not fds:
        raise OSError("no pty master received on the console socket")
    return fds[0]


def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def get_size(fd):
    try:
        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
        return rows, cols
    except OSError:
        return None


def proxy(master, child_alive, stdin=0, stdout=1):
    """Copy the caller's stdin to the pty master and the master to stdout
    until the pty closes; keeps the window size in step (SIGWINCH)."""
    old = None
    if os.isatty(stdin):
        old = termios.tcgetattr(stdin)
        tty.setraw(stdin, termios.TCSANOW)  # TCSAFLUSH would drop typed-ahead input
        size = get_size(stdin)
        if size:
            set_size(master, *size)

        def on_winch(_s, _f):
            sz = get_size(stdin)
            if sz:
                set_size(master, *sz)
        signal.signal(signal.SIGWINCH, on_winch)
    fds = [master, stdin]
    stdin_open = True
    try:
        while True:
            try:
                r, _, _ = select.select(fds if stdin_open else [master], [], [], 0.2)
            except InterruptedError:
                continue
            if master in r:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    data = b""
                if not data:
                    break
                os.write(stdout, data)
            if stdin_open and stdin in r:
                data = os.read(stdin, 65536)
                if not data:
                    stdin_open = False
                    try:
                        os.write(master, b"\x04")
                    except OSError:
                        pass
                else:
                    os.write(master, data)
            if not r and not child_alive():
                # drain what is left, then stop
                try:
                    while select.select([master], [], [], 0)[0]:
                        data = os.read(master, 65536)
                        if not data:
                            break
                        os.write(stdout, data)
                except OSError:
                    pass
                break
    finally:
        if old is not None:
            termios.tcsetattr(stdin, termios.TCSADRAIN, old)
