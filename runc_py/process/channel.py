"""The sync channel between the runtime and the container's processes: a
SOCK_SEQPACKET socketpair carrying one JSON object per packet."""
import _socket
import sys

from .. import fastjson as json

_SOL_SOCKET, _SCM_RIGHTS = 1, 1


class ChannelClosed(Exception):
    pass


def pair():
    """Built on _socket: the socket module would import selectors and enum."""
    return _socket.socketpair(_socket.AF_UNIX,
                              _socket.SOCK_SEQPACKET | _socket.SOCK_CLOEXEC)


def die_with(sock, err):
    """A container-side process failed: send the error to the runtime (a
    RuncPyError with its fields, anything else as its type and text) and
    leave."""
    from ..errors import RuncPyError
    try:
        if isinstance(err, RuncPyError):
            send(sock, type="error", error=err.to_dict())
        else:
            send(sock, type="error",
                 error={"kind": "RuncPyError", "message": f"{type(err).__name__}: {err}"})
    except OSError:
        pass
    import posix
    posix._exit(1)


def send(sock, **msg):
    sock.send(json.dumps(msg).encode())


def recv(sock):
    data = sock.recv(1 << 20)
    if not data:
        raise ChannelClosed()
    return json.loads(data)


def recv_fds(sock, maxfds=4):
    """-> (message, [fds]): a packet that may carry fds (SCM_RIGHTS)."""
    data, anc, _flags, _addr = sock.recvmsg(1 << 20, _socket.CMSG_LEN(maxfds * 4))
    if not data:
        raise ChannelClosed()
    fds = []
    for level, kind, blob in anc:
        if level == _SOL_SOCKET and kind == _SCM_RIGHTS:
            usable = len(blob) - len(blob) % 4
            fds.extend(int.from_bytes(blob[i:i + 4], sys.byteorder, signed=True)
                       for i in range(0, usable, 4))
    return json.loads(data), fds


def send_fds(sock, fds, **msg):
    """One packet carrying fds (SCM_RIGHTS) with a JSON message."""
    blob = b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in fds)
    sock.sendmsg([json.dumps(msg).encode()], [(_SOL_SOCKET, _SCM_RIGHTS, blob)])
