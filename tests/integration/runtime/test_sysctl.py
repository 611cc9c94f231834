"""linux.sysctl: namespaced kernel parameters set inside the container only."""
import pytest

from tests.support.runtime import spec

pytestmark = [pytest.mark.conformance, pytest.mark.requires("root", "busybox")]


def host_value(key):
    with open("/proc/sys/" + key.replace(".", "/")) as f:
        return f.read().strip()


@spec("config-linux.md#sysctl", "MUST",
      "sysctl (object, OPTIONAL) allows kernel parameters to be modified at runtime for the "
      "container.")
@pytest.mark.parametrize("key,value", [("net.ipv4.ip_forward", "1"),
                                       ("net.core.somaxconn", "321"),
                                       ("kernel.shmmax", "123456789"),
                                       ("kernel.msgmax", "4321")])
def test_sysctl_applied_in_container_only(rt, bundle, key, value):
    before = host_value(key)
    assert before != value, "pick a value that differs from the host's"
    bundle.config["linux"]["sysctl"] = {key: value}
    bundle.save()
    out = rt.probe(bundle, f"cat /proc/sys/{key.replace('.', '/')}")
    assert out.strip() == value
    assert host_value(key) == before, "the sysctl leaked to the host"


@spec("config-linux.md#sysctl", "MUST",
      "Runtimes MUST generate an error when invalid or unsupported values are encountered "
      "(config.md; here an unknown sysctl key).")
def test_unknown_sysctl_fails(rt, bundle):
    bundle.config["linux"]["sysctl"] = {"net.ipv4.rpyconf_no_such_key": "1"}
    bundle.save()
    bundle.args("true")
    cid = rt.new_id()
    assert rt.run(cid, bundle).rc != 0
    assert rt.state(cid) is None and rt.root_entries() == []
