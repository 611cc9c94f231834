"""Placing a container's init in its cgroups without cgroup.procs writes
(process/early.py): forked straight into its cgroup v2 directory
(clone3 CLONE_INTO_CGROUP, native/pyfork.c), joining the v1 hierarchies
itself through their `tasks` files; and the fallbacks when that cannot be."""
import json
import os
import shutil
import subprocess
import time

import pytest

from runc_py.process import early as E
from runc_py.syscalls import linux as L

from .helpers import cgroup2_mount, unique

pytestmark = pytest.mark.requires("root")


def _v2_dir():
    mnt = cgroup2_mount()
    if mnt is None:
        pytest.skip("needs a cgroup2 mount under /sys/fs/cgroup")
    d = os.path.join(mnt, unique("clone"))
    os.mkdir(d)
    return mnt, d


def _rmdir_when_empty(d):
    for _ in range(200):
        try:
            os.rmdir(d)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.01)
    os.rmdir(d)


def test_fork_into_cgroup_starts_the_child_there():
    mnt, d = _v2_dir()
    r, w = os.pipe()
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        pid = L.fork_into_cgroup(fd)
        if pid == 0:
            # a normal interpreter: imports, allocations, JSON, its own pid
            import json as j
            line = [x for x in open("/proc/self/cgroup").read().splitlines()
                    if x.startswith("0::")][0]
            os.write(w, j.dumps({"cgroup": line, "pid": os.getpid()}).encode())
            os._exit(7)
        os.close(w)
        got = json.loads(os.read(r, 4096))
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
        os.close(r)
        _rmdir_when_empty(d)
    assert os.WEXITSTATUS(status) == 7
    assert got["pid"] == pid
    assert got["cgroup"] == "0::/" + os.path.relpath(d, mnt)


def test_fork_into_a_non_cgroup_directory_fails_and_forks_nothing(tmp_path):
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        with pytest.raises(OSError) as e:
            L.fork_into_cgroup(fd)
    finally:
        os.close(fd)
    assert "clone3" in str(e.value.syscall)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def _doc(rootfs):
    return {"ociVersion": "1.2.0", "root": {"path": rootfs},
            "process": {"args": ["true"], "cwd": "/"}, "linux": {"namespaces": []}}


def test_early_fork_falls_back_to_a_plain_fork(tmp_path):
    """An fd clone3 refuses (not a cgroup2 directory): B is forked the usual
    way and A knows it must place it (in_v2 False)."""
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    start = E.CgroupStart(None, "/x", [], fd)
    try:
        pre = E.fork(_doc(str(tmp_path)), str(tmp_path), False, [],
                     dict(cid="x", state_dir=str(tmp_path), preserve_fds=0,
                          no_new_keyring=True, stdio=None, seccomp_cache=None), start)
    finally:
        start.close()
    assert pre is not None and pre.pid > 0 and not pre.in_v2
    pre.abort()   # B only prepared: killing it is all
    with pytest.raises(ChildProcessError):
        os.waitpid(pre.pid, os.WNOHANG)


def test_cgroup_start_leaves_an_existing_cgroup_alone():
    """The v2 directory must be new: an existing one may be another
    container's, and a new init must never start in it."""
    mnt, d = _v2_dir()
    try:
        rel = "/" + os.path.relpath(d, mnt)
        assert E.cgroup_start("x", {"linux": {"cgroupsPath": rel}}, False) is None
        assert os.path.isdir(d)
    finally:
        os.rmdir(d)


def test_cgroup_start_makes_and_removes_the_directory():
    mnt = cgroup2_mount()
    if mnt is None:
        pytest.skip("needs a cgroup2 mount under /sys/fs/cgroup")
    name = unique("start")
    start = E.cgroup_start("x", {"linux": {"cgroupsPath": f"/{name}/leaf"}}, False)
    assert start is not None and start.fd is not None
    assert start.created == [os.path.join(mnt, name), os.path.join(mnt, name, "leaf")]
    start.remove()
    assert not os.path.exists(os.path.join(mnt, name))


@pytest.mark.requires("busybox")
def test_container_with_a_busy_cgroup_path_is_refused(tmp_path):
    """create with the cgroupsPath of a cgroup that has a process: refused,
    naming the field, and no process of the container ever entered it.
    runc-py's own rule (runc joins a busy cgroup): always runc-py, whatever
    RUNTIME the conformance run uses."""
    runtime = os.environ.get("RUNTIME") or "runc-py"
    if os.path.basename(runtime) != "runc-py":
        runtime = ("/usr/local/bin/runc-py" if os.access("/usr/local/bin/runc-py", os.X_OK)
                   else shutil.which("runc-py"))
    from tools.busybox_rootfs import make_rootfs
    from runc_py.spec.default import default_spec
    mnt = cgroup2_mount()
    name = unique("busy")
    busy = subprocess.Popen(["sleep", "30"])
    dirs = []
    try:
        from runc_py.cgroups import Cgroup
        cg = Cgroup.for_container("x", "/" + name)
        cg.create()
        cg.add_pid(busy.pid)
        dirs = [d for d in cg.paths.values()]
        make_rootfs(str(tmp_path / "rootfs"))
        cfg = default_spec()
        cfg["process"]["terminal"] = False
        cfg["process"]["args"] = ["true"]
        cfg["linux"]["cgroupsPath"] = "/" + name
        (tmp_path / "config.json").write_text(json.dumps(cfg))
        root = tmp_path / "state"
        r = subprocess.run([runtime, "--root", str(root), "create", "-b", str(tmp_path),
                            unique("c")], capture_output=True, text=True, timeout=60)
        assert r.returncode != 0
        assert "linux.cgroupsPath" in r.stderr and "has processes" in r.stderr, r.stderr
        for d in dirs:
            with open(os.path.join(d, "cgroup.procs")) as f:
                assert f.read().split() == [str(busy.pid)], d
        if mnt:
            assert os.listdir(root) in ([], [".seccomp-cache"])
    finally:
        busy.kill()
        busy.wait()
        if dirs:
            cg.destroy()


def test_fork_into_cgroup_refuses_while_threads_run():
    """clone3 runs no pthread_atfork handlers: with another thread alive it
    refuses (EBUSY) and forks nothing; callers fall back to os.fork."""
    import errno
    import threading
    mnt, d = _v2_dir()
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        with pytest.raises(OSError) as e:
            L.fork_into_cgroup(fd)
        assert e.value.errno == errno.EBUSY
    finally:
        stop.set()
        t.join()
        os.close(fd)
        _rmdir_when_empty(d)


@pytest.mark.requires("busybox")
def test_container_in_an_existing_empty_cgroup_is_placed_the_usual_way(tmp_path):
    """An existing (empty) cgroup v2 directory is not cloned into (it might
    be another container's): the init is forked as usual and moved with
    cgroup.procs writes, and ends up in the container's cgroup everywhere."""
    runtime = os.environ.get("RUNTIME") or "runc-py"
    from tools.busybox_rootfs import make_rootfs
    from runc_py.cgroups import Cgroup
    from runc_py.spec.default import default_spec
    name = unique("empty")
    cg = Cgroup.for_container("x", "/" + name)
    cg.create()
    cid = unique("c")
    root = tmp_path / "state"
    try:
        make_rootfs(str(tmp_path / "rootfs"))
        cfg = default_spec()
        cfg["process"]["terminal"] = False
        cfg["process"]["args"] = ["sleep", "30"]
        cfg["linux"]["cgroupsPath"] = "/" + name
        (tmp_path / "config.json").write_text(json.dumps(cfg))
        # the detached container keeps its stdio: files, not pipes to wait on
        with open(tmp_path / "err", "w+") as err:
            r = subprocess.run([runtime, "--root", str(root), "run", "--detach", "-b",
                                str(tmp_path), cid], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=err, timeout=60)
            err.seek(0)
            assert r.returncode == 0, err.read()
        st = json.loads(subprocess.run([runtime, "--root", str(root), "state", cid],
                                       capture_output=True, text=True, check=True).stdout)
        with open(f"/proc/{st['pid']}/cgroup") as f:
            lines = f.read().splitlines()
        assert lines and all(line.endswith(":/" + name) for line in lines), lines
    finally:
        subprocess.run([runtime, "--root", str(root), "delete", "--force", cid],
                       capture_output=True, timeout=60)
        cg.destroy()


@pytest.mark.requires("busybox")
@pytest.mark.parametrize("verb", ["create", "run"])
def test_limits_the_kernel_refuses_leave_nothing(tmp_path, verb):
    """A value only the kernel refuses (a CPU that does not exist), met
    while the early-forked init is already preparing: the call fails naming
    the field, and leaves no process, cgroup, mount or state; with `run`
    the process never starts."""
    runtime = os.environ.get("RUNTIME") or "runc-py"
    from tools.busybox_rootfs import make_rootfs
    from runc_py.spec.default import default_spec
    name = unique("refused")
    make_rootfs(str(tmp_path / "rootfs"))
    cfg = default_spec()
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["sh", "-c", f"touch /tmp/{name}-ran"]
    cfg["linux"]["cgroupsPath"] = f"/{name}/c"
    cfg["linux"]["resources"]["cpu"] = {"cpus": "4000"}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    root = tmp_path / "state"
    cid = unique("c")
    r = subprocess.run([runtime, "--root", str(root), verb, "-b", str(tmp_path), cid],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    if os.path.basename(runtime) == "runc-py":
        assert "linux.resources.cpu.cpus" in r.stderr and "4000" in r.stderr, r.stderr
    left = []
    for top, dirs, _ in os.walk("/sys/fs/cgroup"):
        left += [os.path.join(top, d) for d in dirs if name in d]
        if top.count("/") > 5:
            dirs[:] = []
    ours = os.path.basename(runtime) == "runc-py"
    for d in sorted(left, reverse=True):
        if not ours and d.endswith(name):
            os.rmdir(d)   # runc removes the leaf only, not the parents it made
    # (an init still alive in them would have kept them)
    assert left == [] if ours else [d for d in left if not d.endswith(name)] == []
    assert not os.path.exists(tmp_path / "rootfs" / "tmp" / f"{name}-ran")
    with open("/proc/self/mountinfo") as f:
        assert str(tmp_path) not in f.read()
    assert not root.exists() or [e for e in os.listdir(root) if not e.startswith(".")] == []


def _runc_py():
    """This test is about runc-py's own crash safety: runc-py whatever
    RUNTIME the conformance run uses."""
    runtime = os.environ.get("RUNTIME") or "runc-py"
    if os.path.basename(runtime) != "runc-py":
        runtime = ("/usr/local/bin/runc-py" if os.access("/usr/local/bin/runc-py", os.X_OK)
                   else shutil.which("runc-py"))
    return runtime


def _left_behind(name, cid, bundle):
    left = []
    for top, dirs, _ in os.walk("/sys/fs/cgroup"):
        left += [os.path.join(top, d) for d in dirs if name in d]
        if top.count("/") > 5:
            dirs[:] = []
    for p in os.listdir("/proc"):
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                if cid.encode() in f.read():
                    left.append(f"process {p}")
        except (OSError, ValueError):
            pass
    with open("/proc/self/mountinfo") as f:
        if bundle in f.read():
            left.append("mounts")
    return left


# (syscall, which call of it): points in `create` where the runtime dies.
# symlink 1: the link to the cgroup it is about to make; mkdir 3: that
# cgroup (after the state dir and the parent); clone3 1: the init's fork;
# rename 1: the first state write; sendto 1: "valid"; mknodat 1: exec.fifo;
# rename 2: the state with the whole cgroup, after "go"
KILL_POINTS = [("symlink", 1), ("mkdir", 3), ("clone3", 1), ("rename", 1), ("sendto", 1),
               ("mknodat", 1), ("rename", 2)]


@pytest.mark.requires("busybox", "strace")
@pytest.mark.parametrize("syscall,when", KILL_POINTS)
def test_create_killed_leaves_what_delete_removes(tmp_path, syscall, when):
    """kill -9 of `create` at the named point (strace sends SIGKILL as that
    syscall starts): `delete --force` then leaves no cgroup, process, mount
    or state directory (the init, if forked, leaves by itself or is
    killed)."""
    runtime = _runc_py()
    from tools.busybox_rootfs import make_rootfs
    from runc_py.spec.default import default_spec
    name = unique("killed")
    make_rootfs(str(tmp_path / "rootfs"))
    cfg = default_spec()
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["true"]
    cfg["linux"]["cgroupsPath"] = f"/{name}/c"
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    root = tmp_path / "state"
    cid = unique("c")
    with open(tmp_path / "out", "w") as out:
        r = subprocess.run(["strace", "-o", "/dev/null", "-e", f"trace={syscall}",
                            "-e", f"inject={syscall}:signal=KILL:when={when}",
                            runtime, "--root", str(root), "create", "-b", str(tmp_path), cid],
                           stdin=subprocess.DEVNULL, stdout=out, stderr=out, timeout=60)
    assert r.returncode != 0, "not killed: the kill point is not on create's path"
    d = subprocess.run([runtime, "--root", str(root), "delete", "--force", cid],
                       capture_output=True, text=True, timeout=60)
    assert d.returncode == 0, d.stderr
    left = []
    for _ in range(50):   # an init that was forked leaves once the runtime is gone
        left = _left_behind(name, cid, str(tmp_path))
        if not [x for x in left if x.startswith("process")]:
            break
        time.sleep(0.02)
    parent = [x for x in left if x.endswith(name)]
    for p in parent:
        os.rmdir(p)   # the parent it made: the link covers the container's own only
    assert [x for x in left if x not in parent] == []
    assert not (root / cid).exists()

