"""Helpers for the OCI runtime conformance suite (tests/integration/runtime).

The suite drives ANY runc-compatible command (`runc`, `runc-py`, ...) only
through its command line, the way containerd and podman do:

* `selected_runtime()` reads env RUNTIME (a command or path; default
  `runc-py` on PATH) and says why the suite must be skipped when none is found.
* `Bundle` is one OCI bundle: a private copy of a busybox rootfs template
  (built once per session with tools/busybox_rootfs.make_rootfs) and a
  config.json that starts from runc_py.spec.default.default_spec() with
  `terminal: false`; tests tweak `bundle.config` and call `bundle.save()`.
* `Runtime` runs `<runtime> --root <tmp> <verb> ...` with a timeout and
  returns a `Result(rc, stdout, stderr)`.  Output goes through files, not
  pipes, so a detached container that inherits them never blocks the test.
  Every container id it was handed is force-deleted in `cleanup()`.
* `spec(ref, level, text)` cites the spec sentence a test checks (the
  scoreboard groups results by `ref`); `deviates(runtime, reason)` marks a
  known, deliberate difference of one runtime (turned into xfail for it).
* `host_mounts_under(path)` / `leftover_cgroups(id)` look for what a failed
  operation must not leave behind.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

import pytest

PROJECT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ID_PREFIX = "rpyconf-"
TMP_PREFIX = "rpyconf-"
DEFAULT_TIMEOUT = 15.0
SKIP_REASON = "runc-py not installed; set RUNTIME=runc to prove the suite"

# Spec areas the scoreboard reports on, in display order.
AREAS = (
    "runtime.md#state", "runtime.md#lifecycle", "runtime.md#operations",
    "runtime.md#errors", "config.md#root", "config.md#mounts", "config.md#process",
    "config.md#hostname", "config.md#annotations", "config.md#hooks",
    "config-linux.md#default-filesystems", "config-linux.md#namespaces",
    "config-linux.md#user-namespace-mappings",
    "config-linux.md#devices", "config-linux.md#sysctl", "config-linux.md#maskedPaths",
    "config-linux.md#readonlyPaths", "config-linux.md#rootfsPropagation",
    "runtime-linux.md#dev-symlinks", "differential:runc", "runc-cli#exec", "runc-cli#terminal",
    "config-linux.md#control-groups", "config-linux.md#seccomp", "config.md#capabilities",
    "runc-cli#run",
)
LEVELS = ("MUST", "SHOULD", "MAY", "DIFF")


# ---------------------------------------------------------------- markers


def spec(ref, level, text):
    """Cite the spec sentence a test checks: spec("runtime.md#create", "MUST", "...").

    `ref` is "<document>#<area>"; the part before any further "/" is the
    scoreboard area (e.g. "config.md#mounts/bind" counts under config.md#mounts)."""
    if level not in LEVELS:
        raise ValueError(f"spec level must be one of {LEVELS}, not {level!r}")
    area = ref.split("/", 1)[0]
    if area not in AREAS:
        raise ValueError(f"unknown spec area {area!r}; add it to AREAS")
    return pytest.mark.spec(ref=ref, area=area, level=level, text=text)


def deviates(runtime, reason):
    """A known deliberate difference of `runtime` (basename, e.g. "runc"): xfail there."""
    return pytest.mark.deviates(runtime=runtime, reason=reason)


# ---------------------------------------------------------------- runtime selection


def selected_runtime():
    """(absolute path or None, display name, skip reason or None) from env RUNTIME."""
    wanted = os.environ.get("RUNTIME") or "runc-py"
    path = shutil.which(wanted) if os.sep not in wanted else (
        wanted if os.access(wanted, os.X_OK) else None)
    if path is None:
        if os.environ.get("RUNTIME"):
            return None, wanted, f"RUNTIME={wanted} is not an executable command"
        return None, wanted, SKIP_REASON
    return os.path.abspath(path), os.path.basename(path), None


def reference_runc():
    """Debian's runc for differential tests, or None."""
    return shutil.which("runc")


# ---------------------------------------------------------------- rootfs + bundles


def build_rootfs_template(dest):
    """Build the busybox rootfs once; bundles copy it."""
    import sys
    if PROJECT not in sys.path:
        sys.path.insert(0, PROJECT)
    from tools.busybox_rootfs import make_rootfs
    make_rootfs(dest)
    return dest


def base_config(args=("true",)):
    """default_spec() with terminal false and the given process.args."""
    import sys
    if PROJECT not in sys.path:
        sys.path.insert(0, PROJECT)
    from runc_py.spec.default import default_spec
    cfg = default_spec()
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = list(args)
    return cfg


class Bundle:
    """An OCI bundle in `path`: rootfs/ copied from the template, config.json."""

    def __init__(self, path, template, args=("true",)):
        self.path = path
        self.rootfs = os.path.join(path, "rootfs")
        os.makedirs(path, exist_ok=True)
        os.chmod(path, 0o755)
        subprocess.run(["cp", "-a", template, self.rootfs], check=True)
        self.config = base_config(args)
        self.save()

    @property
    def config_path(self):
        return os.path.join(self.path, "config.json")

    def save(self):
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.config, f, indent=1)
        os.replace(tmp, self.config_path)
        return self

    def args(self, *argv):
        """Set process.args; a single string is run with `sh -c`."""
        if len(argv) == 1 and isinstance(argv[0], str) and " " in argv[0]:
            argv = ("sh", "-c", argv[0])
        self.config["process"]["args"] = list(argv)
        return self.save()

    def host_dir(self, name, mode=0o755):
        """A directory on the host, next to the rootfs (not inside it)."""
        d = os.path.join(self.path, name)
        os.makedirs(d, exist_ok=True)
        os.chmod(d, mode)
        return d

    def add_mount(self, destination, type_, source, options=None, index=None):
        m = {"destination": destination, "type": type_, "source": source}
        if options is not None:
            m["options"] = list(options)
        mounts = self.config.setdefault("mounts", [])
        mounts.insert(len(mounts) if index is None else index, m)
        return self.save()

    def share(self, name="shared", destination="/shared", mode=0o777):
        """Bind a fresh host dir read-write at `destination`; returns the host path."""
        d = self.host_dir(name, mode)
        # made here so a user-namespaced runtime need not mkdir in a root-owned rootfs
        os.makedirs(os.path.join(self.rootfs, destination.lstrip("/")), exist_ok=True)
        self.add_mount(destination, "bind", d, ["rbind", "rw"])
        return d

    def namespaces(self):
        return self.config["linux"]["namespaces"]

    def set_namespace(self, type_, path=None, present=True):
        ns = [n for n in self.namespaces() if n["type"] != type_]
        if present:
            entry = {"type": type_}
            if path:
                entry["path"] = path
            ns.append(entry)
        self.config["linux"]["namespaces"] = ns
        return self.save()

    def write_rootfs_file(self, rel, text, mode=0o644):
        p = os.path.join(self.rootfs, rel.lstrip("/"))
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
        return p


# ---------------------------------------------------------------- the runtime command


class Result:
    """Outcome of one runtime command."""

    def __init__(self, argv, rc, stdout, stderr, elapsed):
        self.argv, self.rc, self.stdout, self.stderr = argv, rc, stdout, stderr
        self.elapsed = elapsed

    def container_output(self):
        """Re-read stdout: a created container keeps writing to this file."""
        return _read(self.out_path)

    def __iter__(self):
        return iter((self.rc, self.stdout, self.stderr))

    @property
    def ok(self):
        return self.rc == 0

    def __repr__(self):
        return (f"Result(rc={self.rc}, argv={' '.join(self.argv)!r}, "
                f"stdout={self.stdout[-2000:]!r}, stderr={self.stderr[-2000:]!r})")


class Runtime:
    """`<cmd> --root <root> <verb> ...`, with timeouts and cleanup of what it made."""

    def __init__(self, cmd, root, workdir):
        self.cmd = cmd
        self.name = os.path.basename(cmd)
        self.root = root
        self.workdir = workdir          # where stdout/stderr files go
        self.ids = []                   # every id handed to create/run
        self._n = 0

    def new_id(self, tag="c"):
        return f"{ID_PREFIX}{tag}-{uuid.uuid4().hex[:8]}"

    def __call__(self, *args, timeout=DEFAULT_TIMEOUT, cwd=None, global_args=(), umask=-1,
                 preexec_fn=None):
        """Run one command; return Result.  Never raises on a non-zero exit."""
        self._n += 1
        out_path = os.path.join(self.workdir, f"cmd{self._n}.out")
        err_path = os.path.join(self.workdir, f"cmd{self._n}.err")
        argv = [self.cmd, "--root", self.root, *global_args, *map(str, args)]
        start = time.monotonic()
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    cwd=cwd or self.workdir, start_new_session=True,
                                    umask=umask, preexec_fn=preexec_fn)
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise AssertionError(f"{' '.join(argv)} did not finish in {timeout}s")
        elapsed = time.monotonic() - start
        res = Result(argv, rc, _read(out_path), _read(err_path), elapsed)
        res.out_path, res.err_path = out_path, err_path
        return res

    # verbs ------------------------------------------------------------
    def create(self, cid, bundle, *extra, **kw):
        self._track(cid)
        return self("create", "--bundle", _bpath(bundle), *extra, cid, **kw)

    def run(self, cid, bundle, *extra, **kw):
        self._track(cid)
        return self("run", "--bundle", _bpath(bundle), *extra, cid, **kw)

    def start(self, cid, **kw):
        return self("start", cid, **kw)

    def kill(self, cid, sig="KILL", *extra, **kw):
        return self("kill", *extra, cid, sig, **kw)

    def delete(self, cid, force=False, **kw):
        return self("delete", *(["--force"] if force else []), cid, **kw)

    def state(self, cid, **kw):
        """state as parsed JSON, or None if the command failed."""
        r = self("state", cid, **kw)
        if r.rc != 0:
            return None
        return json.loads(r.stdout)

    def list_ids(self):
        r = self("list", "--format", "json")
        assert r.rc == 0, r
        data = json.loads(r.stdout or "null") or []
        return [c["id"] for c in data]

    def wait_status(self, cid, status, timeout=5.0):
        """Poll state until status matches; returns the last state (or None)."""
        deadline = time.monotonic() + timeout
        st = None
        while time.monotonic() < deadline:
            st = self.state(cid)
            if st is not None and st.get("status") == status:
                return st
            time.sleep(0.02)
        return st

    def probe(self, bundle, script, expect_rc=0, **kw):
        """`run` the bundle with `sh -c script`; assert the exit code; return stdout."""
        bundle.config["process"]["args"] = ["sh", "-c", script]
        bundle.save()
        r = self.run(self.new_id("probe"), bundle, **kw)
        assert r.rc == expect_rc, r
        return r.stdout

    def _track(self, cid):
        if cid not in self.ids:
            self.ids.append(cid)

    def cleanup(self):
        """Force-delete every container this object created; return ids that resisted.

        A runtime keeps its containers' state under --root, so an empty --root
        means nothing is left and costs no runtime call."""
        if not self.root_entries():
            return []
        ours = [c for c in self.ids if c.startswith(ID_PREFIX)]
        r = self("list", "--format", "json")
        try:
            alive = {c["id"] for c in json.loads(r.stdout or "null") or []}
        except ValueError:
            alive = {c for c in ours if self.state(c) is not None}
        stubborn = []
        for cid in reversed(ours):
            if cid not in alive:
                continue
            self.delete(cid, force=True)
            if self.state(cid) is not None:
                stubborn.append(cid)
        return stubborn

    def root_entries(self):
        """Containers' entries under --root (a runtime keeps one per live
        container; dot-names are the runtime's own, such as runc-py's cache
        of compiled seccomp profiles)."""
        try:
            return sorted(n for n in os.listdir(self.root) if not n.startswith("."))
        except FileNotFoundError:
            return []


def _bpath(bundle):
    return bundle.path if isinstance(bundle, Bundle) else bundle


def _read(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


# ---------------------------------------------------------------- host-side checks


def mountinfo(pid="self"):
    """Parsed /proc/<pid>/mountinfo: list of dicts."""
    with open(f"/proc/{pid}/mountinfo") as f:
        return [parse_mountinfo_line(line) for line in f if line.strip()]


def parse_mountinfo_line(line):
    fields = line.split()
    sep = fields.index("-")
    return {
        "id": fields[0], "parent": fields[1], "root": _unescape(fields[3]),
        "mountpoint": _unescape(fields[4]), "options": fields[5].split(","),
        "optional": fields[6:sep], "fstype": fields[sep + 1], "source": fields[sep + 2],
        "super": fields[sep + 3].split(",") if len(fields) > sep + 3 else [],
    }


def parse_mountinfo(text):
    return [parse_mountinfo_line(line) for line in text.splitlines()
            if line.strip() and " - " in line]


def find_mount(text_or_list, mountpoint):
    """The topmost (last) mountinfo entry at `mountpoint`, or None."""
    entries = parse_mountinfo(text_or_list) if isinstance(text_or_list, str) else text_or_list
    hits = [m for m in entries if m["mountpoint"] == mountpoint]
    return hits[-1] if hits else None


def _unescape(s):
    return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n") \
            .replace("\\134", "\\")


def host_mounts_under(path):
    """Host mount points at or below `path` (nothing should be left after errors)."""
    path = os.path.realpath(path)
    return [m["mountpoint"] for m in mountinfo()
            if m["mountpoint"] == path or m["mountpoint"].startswith(path + "/")]


def leftover_cgroups(cid, base="/sys/fs/cgroup"):
    """Cgroup directories anywhere two levels under `base` named after `cid`."""
    found = []
    try:
        controllers = os.listdir(base)
    except OSError:
        return found
    for ctrl in controllers:
        top = os.path.join(base, ctrl)
        if not os.path.isdir(top):
            continue
        for dirpath, dirnames, _ in _walk_limited(top, 4):
            if cid in dirnames:
                found.append(os.path.join(dirpath, cid))
    return found


def _walk_limited(top, depth):
    for dirpath, dirnames, filenames in os.walk(top):
        if dirpath[len(top):].count(os.sep) >= depth:
            dirnames[:] = []
        yield dirpath, dirnames, filenames


def unmount_all_under(path):
    """Lazily unmount anything still mounted under `path` (deepest first)."""
    for mp in sorted(host_mounts_under(path), key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], capture_output=True)


def make_session_dir():
    d = tempfile.mkdtemp(prefix=TMP_PREFIX)
    os.chmod(d, 0o755)   # user-namespaced containers must traverse it
    return d


def wait_for_file(path, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return True
        time.sleep(0.02)
    return os.path.exists(path)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
