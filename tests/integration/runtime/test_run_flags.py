"""runc's run/create flags that callers pass: --no-pivot, --preserve-fds
(and no other fd leaking in), --no-subreaper, --keep, --no-new-keyring."""
import os
import subprocess

import pytest

from tests.support.runtime import spec

pytestmark = [pytest.mark.conformance, pytest.mark.requires("root", "busybox")]


@spec("runc-cli#run", "MUST", "run --no-pivot runs the container with its rootfs as / "
      "(MS_MOVE + chroot instead of pivot_root)")
def test_no_pivot(rt, bundle):
    bundle.args("cat /etc/passwd | head -1; ls /")
    r = rt.run(rt.new_id("np"), bundle, "--no-pivot")
    assert r.rc == 0, r
    lines = r.stdout.split()
    assert lines[0].startswith("root:x:0:0")
    assert "bin" in lines and "proc" in lines


def _run_with_fd(rt, bundle, cid, extra):
    """run with an extra open file as fd 3, as containerd does with its socket."""
    path = os.path.join(rt.workdir, f"{cid}.fd3")
    with open(path, "w") as f:
        f.write("from-fd-3\n")
    fd = os.open(path, os.O_RDONLY)
    try:
        # fd 3 of the child becomes our file; the test process's own fd 3
        # (pytest's capture) is left alone
        p = subprocess.run([rt.cmd, "--root", rt.root, "run", *extra, "--bundle", bundle.path,
                            cid], pass_fds=(3, fd), preexec_fn=lambda: os.dup2(fd, 3),
                           capture_output=True, text=True, timeout=30)
    finally:
        os.close(fd)
    rt._track(cid)
    return p


@spec("runc-cli#run", "MUST", "--preserve-fds N passes fds 3..3+N-1 to the process")
def test_preserve_fds(rt, bundle):
    bundle.args("cat <&3")
    p = _run_with_fd(rt, bundle, rt.new_id("pf"), ["--preserve-fds", "1"])
    assert p.returncode == 0, p
    assert p.stdout == "from-fd-3\n"


@spec("runc-cli#run", "MUST", "fds above 2 that are not preserved are closed: nothing of "
      "the caller's leaks into the container")
def test_unpreserved_fds_do_not_leak(rt, bundle):
    bundle.args("ls /proc/self/fd")
    p = _run_with_fd(rt, bundle, rt.new_id("nf"), [])
    assert p.returncode == 0, p
    # 0, 1, 2 and the fd ls itself opens on /proc/self/fd
    assert set(p.stdout.split()) <= {"0", "1", "2", "3"}
    assert len(p.stdout.split()) <= 4
    bundle.args("cat <&3 && echo leaked || echo closed")
    p = _run_with_fd(rt, bundle, rt.new_id("nf"), [])
    assert "leaked" not in p.stdout and "from-fd-3" not in p.stdout, p


@spec("runc-cli#run", "MUST", "run --keep leaves the stopped container for `state`/`delete`")
def test_keep(rt, bundle):
    bundle.args("exit 4")
    cid = rt.new_id("keep")
    r = rt.run(cid, bundle, "--keep")
    assert r.rc == 4, r
    assert rt.state(cid)["status"] == "stopped"
    assert rt.delete(cid).rc == 0
    assert cid not in rt.list_ids()


@spec("runc-cli#run", "MUST", "run --no-subreaper and --no-new-keyring still run the "
      "process and return its exit code")
@pytest.mark.parametrize("flag", ["--no-subreaper", "--no-new-keyring"])
def test_other_run_flags(rt, bundle, flag):
    bundle.args("echo ok; exit 5")
    r = rt.run(rt.new_id("fl"), bundle, flag)
    assert r.rc == 5, r
    assert r.stdout == "ok\n"
