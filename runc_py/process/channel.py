"""The sync channel between the runtime and the container's processes: a
SOCK_SEQPACKET socketpair carrying one JSON object per packet."""
import socket

from .. import fastjson as json


class ChannelClosed(Exception):
    pass


def pair():
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)


def send(sock, **msg):
    sock.send(json.dumps(msg).encode())


def recv(sock):
    data = sock.recv(1 << 20)
    if not data:
        raise ChannelClosed()
    return json.loads(data)


def recv_fds(sock, maxfds=4):
    """-> (message, [fds]): a packet that may carry fds (SCM_RIGHTS)."""
    data, fds, _flags, _addr = socket.recv_fds(sock, 1 << 20, maxfds)
    if not data:
        raise ChannelClosed()
    return json.loads(data), fds
