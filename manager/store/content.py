"""Content-addressed blob store: DATA_ROOT/blobs/sha256/<hex>.

Blobs are hashed while written, checked against their digest (and size),
then renamed into place and made read-only; a blob with the wrong digest
is never stored.  Downloads go to blobs/ingest/<hex>.partial under a
per-digest lock, so an interrupted pull keeps its bytes and the next one
resumes, and two pulls of the same blob download it once.
"""
import hashlib
import os
import re
from pathlib import Path

from ..errors import RegistryError, StoreError
from .atomic import FileLock, fsync_dir, write_bytes

__all__ = ["ContentStore", "Ingest", "DigestMismatch", "digest_of", "split_digest"]

_DIGEST = re.compile(r"(sha256|sha512):([a-f0-9]+)")
_LEN = {"sha256": 64, "sha512": 128}


class DigestMismatch(RegistryError):
    pass


def split_digest(digest):
    m = _DIGEST.fullmatch(digest or "")
    if not m or len(m.group(2)) != _LEN[m.group(1)]:
        raise StoreError(f"invalid digest {digest!r}")
    return m.group(1), m.group(2)


def digest_of(data, algo="sha256"):
    return f"{algo}:{hashlib.new(algo, data).hexdigest()}"


class ContentStore:
    def __init__(self, data_root):
        self.root = Path(data_root) / "blobs"

    def path(self, digest):
        algo, hexpart = split_digest(digest)
        return self.root / algo / hexpart

    def has(self, digest):
        return self.path(digest).exists()

    def read(self, digest):
        try:
            return self.path(digest).read_bytes()
        except FileNotFoundError:
            raise StoreError(f"blob {digest} is missing from the store "
                             f"({self.path(digest)})")

    def size(self, digest):
        return self.path(digest).stat().st_size

    def put(self, data, digest=None):
        """Store bytes; if digest is given it must match.  Returns the digest."""
        algo = split_digest(digest)[0] if digest else "sha256"
        actual = digest_of(data, algo)
        if digest and actual != digest:
            raise DigestMismatch(f"content has digest {actual}, expected {digest}")
        path = self.path(actual)
        if not path.exists():
            write_bytes(path, data, mode=0o444)
        return actual

    def put_file(self, src, digest=None):
        """Copy a file into the store, hashing it (digest checked if given)."""
        with open(src, "rb") as f:
            return self.put_stream(f, digest)

    def put_stream(self, f, digest=None, size=None):
        """Store what f yields, hashing it (digest checked if given)."""
        with self.ingest(digest or "", size=size, verify_only=digest is None) as w:
            if w.done:
                return w.digest
            w.reset()
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    break
                w.write(chunk)
            return w.commit()

    def ingest(self, digest, size=None, verify_only=False):
        return Ingest(self, digest, size, unknown=verify_only)

    def delete(self, digest):
        try:
            self.path(digest).unlink()
        except FileNotFoundError:
            pass

    def all(self):
        out = []
        for algo_dir in self.root.iterdir() if self.root.exists() else ():
            if algo_dir.name in _LEN:
                out += [f"{algo_dir.name}:{p.name}" for p in algo_dir.iterdir()
                        if not p.name.startswith(".")]
        return out


class Ingest:
    """Writer for one blob download: `with store.ingest(d, size) as w:` then
    w.done (already stored), w.offset, w.write(), w.reset(), w.commit()."""

    def __init__(self, store, digest, size, unknown=False):
        self.store = store
        self.unknown = unknown          # digest not known in advance (local import)
        if unknown:
            self.algo = "sha256"
            self.digest = None
            key = f"import-{os.getpid()}-{id(self)}"
        else:
            self.algo, key = split_digest(digest)
            self.digest = digest
        self.size = size
        ingest = store.root / "ingest"
        self.partial = ingest / f"{key}.partial"
        self.lock = FileLock(ingest / f"{key}.lock")
        self.file = None
        self.offset = 0
        self.done = False

    def __enter__(self):
        self.lock.acquire()
        if not self.unknown and self.store.has(self.digest):
            self.done = True
            return self
        self.partial.parent.mkdir(parents=True, exist_ok=True)
        self.hasher = hashlib.new(self.algo)
        self.file = open(self.partial, "a+b")
        self.file.seek(0)
        while True:                     # rebuild the hash of what we already have
            chunk = self.file.read(1 << 20)
            if not chunk:
                break
            self.hasher.update(chunk)
            self.offset += len(chunk)
        if self.size is not None and self.offset > self.size:
            self.reset()
        return self

    def __exit__(self, *exc):
        if self.file:
            self.file.close()
            self.file = None
        if self.unknown and not self.done:
            try:
                self.partial.unlink()
            except FileNotFoundError:
                pass
        self.lock.release()

    def reset(self):
        self.file.seek(0)
        self.file.truncate()
        self.hasher = hashlib.new(self.algo)
        self.offset = 0

    def write(self, data):
        self.file.write(data)
        self.hasher.update(data)
        self.offset += len(data)
        if self.size is not None and self.offset > self.size:
            self._discard()
            raise DigestMismatch(f"blob {self.digest} is longer than the {self.size} bytes "
                                 "its descriptor says; discarded")

    def _discard(self):
        self.file.close()
        self.file = None
        self.partial.unlink(missing_ok=True)

    def commit(self):
        actual = f"{self.algo}:{self.hasher.hexdigest()}"
        if self.unknown:
            self.digest = actual
        elif actual != self.digest or (self.size is not None and self.offset != self.size):
            self._discard()
            raise DigestMismatch(
                f"blob {self.digest} failed verification: got {self.offset} bytes with "
                f"digest {actual}"
                + (f", expected {self.size} bytes" if self.size is not None else "")
                + "; nothing was stored")
        self.file.flush()
        os.fsync(self.file.fileno())
        os.fchmod(self.file.fileno(), 0o444)
        self.file.close()
        self.file = None
        dest = self.store.path(self.digest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.partial, dest)
        fsync_dir(dest.parent)
        self.done = True
        if not self.unknown:
            try:
                os.unlink(self.lock.path)
            except FileNotFoundError:
                pass
        return self.digest
