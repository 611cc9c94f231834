"""linux.rootfsPropagation: the propagation type of the container's / mount,
seen in its mountinfo, and (for slave/private) whether a mount made on the
host under the rootfs after start shows up inside."""
import os
import subprocess

import pytest

from tests.support.runtime import deviates, find_mount, spec, wait_for_file

pytestmark = [pytest.mark.conformance, pytest.mark.requires("root", "busybox")]


@pytest.fixture
def shared_bundle(bundle):
    """The bundle dir as a shared mount on the host, so events can propagate."""
    subprocess.run(["mount", "--bind", bundle.path, bundle.path], check=True)
    subprocess.run(["mount", "--make-shared", bundle.path], check=True)
    os.makedirs(os.path.join(bundle.rootfs, "late"))
    return bundle


def root_mount(rt, bundle, value):
    bundle.config["linux"]["rootfsPropagation"] = value
    bundle.save()
    return find_mount(rt.probe(bundle, "cat /proc/self/mountinfo"), "/")


def host_event_seen(rt, bundle, value):
    """Start a container, mount a tmpfs under its rootfs on the host: seen inside?"""
    shared = bundle.share("out", "/out")
    bundle.config["linux"]["rootfsPropagation"] = value
    bundle.args("touch /out/up; i=0; while [ ! -e /late/marker ] && [ $i -lt 12 ]; "
                "do sleep 0.05; i=$((i+1)); done; cat /late/marker > /out/seen 2>/dev/null; "
                "echo $? > /out/rc")
    cid = rt.new_id()
    assert rt.run(cid, bundle, "--detach").rc == 0
    assert wait_for_file(os.path.join(shared, "up"))
    late = os.path.join(bundle.rootfs, "late")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "rpyconf-late", late], check=True)
    with open(os.path.join(late, "marker"), "w") as f:
        f.write("propagated\n")
    assert wait_for_file(os.path.join(shared, "rc"))
    with open(os.path.join(shared, "rc")) as f:
        return f.read().strip() == "0"


@spec("config-linux.md#rootfsPropagation", "MUST",
      "slave: the rootfs mount receives propagation events from the host (e.g. if something "
      "is mounted on the host it will also appear in the container)")
@deviates("runc", "runc applies a non-recursive slave only to the old / and then makes the "
          "rootfs's shared parent mount private, so host events stop there")
def test_slave_receives_host_mounts(rt, shared_bundle):
    assert host_event_seen(rt, shared_bundle, "slave")


@spec("config-linux.md#rootfsPropagation", "MUST",
      "private: the rootfs mount doesn't receive mount propagation events from the host")
def test_private_ignores_host_mounts(rt, shared_bundle):
    assert not host_event_seen(rt, shared_bundle, "private")


@spec("config-linux.md#rootfsPropagation", "MUST",
      "slave: the rootfs mount receives propagation events from the host ... but not the "
      "other way around")
@deviates("runc", "runc applies a non-recursive slave only to the old / and then makes the "
          "rootfs's shared parent mount private, so host events stop there")
def test_slave_root_tagged_master(rt, shared_bundle):
    m = root_mount(rt, shared_bundle, "slave")
    assert any(o.startswith("master:") for o in m["optional"]), m
    assert not any(o.startswith("shared:") for o in m["optional"]), m


@spec("config-linux.md#rootfsPropagation", "MUST",
      "shared: the rootfs mount belongs to a new peer group")
@deviates("runc", "runc 1.1 leaves the container's / private for rootfsPropagation shared")
def test_shared_root_in_peer_group(rt, bundle):
    m = root_mount(rt, bundle, "shared")
    assert any(o.startswith("shared:") for o in m["optional"]), m


@spec("config-linux.md#rootfsPropagation", "MUST",
      "private: the rootfs mount doesn't receive mount propagation events from the host")
def test_private_root_untagged(rt, shared_bundle):
    m = root_mount(rt, shared_bundle, "private")
    assert not any(o.startswith(("shared:", "master:")) for o in m["optional"]), m


@spec("config-linux.md#rootfsPropagation", "MUST",
      "unbindable: the rootfs mount is a private mount that cannot be bind-mounted.")
@deviates("runc", "runc 1.1 fails: it bind-mounts the rootfs after making it unbindable (EINVAL)")
def test_unbindable_root(rt, bundle):
    m = root_mount(rt, bundle, "unbindable")
    assert "unbindable" in m["optional"], m

