"""hostname and domainname, as the container's UTS namespace shows them."""
import socket

import pytest

from tests.support.runtime import deviates, spec

pytestmark = [pytest.mark.conformance, pytest.mark.requires("root", "busybox")]


@spec("config.md#hostname", "MUST",
      "hostname specifies the container's hostname as seen by processes running inside the "
      "container")
def test_hostname(rt, bundle):
    bundle.config["hostname"] = "rpyconf-host"
    out = rt.probe(bundle, "hostname; cat /proc/sys/kernel/hostname")
    assert out.split() == ["rpyconf-host", "rpyconf-host"]
    assert socket.gethostname() != "rpyconf-host"


@spec("config.md#hostname/domainname", "MUST",
      "domainname specifies the container's domainname as seen by processes running inside "
      "the container")
@deviates("runc", "runc 1.1 predates domainname (added in runc 1.2) and ignores it")
def test_domainname(rt, bundle):
    bundle.config["domainname"] = "rpyconf.test"
    out = rt.probe(bundle, "cat /proc/sys/kernel/domainname")
    assert out == "rpyconf.test\n"
    with open("/proc/sys/kernel/domainname") as f:
        assert f.read() != "rpyconf.test\n"


@spec("config.md#hostname", "MUST",
      "this will change the hostname in the container UTS namespace (not the host's)")
def test_hostname_needs_own_uts(rt, bundle):
    bundle.config["hostname"] = "rpyconf-host"
    bundle.set_namespace("uts", present=False)
    bundle.args("true")
    r = rt.run(rt.new_id(), bundle)
    assert r.rc != 0, "setting a hostname without a UTS namespace must fail"
    assert socket.gethostname() != "rpyconf-host"
