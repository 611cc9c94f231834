"""Helpers for the cgroup integration tests: test-prefixed names, a forked
child that joins a cgroup and reports what it saw, and a cgroup2 directory
usable as a private v2 root on both hybrid and pure-v2 hosts."""
import json
import os
import secrets

PREFIX = "runcpy-test-"


def unique(what="cg"):
    return f"{PREFIX}{what}-{os.getpid()}-{secrets.token_hex(3)}"


def run_in(cg, fn, wait=True):
    """Fork a child, put it in `cg`, then let it run fn() and report fn's
    result (JSON) back.  Returns (result or None, wait status) when `wait`,
    else (pid, read_fd)."""
    go_r, go_w = os.pipe()
    res_r, res_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(go_w)
            os.close(res_r)
            os.read(go_r, 1)
            out = fn()
            os.write(res_w, json.dumps(out).encode() + b"\n")
            os._exit(0)
        except BaseException as e:     # noqa: BLE001 - report anything to the parent
            try:
                os.write(res_w, json.dumps({"child_error": repr(e)}).encode() + b"\n")
            finally:
                os._exit(1)
    os.close(go_r)
    os.close(res_w)
    try:
        cg.add_pid(pid)
    finally:
        os.write(go_w, b"x")
        os.close(go_w)
    if not wait:
        return pid, res_r
    data = b""
    while True:
        chunk = os.read(res_r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(res_r)
    _, status = os.waitpid(pid, 0)
    return (json.loads(data) if data.strip() else None), status


def read_line(fd):
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 1)
        if not chunk:
            break
        data += chunk
    return json.loads(data) if data.strip() else None


def cgroup2_mount(mountinfo="/proc/self/mountinfo"):
    """Where a cgroup2 filesystem is mounted (the root on pure v2 hosts,
    <root>/unified on hybrid ones), or None."""
    from runc_py.cgroups.detect import parse_mountinfo
    with open(mountinfo) as f:
        mounts = [m for m, fstype, _ in parse_mountinfo(f.read()) if fstype == "cgroup2"]
    mounts = [m for m in mounts if m.startswith("/sys/fs/cgroup")]
    return min(mounts, key=len) if mounts else None


def try_open(path, flags):
    try:
        os.close(os.open(path, flags))
        return "ok"
    except OSError as e:
        return os.strerror(e.errno)


def try_mknod(path, major, minor):
    import stat
    try:
        os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(major, minor))
        os.unlink(path)
        return "ok"
    except OSError as e:
        return os.strerror(e.errno)
