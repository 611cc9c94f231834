"""Docker's json-file log driver, the writing side: one JSON object per
line ({"log", "stream", "time"}), rotated by size into PATH.1 .. PATH.N-1.
The monitor writes it; services/logs.py reads it (and follows rotation)."""
import os

from . import jsonfast
from .procinfo import rfc3339nano

MAX_PARTIAL = 16 * 1024   # a line without newline is logged in pieces of this size


class JsonLog:
    """Docker's json-file log writer with size rotation (max_size 0: none)."""

    def __init__(self, path, max_size=0, max_files=1):
        self.path = path
        self.max_size = max_size
        self.max_files = max(1, max_files)
        self.f = open(path, "ab", buffering=0)
        self.size = self.f.tell()
        self.partial = {"stdout": b"", "stderr": b""}

    def _write(self, stream, text, ns=None):
        line = jsonfast.dumps({"log": text.decode("utf-8", "replace"), "stream": stream,
                               "time": rfc3339nano(ns)}).encode() + b"\n"
        if self.max_size and self.size + len(line) > self.max_size and self.size > 0:
            self.rotate()
        self.f.write(line)
        self.size += len(line)

    def rotate(self):
        self.f.close()
        if self.max_files > 1:
            for i in range(self.max_files - 1, 0, -1):
                src = self.path if i == 1 else f"{self.path}.{i - 1}"
                if os.path.exists(src):
                    os.replace(src, f"{self.path}.{i}")
        self.f = open(self.path, "wb", buffering=0)
        self.size = 0

    def write(self, stream, data):
        buf = self.partial[stream] + data
        while True:
            i = buf.find(b"\n")
            if i < 0:
                break
            self._write(stream, buf[:i + 1])
            buf = buf[i + 1:]
        while len(buf) >= MAX_PARTIAL:
            self._write(stream, buf[:MAX_PARTIAL])
            buf = buf[MAX_PARTIAL:]
        self.partial[stream] = buf

    def flush(self):
        for stream, buf in self.partial.items():
            if buf:
                self._write(stream, buf)
        self.partial = {"stdout": b"", "stderr": b""}

    def close(self):
        self.flush()
        self.f.close()
