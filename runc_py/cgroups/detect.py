"""Cgroup layout detection from a mountinfo file.

Reads /proc/self/mountinfo (a parameter) and reports which hierarchies are
mounted under the cgroup root (a parameter, default /sys/fs/cgroup):

  v1      only `cgroup` (v1) mounts, one per controller or controller group
  v2      a single `cgroup2` mount at the root ("unified" mode)
  hybrid  v1 controller mounts plus a `cgroup2` mount (usually
          <root>/unified) holding whichever controllers no v1 hierarchy took

Pure apart from reading the mountinfo file and the v2 root's
cgroup.controllers; unit tests point both at a temporary fake tree."""
import os
from .errors import CgroupError

__all__ = ["Layout", "detect", "parse_mountinfo"]

DEFAULT_ROOT = "/sys/fs/cgroup"
DEFAULT_MOUNTINFO = "/proc/self/mountinfo"


class Layout:
    """mode "v1" / "v2" / "hybrid"; root: the cgroup root directory; v1:
    {subsystem: mount point}; v2: the cgroup2 mount point or None;
    v2_controllers: what the v2 root's cgroup.controllers offers."""
    __slots__ = ("mode", "root", "v1", "v2", "v2_controllers")

    def __init__(self, mode, root, v1=None, v2=None, v2_controllers=()):
        self.mode, self.root, self.v1 = mode, root, dict(v1 or {})
        self.v2, self.v2_controllers = v2, tuple(v2_controllers)

    def __eq__(self, other):
        return isinstance(other, Layout) and self.to_dict() == other.to_dict()

    def __repr__(self):
        return f"Layout({self.to_dict()!r})"

    def v1_hierarchies(self):
        """Distinct v1 mount points, each with the subsystems it holds."""
        out = {}
        for subsys, mnt in sorted(self.v1.items()):
            out.setdefault(mnt, []).append(subsys)
        return out

    def where(self, v1_name, v2_name=None):
        """Which version serves a controller here: "v1", "v2" or None."""
        if v1_name in self.v1:
            return "v1"
        if self.v2 is not None and (v2_name or v1_name) in self.v2_controllers:
            return "v2"
        return None

    def to_dict(self):
        return {"mode": self.mode, "root": self.root, "v1": dict(self.v1), "v2": self.v2,
                "v2_controllers": list(self.v2_controllers)}

    @classmethod
    def from_dict(cls, d):
        return cls(d["mode"], d["root"], dict(d.get("v1") or {}), d.get("v2"),
                   tuple(d.get("v2_controllers") or ()))


def _unescape(s):
    # mountinfo escapes space, tab, newline and backslash as \ooo octal
    if "\\" not in s:
        return s
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 3 < len(s) and s[i + 1:i + 4].isdigit():
            out.append(chr(int(s[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text):
    """Yield (mount_point, fstype, super_options) for each mountinfo line."""
    for line in text.splitlines():
        if not line.strip():
            continue
        pre, sep, post = line.partition(" - ")
        if not sep:
            continue
        pre_f, post_f = pre.split(), post.split()
        if len(pre_f) < 5 or len(post_f) < 2:
            continue
        super_opts = post_f[2] if len(post_f) > 2 else ""
        yield _unescape(pre_f[4]), post_f[0], super_opts


def _under(path, root):
    return path == root or path.startswith(root.rstrip("/") + "/")


def detect(root=DEFAULT_ROOT, mountinfo=DEFAULT_MOUNTINFO):
    """Detect the layout of cgroup mounts under `root`."""
    root = os.path.normpath(root)
    try:
        with open(mountinfo) as f:
            text = f.read()
    except OSError as e:
        raise CgroupError.from_oserror(e, None, "read", mountinfo,
                                       hint="cgroup detection needs /proc mounted") from None
    v1, v2 = {}, None
    for mnt, fstype, opts in parse_mountinfo(text):
        mnt = os.path.normpath(mnt)
        if not _under(mnt, root):
            continue
        if fstype == "cgroup2":
            # the one at the root wins over a nested one
            if v2 is None or len(mnt) < len(v2):
                v2 = mnt
        elif fstype == "cgroup":
            for opt in opts.split(","):
                if opt in ("rw", "ro") or opt.startswith(("release_agent=", "clone_children",
                                                           "noprefix", "xattr", "cpuset_v2_mode",
                                                           "favordynmods", "nofavordynmods")):
                    continue
                v1.setdefault(opt, mnt)
    if v2 is None and not v1:
        raise CgroupError(None, f"no cgroup filesystem is mounted under {root} "
                                f"(according to {mountinfo})", file=root,
                          hint="mount cgroup2 on /sys/fs/cgroup")
    controllers = ()
    if v2 is not None:
        try:
            with open(os.path.join(v2, "cgroup.controllers")) as f:
                controllers = tuple(f.read().split())
        except OSError:
            controllers = ()
    if v2 is not None and not v1:
        mode = "v2"
    elif v2 is None:
        mode = "v1"
    else:
        mode = "hybrid"
    return Layout(mode, root, v1, v2, controllers)
