"""Devices: the default set every container gets, linux.devices entries with
their type/major/minor/mode/owner, the /dev symlinks, and /dev/console when
a terminal is asked for (received over --console-socket like containerd)."""
import array
import os
import select
import socket
import time

import pytest

from tests.support.runtime import deviates, spec

pytestmark = [pytest.mark.conformance, pytest.mark.requires("root", "busybox")]

DEFAULT_DEVICES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8),
                   "urandom": (1, 9), "tty": (5, 0)}


def stat_dev(rt, bundle, paths):
    """{path: (kind, major, minor, mode, uid, gid)} as seen inside (stat -L)."""
    script = "; ".join(f"stat -L -c '%n|%F|%t|%T|%a|%u|%g' {p}" for p in paths)
    out = rt.probe(bundle, script)
    res = {}
    for line in out.splitlines():
        n, kind, ma, mi, mode, uid, gid = line.split("|")
        res[n] = (kind, int(ma, 16), int(mi, 16), mode, int(uid), int(gid))
    return res


@spec("config-linux.md#devices/default", "MUST",
      "In addition to any devices configured with this setting, the runtime MUST also "
      "supply: /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom, /dev/tty")
def test_default_devices(rt, bundle):
    got = stat_dev(rt, bundle, [f"/dev/{n}" for n in DEFAULT_DEVICES])
    for name, (major, minor) in DEFAULT_DEVICES.items():
        kind, ma, mi, *_ = got[f"/dev/{name}"]
        assert kind == "character special file", (name, kind)
        assert (ma, mi) == (major, minor), name


@spec("config-linux.md#devices/default", "MUST",
      "the runtime MUST also supply /dev/null, /dev/zero, /dev/full, /dev/urandom "
      "(and they work)")
def test_default_devices_work(rt, bundle):
    out = rt.probe(bundle, "echo x > /dev/null && echo null-ok; "
                           "head -c 4 /dev/zero | od -An -tx1; "
                           "echo x > /dev/full 2>&1; echo full-rc=$?; "
                           "head -c 16 /dev/urandom | wc -c")
    lines = [l.strip() for l in out.splitlines()]
    assert lines[0] == "null-ok"
    assert lines[1].split() == ["00"] * 4
    assert "full-rc=1" in lines
    assert lines[-1] == "16"


@spec("config-linux.md#devices/default", "MUST",
      "/dev/ptmx. A bind-mount or symlink of the container's /dev/pts/ptmx.")
def test_ptmx(rt, bundle):
    out = rt.probe(bundle, "if [ -L /dev/ptmx ]; then echo link $(readlink /dev/ptmx); "
                           "else stat -c 'dev %t %T' /dev/ptmx; fi; "
                           "stat -c '%t %T %i' /dev/pts/ptmx; stat -L -c '%i' /dev/ptmx")
    first, pts, inode = out.splitlines()
    if first.startswith("link"):
        assert first.split()[1] in ("pts/ptmx", "/dev/pts/ptmx")
    else:
        assert first.split()[1:] == pts.split()[:2]
    assert inode == pts.split()[2], "/dev/ptmx is not the container's /dev/pts/ptmx"


@spec("runtime-linux.md#dev-symlinks", "MUST",
      "runtimes MUST create the following symlinks if the source file exists after "
      "processing mounts: /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr")
def test_dev_symlinks(rt, bundle):
    out = rt.probe(bundle, "for l in fd stdin stdout stderr; do echo $l $(readlink /dev/$l); "
                           "done; echo via-stdout > /dev/stdout")
    links = dict(line.split() for line in out.splitlines()[:4])
    assert links == {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
                     "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"}
    assert out.splitlines()[4] == "via-stdout"


@spec("config-linux.md#devices/linux.devices", "MUST",
      "devices (array of objects, OPTIONAL) lists devices that MUST be available in the "
      "container (type, major, minor, fileMode, uid, gid)")
@pytest.mark.parametrize("dtype,kind", [("c", "character special file"),
                                        ("b", "block special file"), ("p", "fifo")])
def test_custom_device(rt, bundle, dtype, kind):
    dev = {"type": dtype, "path": "/dev/rpyconf-dev", "fileMode": 0o640, "uid": 1000,
           "gid": 10}
    if dtype != "p":
        dev.update(major=1 if dtype == "c" else 7, minor=3 if dtype == "c" else 200)
    bundle.config["linux"]["devices"] = [dev]
    bundle.save()
    got = stat_dev(rt, bundle, ["/dev/rpyconf-dev"])["/dev/rpyconf-dev"]
    assert got[0] == kind
    if dtype != "p":
        assert got[1:3] == (dev["major"], dev["minor"])
    assert got[3:] == ("640", 1000, 10)


@spec("config-linux.md#devices/linux.devices", "MUST",
      "The path MAY be anywhere in the container filesystem, notably outside of /dev.")
def test_custom_device_outside_dev(rt, bundle):
    bundle.config["linux"]["devices"] = [{"type": "c", "path": "/opt/devs/mynull",
                                          "major": 1, "minor": 3, "fileMode": 0o666}]
    bundle.config["linux"]["resources"]["devices"].append(
        {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"})
    bundle.save()
    out = rt.probe(bundle, "stat -c '%F %t %T %a' /opt/devs/mynull; echo x > /opt/devs/mynull "
                           "&& echo writable")
    assert out.splitlines() == ["character special file 1 3 666", "writable"]


@spec("config-linux.md#devices/linux.devices", "MUST",
      "If a file already exists at path that does not match the requested device, the "
      "runtime MUST generate an error.")
@deviates("runc", "runc ignores EEXIST from mknod and leaves the regular file in place")
def test_custom_device_conflict(rt, bundle):
    bundle.write_rootfs_file("/opt/not-a-device", "regular file\n")
    bundle.config["linux"]["devices"] = [{"type": "c", "path": "/opt/not-a-device",
                                          "major": 1, "minor": 3}]
    bundle.save()
    bundle.args("true")
    cid = rt.new_id()
    r = rt.run(cid, bundle)
    assert r.rc != 0, r
    assert rt.state(cid) is None and rt.root_entries() == []


@spec("config-linux.md#devices/linux.devices", "MUST",
      "devices lists devices that MUST be available in the container. [...] fileMode - file "
      "mode for the device. uid - id of device owner [...] gid - id of device group")
@deviates("runc", "runc ignores EEXIST from mknod and leaves the node's mode and owner as "
                  "they were")
def test_custom_device_that_exists_gets_the_requested_mode_and_owner(rt, bundle):
    # linux.devices names a node the image already has (the same device): it
    # is kept, with the fileMode, uid and gid the config asks for
    node = os.path.join(bundle.rootfs, "opt/devs/mynull")
    os.makedirs(os.path.dirname(node))
    os.mknod(node, 0o600 | 0o020000, os.makedev(1, 3))
    bundle.config["linux"]["devices"] = [{"type": "c", "path": "/opt/devs/mynull", "major": 1,
                                          "minor": 3, "fileMode": 0o640, "uid": 5, "gid": 6}]
    bundle.save()
    got = stat_dev(rt, bundle, ["/opt/devs/mynull"])
    assert got["/opt/devs/mynull"] == ("character special file", 1, 3, "640", 5, 6)


def _recv_fd(conn):
    fds = array.array("i")
    msg, anc, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(fds.itemsize))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
    assert fds, "no fd received over the console socket"
    return fds[0]


@spec("config-linux.md#devices/default", "MUST",
      "/dev/console is set up if terminal is enabled in the config by bind mounting the "
      "pseudoterminal pty to /dev/console.")
def test_console_with_terminal(rt, bundle, workdir):
    sock_path = os.path.join(workdir, "console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(1)
    srv.settimeout(10)
    bundle.config["process"]["terminal"] = True
    bundle.args("stat -c '%t %T' /dev/console; stat -L -c '%t %T' /proc/self/fd/0; "
                "stat -L -c '%t %T' /proc/self/fd/1; echo done")
    cid = rt.new_id()
    try:
        r = rt.create(cid, bundle, "--console-socket", sock_path)
        assert r.rc == 0, r
        conn, _ = srv.accept()
        master = _recv_fd(conn)
        conn.close()
    finally:
        srv.close()
    try:
        assert rt.start(cid).rc == 0
        out = b""
        deadline = time.monotonic() + 5
        while b"done" not in out and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    out += os.read(master, 4096)
                except OSError:
                    break
    finally:
        os.close(master)
    lines = out.decode().replace("\r", "").splitlines()
    assert lines[-1] == "done", out
    console, stdin, stdout = lines[0], lines[1], lines[2]
    assert int(console.split()[0], 16) == 136, "/dev/console is not a pty slave"
    assert console == stdin == stdout
