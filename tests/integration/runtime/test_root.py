"""root: the bundle's rootfs becomes /, read-only when asked, with a relative
path taken relative to the bundle (not to the runtime's working directory)."""
import os

import pytest

from tests.support.runtime import find_mount, spec

pytestmark = [pytest.mark.conformance, pytest.mark.requires("root", "busybox")]


@spec("config.md#root", "MUST",
      "If true then the root filesystem MUST be read-only inside the container")
def test_readonly_root(rt, bundle):
    bundle.config["root"]["readonly"] = True
    out = rt.probe(bundle, "touch /written 2>&1; echo rc=$?; cat /proc/self/mountinfo")
    assert "rc=0" not in out
    assert "Read-only file system" in out
    assert "ro" in find_mount(out, "/")["options"]
    assert not os.path.exists(os.path.join(bundle.rootfs, "written"))


@spec("config.md#root", "MUST",
      "readonly (bool, OPTIONAL) ... defaults to false (the root filesystem is writable)")
def test_writable_root(rt, bundle):
    bundle.config["root"]["readonly"] = False
    out = rt.probe(bundle, "echo data > /written && cat /written")
    assert out == "data\n"
    with open(os.path.join(bundle.rootfs, "written")) as f:
        assert f.read() == "data\n"


@spec("config.md#root", "MUST",
      "On POSIX platforms, path is either an absolute path or a relative path to the bundle.")
def test_relative_root_is_relative_to_bundle(rt, bundle, workdir):
    bundle.write_rootfs_file("/whoami", "bundle rootfs\n")
    decoy = os.path.join(workdir, "elsewhere")
    os.makedirs(os.path.join(decoy, "rootfs"))
    bundle.config["root"]["path"] = "rootfs"
    bundle.save()
    bundle.args("cat", "/whoami")
    r = rt.run(rt.new_id(), bundle, cwd=decoy)
    assert r.rc == 0, r
    assert r.stdout == "bundle rootfs\n"


@spec("config.md#root", "MUST",
      "On POSIX platforms, path is either an absolute path or a relative path to the bundle.")
def test_absolute_root_path(rt, make_bundle, workdir):
    b = make_bundle("b")
    b.write_rootfs_file("/whoami", "absolute rootfs\n")
    b.config["root"]["path"] = b.rootfs
    b.save()
    b.args("cat", "/whoami")
    r = rt.run(rt.new_id(), b, cwd="/")
    assert r.rc == 0, r
    assert r.stdout == "absolute rootfs\n"


@spec("config.md#root", "MUST",
      "root specifies the container's root filesystem (the container sees that tree as /)")
def test_root_is_pivoted(rt, bundle):
    bundle.write_rootfs_file("/etc/marker", "inside\n")
    out = rt.probe(bundle, "cat /etc/marker; ls /; test -e /proc/1/root/etc/marker && echo ok")
    assert out.splitlines()[0] == "inside"
    assert "ok" in out
    assert "rpyconf" not in out
