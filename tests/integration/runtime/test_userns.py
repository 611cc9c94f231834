"""User namespace with uid/gid mappings: root inside, the mapped ids outside."""
import os

import pytest

from tests.support.runtime import spec, wait_for_file

pytestmark = [pytest.mark.conformance, pytest.mark.requires("root", "busybox")]

HOST_BASE = 100000
SIZE = 65536


def userns_bundle(bundle):
    bundle.set_namespace("user")
    bundle.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": HOST_BASE,
                                              "size": SIZE}]
    bundle.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": HOST_BASE,
                                              "size": SIZE}]
    return bundle.save()


@spec("config-linux.md#user-namespace-mappings", "MUST",
      "uidMappings/gidMappings describe the user namespace uid/gid mappings from the host to "
      "the container")
def test_root_inside_maps_to_host_id(rt, bundle):
    userns_bundle(bundle)
    out = rt.probe(bundle, "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map")
    lines = out.splitlines()
    assert lines[:2] == ["0", "0"]
    assert lines[2].split() == ["0", str(HOST_BASE), str(SIZE)]
    assert lines[3].split() == ["0", str(HOST_BASE), str(SIZE)]
    assert os.readlink("/proc/self/ns/user") != ""


@spec("config-linux.md#user-namespace-mappings", "MUST",
      "containerID is the starting uid/gid in the container; hostID the starting uid/gid on "
      "the host to be mapped to containerID (files made inside are owned by the host id)")
def test_files_created_inside_owned_by_mapped_ids(rt, bundle):
    userns_bundle(bundle)
    shared = bundle.share(mode=0o1777)
    bundle.config["process"]["user"] = {"uid": 5, "gid": 7}
    bundle.save()
    rt.probe(bundle, "touch /shared/made-inside; id -u")
    st = os.stat(os.path.join(shared, "made-inside"))
    assert (st.st_uid, st.st_gid) == (HOST_BASE + 5, HOST_BASE + 7)


@spec("config-linux.md#user-namespace-mappings", "MUST",
      "hostID is the starting uid/gid on the host to be mapped to containerID (the host sees "
      "the container process as the mapped uid)")
def test_host_sees_mapped_uid(rt, bundle):
    userns_bundle(bundle)
    shared = bundle.share(mode=0o1777)
    bundle.args("touch /shared/up; sleep 30")
    cid = rt.new_id()
    assert rt.run(cid, bundle, "--detach").rc == 0
    assert wait_for_file(os.path.join(shared, "up"))
    pid = rt.state(cid)["pid"]
    with open(f"/proc/{pid}/status") as f:
        fields = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
    assert fields["Uid"].split() == [str(HOST_BASE)] * 4
    assert fields["Gid"].split() == [str(HOST_BASE)] * 4
    assert os.readlink(f"/proc/{pid}/ns/user") != os.readlink("/proc/self/ns/user")


@spec("config-linux.md#user-namespace-mappings", "SHOULD",
      "The runtime SHOULD NOT modify the ownership of referenced filesystems to realize the "
      "mapping.")
def test_rootfs_ownership_unchanged(rt, bundle):
    userns_bundle(bundle)
    before = os.stat(os.path.join(bundle.rootfs, "bin", "busybox"))
    rt.probe(bundle, "true")
    after = os.stat(os.path.join(bundle.rootfs, "bin", "busybox"))
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)
