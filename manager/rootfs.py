"""A container's root filesystem: an overlayfs mount of the image's layers
plus a per-container upper dir, or (where overlay is unavailable) a plain
copy of the layers ("vfs").

`plan()` is pure: it computes lowerdir/upperdir/workdir and the mount data
string.  `mount()`/`unmount()` do the work (mount(2) through manager.libc,
no subprocess).  Stdlib only and light to import: `mydocker run` and the
monitor (which unmounts a container's rootfs when it removes it) use it.
"""
import os

from . import libc

__all__ = ["RootfsPlan", "plan", "mount", "unmount", "is_mounted", "vfs_copy"]

MNT_DETACH = libc.MNT_DETACH
PAGE_LIMIT = 4000   # the kernel copies at most one page of mount data


class RootfsPlan:
    """lower (topmost first, as overlayfs wants it), upper, work, merged.
    (A plain class, not a dataclass: `dataclasses` costs every run ~10 ms.)"""
    __slots__ = ("lower", "upper", "work", "merged")

    def __init__(self, lower, upper, work, merged):
        self.lower, self.upper, self.work, self.merged = tuple(lower), upper, work, merged

    def __eq__(self, other):
        return isinstance(other, RootfsPlan) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def _key(self):
        return (self.lower, self.upper, self.work, self.merged)

    def __repr__(self):
        return (f"RootfsPlan(lower={self.lower!r}, upper={self.upper!r}, work={self.work!r}, "
                f"merged={self.merged!r})")

    def data(self):
        return f"lowerdir={':'.join(self.lower)},upperdir={self.upper},workdir={self.work}"


def plan(layers, container_dir):
    """Image layers (bottom-most first) + the container's dir -> RootfsPlan."""
    d = str(container_dir)
    lower = tuple(str(p) for p in reversed(list(layers)))
    return RootfsPlan(lower=lower, upper=os.path.join(d, "diff"),
                      work=os.path.join(d, "work"), merged=os.path.join(d, "rootfs"))


def _unescape(field):
    return field.replace("\\040", " ") if "\\" in field else field


def is_mounted(path):
    path = os.path.realpath(path)
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split(" ", 5)
                if len(fields) > 4 and _unescape(fields[4]) == path:
                    return True
    except OSError:
        pass
    return False


def mount(p, layers_empty_dir=None):
    """Mount the overlay described by plan p (idempotent).  Returns "overlay".
    With no layers an empty dir stands in as the single lowerdir."""
    for d in (p.upper, p.work, p.merged):
        os.makedirs(d, exist_ok=True)
    if is_mounted(p.merged):
        return "overlay"
    if not p.lower:
        empty = layers_empty_dir or os.path.join(os.path.dirname(p.upper), "empty")
        os.makedirs(empty, exist_ok=True)
        p = RootfsPlan((empty,), p.upper, p.work, p.merged)
    data = p.data()
    if len(data) > PAGE_LIMIT:
        raise OSError(7, f"overlay mount data for {len(p.lower)} layers is longer than a page")
    libc.mount("overlay", p.merged, "overlay", 0, data)
    return "overlay"


def unmount(path):
    """Lazily unmount path if mounted; True if something was unmounted."""
    if not is_mounted(path):
        return False
    libc.umount2(str(path), MNT_DETACH)
    return True


def _is_whiteout(path, st):
    import stat
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def vfs_copy(layers, dest):
    """Copy layers (bottom-most first) into dest, applying whiteouts (both the
    image-spec `.wh.` files and overlay's 0/0 character devices)."""
    import shutil
    import stat
    os.makedirs(dest, exist_ok=True)
    for layer in layers:
        layer = str(layer)
        for root, dirs, files in os.walk(layer):
            rel = os.path.relpath(root, layer)
            target_dir = os.path.normpath(os.path.join(dest, rel))
            names = list(dirs) + list(files)
            if ".wh..wh..opq" in files:
                for existing in os.listdir(target_dir) if os.path.isdir(target_dir) else []:
                    _remove(os.path.join(target_dir, existing))
            for name in names:
                if name == ".wh..wh..opq":
                    continue
                src = os.path.join(root, name)
                st = os.lstat(src)
                if name.startswith(".wh."):
                    _remove(os.path.join(target_dir, name[4:]))
                    continue
                dst = os.path.join(target_dir, name)
                if _is_whiteout(src, st):
                    _remove(dst)
                    continue
                if stat.S_ISDIR(st.st_mode):
                    if os.path.lexists(dst) and not os.path.isdir(dst):
                        _remove(dst)
                    os.makedirs(dst, exist_ok=True)
                    shutil.copystat(src, dst, follow_symlinks=False)
                    _chown(src, dst, st)
                    continue
                if os.path.lexists(dst):
                    _remove(dst)
                if stat.S_ISLNK(st.st_mode):
                    os.symlink(os.readlink(src), dst)
                elif stat.S_ISREG(st.st_mode):
                    shutil.copy2(src, dst, follow_symlinks=False)
                else:
                    os.mknod(dst, st.st_mode, st.st_rdev)
                _chown(src, dst, st)
    return dest


def _chown(src, dst, st):
    try:
        os.lchown(dst, st.st_uid, st.st_gid)
    except OSError:
        pass


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        import shutil
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.unlink(path)
