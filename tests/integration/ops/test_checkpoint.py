"""checkpoint / restore need CRIU: without it, a clear error."""
import os

import pytest

from .helpers import start_container

pytestmark = pytest.mark.requires("root", "busybox")


@pytest.mark.runc_py_only("runc's message differs")
def test_checkpoint_without_criu_says_to_install_it(rt, bundle, ops_workdir):
    cid, _ = start_container(rt, bundle, "echo up > /shared/up; while :; do sleep 1; done")
    # a PATH with ps and friends but no criu
    bindir = os.path.join(ops_workdir, "bin")
    os.makedirs(bindir)
    env_path = bindir
    r = rt("checkpoint", "--image-path", os.path.join(ops_workdir, "img"), cid,
           preexec_fn=lambda: os.environ.__setitem__("PATH", env_path))
    assert r.rc == 1, r
    assert "checkpoint needs CRIU: install the criu package" in r.stderr, r
    assert rt.state(cid)["status"] == "running"
