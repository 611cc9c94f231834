"""Mount options and safe paths (pure; no syscalls).

`parse_options(options)` turns config.json mount options into mount(2)
flags, propagation flags and the data string, following the table in the
runtime spec's "Linux mount options".  `secure_join(root, path)` resolves a
path inside a rootfs the way the kernel would after chroot: symlinks are
followed but can never climb out of `root`."""
import os

from .syscalls import consts as L

# option -> (clear?, flag).  clear=True means the option removes the flag.
_FLAGS = {
    "async": (True, L.MS_SYNCHRONOUS),
    "atime": (True, L.MS_NOATIME),
    "bind": (False, L.MS_BIND),
    "defaults": (False, 0),
    "dev": (True, L.MS_NODEV),
    "diratime": (True, L.MS_NODIRATIME),
    "dirsync": (False, L.MS_DIRSYNC),
    "exec": (True, L.MS_NOEXEC),
    "iversion": (False, L.MS_I_VERSION),
    "lazytime": (False, L.MS_LAZYTIME),
    "loud": (True, L.MS_SILENT),
    "mand": (False, L.MS_MANDLOCK),
    "noatime": (False, L.MS_NOATIME),
    "nodev": (False, L.MS_NODEV),
    "nodiratime": (False, L.MS_NODIRATIME),
    "noexec": (False, L.MS_NOEXEC),
    "noiversion": (True, L.MS_I_VERSION),
    "nolazytime": (True, L.MS_LAZYTIME),
    "nomand": (True, L.MS_MANDLOCK),
    "norelatime": (True, L.MS_RELATIME),
    "nostrictatime": (True, L.MS_STRICTATIME),
    "nosuid": (False, L.MS_NOSUID),
    "nosymfollow": (False, L.MS_NOSYMFOLLOW),
    "rbind": (False, L.MS_BIND | L.MS_REC),
    "relatime": (False, L.MS_RELATIME),
    "remount": (False, L.MS_REMOUNT),
    "ro": (False, L.MS_RDONLY),
    "rw": (True, L.MS_RDONLY),
    "silent": (False, L.MS_SILENT),
    "strictatime": (False, L.MS_STRICTATIME),
    "suid": (True, L.MS_NOSUID),
    "sync": (False, L.MS_SYNCHRONOUS),
}

_PROPAGATION = {
    "private": L.MS_PRIVATE, "rprivate": L.MS_PRIVATE | L.MS_REC,
    "shared": L.MS_SHARED, "rshared": L.MS_SHARED | L.MS_REC,
    "slave": L.MS_SLAVE, "rslave": L.MS_SLAVE | L.MS_REC,
    "unbindable": L.MS_UNBINDABLE, "runbindable": L.MS_UNBINDABLE | L.MS_REC,
}

# Recursive mount attributes (mount_setattr(2)); we honour "rro" by
# mount_setattr and accept the others where the kernel can apply them.
_RECURSIVE = {"rro", "rrw", "rnosuid", "rsuid", "rnodev", "rdev", "rnoexec", "rexec",
              "rnodiratime", "rdiratime", "rrelatime", "rnorelatime", "rnoatime", "ratime",
              "rstrictatime", "rnostrictatime", "rnosymfollow", "rsymfollow"}

ROOTFS_PROPAGATION = dict(_PROPAGATION)


class MountOptions:
    __slots__ = ("flags", "propagation", "data", "recursive", "idmap")

    def __init__(self, flags=0, propagation=(), data="", recursive=(), idmap=False):
        self.flags, self.propagation, self.data = flags, propagation, data
        self.recursive, self.idmap = recursive, idmap

    @property
    def is_bind(self):
        return bool(self.flags & L.MS_BIND)


def parse_options(options, mount_type=None):
    """Options list -> MountOptions.  Unknown options go to the data string,
    as the kernel filesystem expects them (size=, mode=, gid=, ...)."""
    flags = 0
    prop = []
    data = []
    rec = []
    idmap = False
    for opt in options or ():
        if opt in _FLAGS:
            clear, flag = _FLAGS[opt]
            if clear:
                flags &= ~flag
            else:
                flags |= flag
        elif opt in _PROPAGATION:
            prop.append(_PROPAGATION[opt])
        elif opt in _RECURSIVE:
            rec.append(opt)
        elif opt in ("idmap", "ridmap"):
            idmap = True
        elif opt == "tmpcopyup":
            rec.append(opt)
        else:
            data.append(opt)
    if mount_type == "bind":
        flags |= L.MS_BIND
    return MountOptions(flags, tuple(prop), ",".join(data), tuple(rec), idmap)


def flag_names(flags):
    """Human names of mount flags, for plans and error messages."""
    names = []
    for name, value in (("MS_RDONLY", L.MS_RDONLY), ("MS_NOSUID", L.MS_NOSUID),
                        ("MS_NODEV", L.MS_NODEV), ("MS_NOEXEC", L.MS_NOEXEC),
                        ("MS_REMOUNT", L.MS_REMOUNT), ("MS_BIND", L.MS_BIND),
                        ("MS_MOVE", L.MS_MOVE), ("MS_REC", L.MS_REC),
                        ("MS_PRIVATE", L.MS_PRIVATE), ("MS_SLAVE", L.MS_SLAVE),
                        ("MS_SHARED", L.MS_SHARED), ("MS_UNBINDABLE", L.MS_UNBINDABLE),
                        ("MS_RELATIME", L.MS_RELATIME), ("MS_STRICTATIME", L.MS_STRICTATIME),
                        ("MS_NOATIME", L.MS_NOATIME), ("MS_SYNCHRONOUS", L.MS_SYNCHRONOUS),
                        ("MS_DIRSYNC", L.MS_DIRSYNC), ("MS_NODIRATIME", L.MS_NODIRATIME),
                        ("MS_NOSYMFOLLOW", L.MS_NOSYMFOLLOW)):
        if flags & value:
            names.append(name)
    return "|".join(names) or "0"


class EscapeError(ValueError):
    pass


def secure_join(root, unsafe, max_links=255):
    """Join `unsafe` onto `root`, resolving symlinks as if `root` were '/'.

    Every '..' and every symlink target (absolute or relative) is evaluated
    inside root, so the result can never name anything outside it.  Missing
    components are kept literally (they will be created under root)."""
    root = os.path.abspath(root)
    parts = [p for p in unsafe.split("/") if p not in ("", ".")]
    resolved = []  # components below root, already free of symlinks
    links = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(root, *resolved, part)
        try:
            st_is_link = os.path.islink(candidate)
        except OSError:
            st_is_link = False
        if st_is_link:
            links += 1
            if links > max_links:
                raise EscapeError(f"too many levels of symbolic links in {unsafe}")
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
            continue
        resolved.append(part)
    return os.path.join(root, *resolved) if resolved else root
