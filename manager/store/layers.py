"""Unpacked layers: DATA_ROOT/layers/<chain-id hex>/{diff/, layer.json}.

Each layer is unpacked once, keyed by its chain ID (OCI image-spec:
ChainID(L0) = DiffID(L0), ChainID(Ln) = sha256(ChainID(Ln-1) + " " +
DiffID(Ln))), into a temp dir that is renamed into place only after the
DiffID checked out, under a per-layer lock.  diff/ holds just that layer's
changes, overlayfs-style (whiteouts as 0/0 char devices, opaque dirs
marked with trusted.overlay.opaque=y), so a stack of them is an overlay
lowerdir list.  When overlayfs cannot be used, apply_layers() copies a
stack into one plain directory (the vfs fallback).
"""
import hashlib
import os
import shutil
import stat
from pathlib import Path

from ..errors import StoreError
from .atomic import FileLock, read_json, write_json
OPAQUE_XATTR = "trusted.overlay.opaque"  # as in unpack.py

__all__ = ["LayerStore", "chain_ids", "apply_layers", "overlay_supported"]


def chain_ids(diff_ids):
    out = []
    for d in diff_ids:
        if not out:
            out.append(d)
        else:
            out.append("sha256:" + hashlib.sha256(f"{out[-1]} {d}".encode()).hexdigest())
    return out


def _hex(digest):
    return digest.split(":", 1)[1]


class LayerStore:
    def __init__(self, data_root):
        self.root = Path(data_root) / "layers"

    def dir(self, chain_id):
        return self.root / _hex(chain_id)

    def diff_dir(self, chain_id):
        return self.dir(chain_id) / "diff"

    def has(self, chain_id):
        return (self.dir(chain_id) / "layer.json").exists()

    def meta(self, chain_id):
        return read_json(self.dir(chain_id) / "layer.json") or {}

    def all(self):
        if not self.root.exists():
            return []
        return ["sha256:" + p.name for p in self.root.iterdir()
                if not p.name.startswith(".") and (p / "layer.json").exists()]

    def create(self, chain_id, diff_id, parent, blob_path, blob_digest=None):
        """Unpack blob_path as the layer chain_id unless it already exists.
        Returns the layer's metadata."""
        with FileLock(self.root / ".locks" / (_hex(chain_id) + ".lock")):
            if self.has(chain_id):
                return self.meta(chain_id)
            tmp = self.root / f".tmp-{_hex(chain_id)[:16]}-{os.getpid()}"
            if tmp.exists():
                _rmtree(tmp)
            (tmp / "diff").mkdir(parents=True)
            try:
                with open(blob_path, "rb") as f:
                    from .unpack import unpack  # tarfile etc. only when unpacking
                    result = unpack(f, tmp / "diff")
                if result.diff_id != diff_id:
                    raise StoreError(f"layer {blob_digest or blob_path} unpacks to "
                                     f"{result.diff_id}, but the image config says "
                                     f"{diff_id}; rejected")
                meta = {"chain_id": chain_id, "diff_id": diff_id, "parent": parent,
                        "blob": blob_digest, "size": result.size}
                write_json(tmp / "layer.json", meta)
                os.rename(tmp, self.dir(chain_id))
            except BaseException:
                _rmtree(tmp)
                raise
            try:        # waiters re-check has() after taking the lock
                (self.root / ".locks" / (_hex(chain_id) + ".lock")).unlink()
            except FileNotFoundError:
                pass
            return meta

    def remove(self, chain_id):
        with FileLock(self.root / ".locks" / (_hex(chain_id) + ".lock")):
            d = self.dir(chain_id)
            if d.exists():
                gone = self.root / f".del-{_hex(chain_id)[:16]}-{os.getpid()}"
                os.rename(d, gone)
                _rmtree(gone)
        try:
            (self.root / ".locks" / (_hex(chain_id) + ".lock")).unlink()
        except FileNotFoundError:
            pass

    def cleanup_temp(self):
        """Remove leftovers of unpacks that were killed halfway."""
        if not self.root.exists():
            return
        for p in self.root.iterdir():
            if p.name.startswith((".tmp-", ".del-")):
                pid = p.name.rsplit("-", 1)[-1]
                if pid.isdigit() and _alive(int(pid)):
                    continue
                _rmtree(p)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _rmtree(path):
    def onerror(func, p, exc):
        try:
            os.chmod(os.path.dirname(p), 0o700)
            func(p)
        except OSError:
            pass
    shutil.rmtree(path, onerror=onerror)


def _is_whiteout(st):
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def apply_layers(layer_dirs, dest):
    """vfs fallback: copy the layers (bottom-most first) into dest, carrying
    out whiteouts and opaque dirs instead of copying them."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for layer in layer_dirs:
        _apply_one(Path(layer), dest)
    return dest


def _apply_one(src, dst):
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        target_dir = dst if rel == "." else dst / rel
        try:
            opaque = os.getxattr(dirpath, OPAQUE_XATTR, follow_symlinks=False) == b"y"
        except OSError:
            opaque = False
        if rel != ".":
            if os.path.lexists(target_dir) and not os.path.isdir(target_dir) \
                    or os.path.islink(target_dir):
                os.unlink(target_dir)
            if not os.path.exists(target_dir):
                os.mkdir(target_dir)
            shutil.copystat(dirpath, target_dir, follow_symlinks=False)
            st = os.lstat(dirpath)
            os.lchown(target_dir, st.st_uid, st.st_gid)
        if opaque:
            for name in os.listdir(target_dir):
                _remove(target_dir / name)
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            s = os.path.join(dirpath, name)
            t = target_dir / name
            st = os.lstat(s)
            if os.path.lexists(t) and not (os.path.isdir(t) and not os.path.islink(t)
                                           and stat.S_ISDIR(st.st_mode)):
                _remove(t)
            if _is_whiteout(st):
                continue
            if stat.S_ISLNK(st.st_mode):
                os.symlink(os.readlink(s), t)
            elif stat.S_ISREG(st.st_mode):
                shutil.copy2(s, t, follow_symlinks=False)
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) or stat.S_ISFIFO(st.st_mode):
                os.mknod(t, st.st_mode, st.st_rdev)
            else:
                continue
            os.lchown(t, st.st_uid, st.st_gid)
            if not stat.S_ISLNK(st.st_mode):
                os.chmod(t, stat.S_IMODE(st.st_mode))
            os.utime(t, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def _remove(p):
    if os.path.isdir(p) and not os.path.islink(p):
        shutil.rmtree(p)
    elif os.path.lexists(p):
        os.unlink(p)


def overlay_supported(data_root):
    """True when an overlay mount works on data_root's filesystem (needs root)."""
    import subprocess
    import tempfile
    base = Path(data_root)
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".overlay-check-", dir=base) as t:
        for d in ("l1", "l2", "u", "w", "m"):
            os.mkdir(os.path.join(t, d))
        opts = f"lowerdir={t}/l2:{t}/l1,upperdir={t}/u,workdir={t}/w"
        r = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts, f"{t}/m"],
                           capture_output=True)
        if r.returncode != 0:
            return False
        subprocess.run(["umount", f"{t}/m"], capture_output=True)
        return True
