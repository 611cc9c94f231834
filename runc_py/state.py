"""Container state on disk: <root>/<id>/state.json (+ exec.fifo while the
container is `created`, + config.json: the config as it was at create time).

Writes go to a temp file renamed into place.  The status is never trusted
from the file alone: it is derived from the kernel (is the init pid alive,
with the same start time, not a zombie?), the exec fifo, and the freezer,
so a reused pid or a crashed runtime is never mistaken for a live
container.  Legal transitions are checked in `require()`."""
import fcntl
import time

from . import fastjson as json
from . import lite
from .errors import NotFoundError, StateError, UsageError

SECCOMP_CACHE = ".seccomp-cache"  # compiled profiles, under the runtime root (seccomp.py)

_ID_PUNCT = set("_+-.")
STATE_FILE = "state.json"
FIFO = "exec.fifo"
# a symlink to the cgroup v2 directory an early create makes, from just
# before its mkdir until the state file records the cgroup (process/early.py,
# lifecycle._destroy)
CGROUP_CRUMB = ".cgroup"


def validate_id(cid):
    if not cid:
        raise UsageError("container id cannot be empty")
    if (not all((ch.isascii() and ch.isalnum()) or ch in _ID_PUNCT for ch in cid)
            or cid in (".", "..")
            or len(cid) > 1024):
        raise UsageError(f"invalid container id {cid!r}: use letters, digits, '_', '+', '-' "
                         f"and '.'")
    if cid.startswith("."):
        raise UsageError(f"invalid container id {cid!r}: ids starting with '.' are reserved "
                         f"for the runtime's own files under --root")


def proc_stat(pid, proc="/proc"):
    """-> (state letter, start time in clock ticks) or None if no such pid."""
    try:
        with open(f"{proc}/{pid}/stat", "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return None
    rest = data[data.rindex(b")") + 2:].split()
    return rest[0].decode(), int(rest[19])


def pid_alive(pid, start_time=None, proc="/proc"):
    if not pid or pid <= 0:
        return False
    st = proc_stat(pid, proc)
    if st is None or st[0] in ("Z", "X"):
        return False
    if start_time is not None and st[1] != start_time:
        return False
    return True


class Container:
    """A handle on one container's state directory."""

    def __init__(self, root, cid):
        self.root = root
        self.id = cid
        self.dir = lite.join(root, cid)
        self.data = None
        self._lock_fd = None

    # -- files ------------------------------------------------------------
    @property
    def fifo_path(self):
        return lite.join(self.dir, FIFO)

    def exists(self):
        return lite.isdir(self.dir)

    def load(self):
        try:
            with open(lite.join(self.dir, STATE_FILE)) as f:
                self.data = json.load(f)
        except FileNotFoundError:
            if not self.exists():
                raise NotFoundError(f"container {self.id!r} does not exist")
            # directory without state: a create that died before writing it
            self.data = {"ociVersion": "1.2.0", "id": self.id, "status": "creating",
                         "pid": 0, "bundle": "", "_runtime": {}}
        except ValueError:
            raise StateError(f"container {self.id!r}: state file is corrupt")
        return self

    def claim(self):
        """Make the state directory: the container id is now this create's
        (StateError if another container has it)."""
        lite.makedirs(self.root, mode=0o711, exist_ok=True)
        try:
            lite.mkdir(self.dir, 0o711)
        except FileExistsError:
            raise StateError(f"container with id {self.id!r} already exists") from None
        return self

    def save(self):
        tmp = lite.join(self.dir, f".{STATE_FILE}.{lite.getpid()}")
        with open(tmp, "w") as f:
            json.dump(self.data, f)
        lite.replace(tmp, lite.join(self.dir, STATE_FILE))

    def lock(self):
        fd = lite.open(self.dir, lite.O_RDONLY | lite.O_DIRECTORY | lite.O_CLOEXEC)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._lock_fd = fd
        return self

    def unlock(self):
        if self._lock_fd is not None:
            lite.close(self._lock_fd)
            self._lock_fd = None

    def remove(self):
        """The state dir is flat (state.json, config.json, exec.fifo, temp
        files), so no shutil (and its imports) on every delete."""
        try:
            names = lite.listdir(self.dir)
        except FileNotFoundError:
            return
        for n in names:
            p = lite.join(self.dir, n)
            try:
                if lite.isdir(p) and not lite.islink(p):
                    import shutil
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    lite.unlink(p)
            except FileNotFoundError:
                pass
        try:
            lite.rmdir(self.dir)
        except FileNotFoundError:
            pass

    # -- derived status ---------------------------------------------------
    @property
    def priv(self):
        return self.data.setdefault("_runtime", {})

    @property
    def pid(self):
        return self.data.get("pid") or 0

    def status(self):
        d = self.data
        if d.get("status") == "creating":
            creator = self.priv.get("creator_pid")
            if creator and pid_alive(creator, self.priv.get("creator_start")):
                return "creating"
            return "stopped"
        if not pid_alive(self.pid, self.priv.get("pid_start")):
            return "stopped"
        if lite.exists(self.fifo_path):
            return "created"
        if self.priv.get("paused") and self._frozen():
            return "paused"
        return "running"

    def _frozen(self):
        cg = self.priv.get("cgroup")
        if not cg:
            return False
        try:
            from .cgroups import Cgroup
            return Cgroup.from_dict(cg).freezer_state() == "FROZEN"
        except Exception:
            return False

    def oci_state(self):
        """The OCI state JSON (runtime.md#state) plus runc's extra fields."""
        status = self.status()
        d = self.data
        out = {"ociVersion": d.get("ociVersion", "1.2.0"), "id": self.id, "status": status,
               "pid": self.pid if status in ("created", "running", "paused") else 0,
               "bundle": d.get("bundle", "")}
        if d.get("annotations"):
            out["annotations"] = d["annotations"]
        p = self.priv
        out["rootfs"] = p.get("rootfs", "")
        out["created"] = p.get("created", "")
        out["owner"] = ""
        return out

    def require(self, op, *allowed):
        st = self.status()
        if st not in allowed:
            raise StateError(f"cannot {op} container {self.id!r}: container is {st}"
                             + (f" (must be {' or '.join(allowed)})" if allowed else ""))
        return st


def list_containers(root):
    try:
        names = sorted(lite.listdir(root))
    except FileNotFoundError:
        return []
    out = []
    for n in names:
        if n.startswith(".") or not lite.isdir(lite.join(root, n)):
            continue
        try:
            out.append(Container(root, n).load())
        except (NotFoundError, StateError):
            continue
    return out


def now_rfc3339():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e9):09d}Z"
