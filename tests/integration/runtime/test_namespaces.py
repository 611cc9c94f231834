"""namespaces: new ones are new (inode differs from the host's), absent ones
are inherited, `path` joins an existing namespace (made with util-linux
`unshare` bound to a file, or another container's /proc/<pid>/ns/*)."""
import os
import subprocess

import pytest

from tests.support.runtime import deviates, spec

pytestmark = [pytest.mark.conformance, pytest.mark.requires("root", "busybox")]

NS_FILE = {"pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts", "mount": "mnt",
           "cgroup": "cgroup", "time": "time"}


def host_ns(kind):
    return os.readlink(f"/proc/self/ns/{NS_FILE[kind]}")


def container_ns(rt, bundle, kind):
    return rt.probe(bundle, f"readlink /proc/self/ns/{NS_FILE[kind]}").strip()


@spec("config-linux.md#namespaces/new", "MUST",
      "If path is not specified, the runtime MUST create a new container namespace of type "
      "type.")
@pytest.mark.parametrize("kind", [
    "pid", "network", "ipc", "uts", "mount", "cgroup",
    pytest.param("time", marks=deviates("runc", "runc 1.1 has no time namespace support"))])
def test_new_namespace(rt, bundle, kind):
    bundle.set_namespace(kind)
    inside = container_ns(rt, bundle, kind)
    assert inside.startswith(NS_FILE[kind] + ":[")
    assert inside != host_ns(kind)


@spec("config-linux.md#namespaces/inherit", "MUST",
      "If a namespace type is not specified in the namespaces array, the container MUST "
      "inherit the runtime namespace of that type.")
@pytest.mark.parametrize("kind", ["network", "ipc", "uts", "cgroup"])
def test_absent_namespace_is_inherited(rt, bundle, kind):
    bundle.set_namespace(kind, present=False)
    if kind == "uts":
        bundle.config.pop("hostname", None)
    bundle.save()
    assert container_ns(rt, bundle, kind) == host_ns(kind)


@pytest.fixture
def netns_file(workdir):
    """A network namespace kept alive by a bind mount on a file (util-linux unshare)."""
    path = os.path.join(workdir, "rpyconf-netns")
    open(path, "w").close()
    subprocess.run(["unshare", f"--net={path}", "true"], check=True)
    yield path
    subprocess.run(["umount", path], capture_output=True)


@spec("config-linux.md#namespaces/path", "MUST",
      "The runtime MUST place the container process in the namespace associated with that "
      "path.")
def test_join_namespace_by_path(rt, bundle, netns_file):
    bundle.set_namespace("network", path=netns_file)
    inside = container_ns(rt, bundle, "network")
    assert inside == f"net:[{os.stat(netns_file).st_ino}]"


@spec("config-linux.md#namespaces/path", "MUST",
      "The runtime MUST generate an error if path is not associated with a namespace of type "
      "type.")
def test_join_namespace_wrong_type_fails(rt, bundle, netns_file):
    bundle.set_namespace("uts", path=netns_file)
    bundle.args("true")
    cid = rt.new_id()
    r = rt.run(cid, bundle)
    assert r.rc != 0, r
    assert rt.state(cid) is None and rt.root_entries() == []


@spec("config-linux.md#namespaces/path", "MUST",
      "The runtime MUST generate an error if path is not associated with a namespace of type "
      "type (a plain file is not a namespace).")
def test_join_namespace_not_a_namespace_fails(rt, bundle, workdir):
    plain = os.path.join(workdir, "plain-file")
    open(plain, "w").close()
    bundle.set_namespace("network", path=plain)
    bundle.args("true")
    cid = rt.new_id()
    assert rt.run(cid, bundle).rc != 0
    assert rt.state(cid) is None and rt.root_entries() == []


@pytest.fixture
def first_container(rt, make_bundle):
    """A running container (hostname rpyconf-first) whose namespaces others join."""
    b = make_bundle("first", args=("sleep", "30"))
    b.config["hostname"] = "rpyconf-first"
    b.save()
    cid = rt.new_id("first")
    assert rt.run(cid, b, "--detach").rc == 0
    return rt.state(cid)["pid"]


@spec("config-linux.md#namespaces/path", "MUST",
      "The runtime MUST place the container process in the namespace associated with that "
      "path (another container's /proc/<pid>/ns/uts).")
def test_join_other_containers_uts(rt, bundle, first_container):
    bundle.set_namespace("uts", path=f"/proc/{first_container}/ns/uts")
    bundle.config.pop("hostname", None)
    bundle.save()
    assert rt.probe(bundle, "hostname") == "rpyconf-first\n"


@spec("config-linux.md#namespaces/path", "MUST",
      "The runtime MUST place the container process in the namespace associated with that "
      "path (another container's /proc/<pid>/ns/pid).")
def test_join_other_containers_pid(rt, bundle, first_container):
    bundle.set_namespace("pid", path=f"/proc/{first_container}/ns/pid")
    out = rt.probe(bundle, "cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $$")
    lines = out.splitlines()
    assert lines[0].strip() == "sleep 30"
    assert lines[1] != "1"


@spec("config-linux.md#namespaces/path", "MUST",
      "The runtime MUST place the container process in the namespace associated with that "
      "path (another container's /proc/<pid>/ns/net and ipc).")
def test_join_other_containers_net_ipc(rt, bundle, first_container):
    for kind in ("network", "ipc"):
        bundle.set_namespace(kind, path=f"/proc/{first_container}/ns/{NS_FILE[kind]}")
    out = rt.probe(bundle, "readlink /proc/self/ns/net; readlink /proc/self/ns/ipc")
    assert out.split() == [os.readlink(f"/proc/{first_container}/ns/net"),
                           os.readlink(f"/proc/{first_container}/ns/ipc")]
