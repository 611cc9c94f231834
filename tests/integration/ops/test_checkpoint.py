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


@pytest.mark.runc_py_only("runc drives CRIU without checking it first")
def test_checkpoint_with_unusable_criu_says_why(rt, bundle, ops_workdir):
    """CRIU installed but unable to run on this kernel (as criu 3.17 on 6.18):
    the error carries CRIU's own reason, and the container keeps running."""
    cid, _ = start_container(rt, bundle, "echo up > /shared/up; while :; do sleep 1; done")
    fake = os.path.join(ops_workdir, "criu")
    with open(fake, "w") as f:
        f.write("#!/bin/sh\necho 'Error (criu/vdso.c:1): vdso: made-up failure' >&2\nexit 1\n")
    os.chmod(fake, 0o755)
    r = rt("checkpoint", "--image-path", os.path.join(ops_workdir, "img"), cid,
           preexec_fn=lambda: os.environ.__setitem__("RUNC_PY_CRIU", fake))
    assert r.rc == 1, r
    assert "CRIU cannot run on this host" in r.stderr, r
    assert "made-up failure" in r.stderr, r
    assert rt.state(cid)["status"] == "running"
