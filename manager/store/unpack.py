"""Unpack one layer blob (gzip, zstd or plain tar) into an empty directory
that can serve as an overlayfs lower dir.

Streams the tar (never extracts to a temp place), computes the DiffID
(sha256 of the uncompressed tar) on the way, and keeps modes, owners,
xattrs, hard links, symlinks, device nodes, fifos and times.  OCI
whiteouts become overlayfs whiteouts: `.wh.NAME` -> a 0/0 character device
NAME, `.wh..wh..opq` -> xattr trusted.overlay.opaque=y on its directory.
Entries that would land outside the layer (absolute names, `..`, a parent
that is a symlink, hard links leaving the layer) are refused with
UnsafeLayer, and nothing of the layer is kept by the caller.
"""
import hashlib
import os
import stat
import tarfile
import threading
import zlib

from ..errors import StoreError

__all__ = ["unpack", "UnsafeLayer", "UnpackResult", "detect_compression", "open_uncompressed"]

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"
CHUNK = 1 << 20

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class UnsafeLayer(StoreError):
    pass


class UnpackResult:
    def __init__(self, diff_id, size, entries):
        self.diff_id = diff_id
        self.size = size          # bytes of regular file content
        self.entries = entries


def detect_compression(head):
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return None


class _GzipReader:
    """Minimal streaming gunzip (multi-member aware) with a read(n) API."""

    def __init__(self, raw):
        self.raw = raw
        self.d = zlib.decompressobj(31)
        self.buf = b""
        self.eof = False

    def read(self, n=-1):
        while not self.eof and (n < 0 or len(self.buf) < n):
            data = self.d.unconsumed_tail or self.raw.read(CHUNK)
            if not data:
                if not self.d.eof:
                    raise StoreError("layer is a truncated gzip stream")
                self.eof = True
                break
            self.buf += self.d.decompress(data, CHUNK * 4)
            if self.d.eof:
                rest = self.d.unused_data
                self.d = zlib.decompressobj(31)
                if rest:
                    if rest.strip(b"\0"):
                        self.buf += self.d.decompress(rest, CHUNK * 4)
                    else:   # trailing zero padding after the last member
                        self.eof = True
                else:
                    nxt = self.raw.read(CHUNK)
                    if not nxt or not nxt.strip(b"\0"):
                        self.eof = True
                    else:
                        self.buf += self.d.decompress(nxt, CHUNK * 4)
        if n < 0:
            out, self.buf = self.buf, b""
        else:
            out, self.buf = self.buf[:n], self.buf[n:]
        return out


class _Hashing:
    """Reads from a decompressed stream and hashes every byte (the DiffID)."""

    def __init__(self, inner):
        self.inner = inner
        self.h = hashlib.sha256()

    def read(self, n=-1):
        data = self.inner.read(n)
        self.h.update(data)
        return data

    def drain(self):
        while self.read(CHUNK):
            pass
        return "sha256:" + self.h.hexdigest()


class _Prefetch:
    """Decompress in a helper thread (zlib and zstd drop the GIL), so that
    decompression overlaps with creating files."""

    def __init__(self, inner, depth=8):
        import queue
        self.q = queue.Queue(depth)
        self.buf = b""
        self.pos = 0
        self.done = False
        self.error = None
        self.stop = False
        self.t = threading.Thread(target=self._run, args=(inner,), daemon=True)
        self.t.start()

    def _run(self, inner):
        try:
            while not self.stop:
                data = inner.read(CHUNK)
                self.q.put(data)
                if not data:
                    return
        except BaseException as e:   # handed to the reader
            self.error = e
            self.q.put(b"")

    def read(self, n=-1):
        parts = []
        want = n
        while not self.done and (want < 0 or want > 0):
            if self.pos >= len(self.buf):
                self.buf = self.q.get()
                self.pos = 0
                if not self.buf:
                    self.done = True
                    if self.error:
                        raise self.error
                    break
            take = len(self.buf) - self.pos if want < 0 else min(want, len(self.buf) - self.pos)
            parts.append(self.buf[self.pos:self.pos + take])
            self.pos += take
            if want > 0:
                want -= take
        return b"".join(parts)

    def close(self):
        self.stop = True
        while self.t.is_alive():
            try:
                self.q.get_nowait()
            except Exception:
                self.t.join(0.01)


def open_uncompressed(f):
    """Wrap a binary file object positioned at the blob start."""
    head = f.peek(4)[:4] if hasattr(f, "peek") else b""
    kind = detect_compression(head)
    if kind == "gzip":
        return _GzipReader(f)
    if kind == "zstd":
        import zstandard
        return zstandard.ZstdDecompressor().stream_reader(f, read_size=CHUNK,
                                                          read_across_frames=True)
    return f


def _clean_name(name, what="entry"):
    if name.startswith("/"):
        raise UnsafeLayer(f"layer {what} {name!r} has an absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeLayer(f"layer {what} {name!r} would land outside the layer (..)")
    return parts


class _Unpacker:
    def __init__(self, dest, root):
        self.dest = os.fspath(dest)
        self.root = root
        self.dirs = {(): True}          # relative dir tuples known to be real dirs
        self.dir_meta = []              # (path, member) to finish after all entries
        self.size = 0
        self.entries = 0

    def parent(self, parts, name):
        """Make sure the parent dirs exist and none of them is a symlink."""
        path = self.dest
        for i in range(len(parts)):
            key = tuple(parts[:i + 1])
            path = path + "/" + parts[i]
            if key in self.dirs:
                continue
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                os.mkdir(path, 0o755)
                self.dirs[key] = True
                continue
            if stat.S_ISLNK(st.st_mode):
                raise UnsafeLayer(f"layer entry {name!r} would be written through the "
                                  f"symlink {'/'.join(key)!r}")
            if not stat.S_ISDIR(st.st_mode):
                raise UnsafeLayer(f"layer entry {name!r} is below {'/'.join(key)!r}, "
                                  "which is not a directory")
            self.dirs[key] = True
        return path

    def _clear(self, path, key):
        """Remove whatever is at path (a later entry or a whiteout replaces it)."""
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            import shutil
            shutil.rmtree(path)
            self.dirs = {k: v for k, v in self.dirs.items() if k[:len(key)] != key}
        else:
            os.unlink(path)

    def entry(self, tar, m):
        parts = _clean_name(m.name)
        if not parts:
            return          # the layer root itself ("./")
        self.entries += 1
        base = parts[-1]
        parent = self.parent(parts[:-1], m.name)
        if base == OPAQUE:
            self._setxattr(parent, OPAQUE_XATTR, b"y", m.name)
            return
        if base.startswith(WHITEOUT):
            target = parent + "/" + base[len(WHITEOUT):]
            if base[len(WHITEOUT):] in ("", ".", ".."):
                raise UnsafeLayer(f"layer has a bad whiteout {m.name!r}")
            self._clear(target, tuple(parts[:-1]) + (base[len(WHITEOUT):],))
            self._mknod(target, stat.S_IFCHR, 0, m.name)
            return
        path = parent + "/" + base
        key = tuple(parts)
        if m.isdir():
            if key in self.dirs:
                pass
            else:
                try:
                    st = os.lstat(path)
                    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
                        os.unlink(path)
                        os.mkdir(path, 0o700)
                except FileNotFoundError:
                    os.mkdir(path, 0o700)
                self.dirs[key] = True
            self.dir_meta.append((path, m))
            return
        self._clear(path, key)
        if m.isreg():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                src = tar.extractfile(m)
                left = m.size
                while left > 0:
                    chunk = src.read(min(CHUNK, left))
                    if not chunk:
                        raise StoreError(f"layer is truncated inside {m.name!r}")
                    os.write(fd, chunk)
                    left -= len(chunk)
                self.size += m.size
            finally:
                os.close(fd)
        elif m.issym():
            os.symlink(m.linkname, path)
        elif m.islnk():
            tparts = _clean_name(m.linkname, "hard link target")
            if not tparts:
                raise UnsafeLayer(f"hard link {m.name!r} points at the layer root")
            tparent = self.parent(tparts[:-1], m.linkname)
            target = tparent + "/" + tparts[-1]
            if not os.path.lexists(target):
                raise UnsafeLayer(f"hard link {m.name!r} points at {m.linkname!r}, which is "
                                  "not in this layer")
            os.link(target, path, follow_symlinks=False)
            return      # a link shares its target's metadata
        elif m.ischr() or m.isblk():
            self._mknod(path, stat.S_IFCHR if m.ischr() else stat.S_IFBLK,
                        os.makedev(m.devmajor, m.devminor), m.name)
        elif m.isfifo():
            os.mkfifo(path, 0o600)
        else:
            return
        self._meta(path, m, is_link=m.issym())

    def _mknod(self, path, kind, dev, name):
        try:
            os.mknod(path, kind | 0o000, dev)
        except PermissionError:
            raise StoreError(f"cannot create device node for {name!r}: permission denied",
                             hint="unpacking layers with whiteouts or devices needs root")

    def _setxattr(self, path, key, value, name):
        try:
            os.setxattr(path, key, value, follow_symlinks=False)
        except PermissionError:
            if key.startswith("trusted.") or key.startswith("security."):
                raise StoreError(f"cannot set {key} on {name!r}: permission denied",
                                 hint="unpacking this layer needs root")
            raise
        except OSError as e:
            raise StoreError(f"cannot set xattr {key} on {name!r}: {e.strerror}")

    def _meta(self, path, m, is_link=False):
        if self.root:
            try:
                os.lchown(path, m.uid, m.gid)
            except OSError as e:
                raise StoreError(f"cannot chown {m.name!r} to {m.uid}:{m.gid}: {e.strerror}")
        if not is_link:
            os.chmod(path, m.mode & 0o7777)
        for k, v in m.pax_headers.items():
            if k.startswith("SCHILY.xattr."):
                key = k[len("SCHILY.xattr."):]
                if key.startswith("trusted.overlay."):
                    continue        # a layer must not plant overlay metadata
                raw = v.encode("utf-8", "surrogateescape") if isinstance(v, str) else v
                self._setxattr(path, key, raw, m.name)
        mtime = int(m.mtime * 1e9)
        atime = m.pax_headers.get("atime")
        atime = int(float(atime) * 1e9) if atime else mtime
        try:
            os.utime(path, ns=(atime, mtime), follow_symlinks=False)
        except OSError:
            pass

    def finish(self):
        for path, m in reversed(self.dir_meta):
            self._meta(path, m)


def unpack(f, dest, root=None):
    """Unpack the blob read from binary file f into dest (an empty dir).
    Returns UnpackResult(diff_id, size, entries)."""
    if root is None:
        root = os.geteuid() == 0
    reader = _Hashing(_Prefetch(open_uncompressed(f)))
    u = _Unpacker(dest, root)
    try:
        try:
            tar = tarfile.open(fileobj=reader, mode="r|", bufsize=CHUNK)
        except tarfile.ReadError as e:
            raise StoreError(f"layer is not a tar archive: {e}")
        try:
            for m in tar:
                u.entry(tar, m)
        except tarfile.TarError as e:
            raise StoreError(f"layer tar is damaged: {e}")
        u.finish()
        diff_id = reader.drain()
    finally:
        reader.inner.close()
    return UnpackResult(diff_id, u.size, u.entries)
