"""The attach protocol between a container's monitor and its clients
(`mydocker run`/`start -a`/`attach`): frames of 1 byte type + 4 bytes
big-endian length + payload (the types below; see monitor.py for who sends
what)."""

STDIN, STDOUT, STDERR, EXIT, STARTED, ERROR = 0, 1, 2, 3, 4, 5
HELLO, START, STDIN_CLOSE, RESIZE, CONFIG = 9, 12, 10, 11, 13
HDR_SIZE = 5


def frame(kind, payload=b""):
    if isinstance(payload, str):
        payload = payload.encode()
    return bytes((kind,)) + len(payload).to_bytes(4, "big") + payload


class FrameReader:
    """Accumulates bytes and yields complete (type, payload) frames."""

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        self.buf += data
        out = []
        buf = self.buf
        while len(buf) >= HDR_SIZE:
            n = int.from_bytes(buf[1:5], "big")
            if len(buf) < HDR_SIZE + n:
                break
            out.append((buf[0], buf[HDR_SIZE:HDR_SIZE + n]))
            buf = buf[HDR_SIZE + n:]
        self.buf = buf
        return out
