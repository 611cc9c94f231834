"""Fixtures for the tests of runc's container operations (ps, pause,
resume, update, events, checkpoint) against real busybox containers.

`rt` is parametrized over "runc-py" (env RUNTIME, else the launcher in
/usr/local/bin, else runc-py on PATH) and
Debian's "runc", so every test is first proved against runc.  Where runc-py
deliberately differs from runc (it refuses what runc lets through), the
test is marked `runc_py_only(reason)` and is a strict xfail for runc.  Bundles copy a
busybox rootfs built once per session (tools/busybox_rootfs.make_rootfs);
everything lives in a temp dir with the prefix rpyconf-, containers are
force-deleted and mounts undone at the end.
"""
import os
import shutil

import pytest

from tests.support import runtime as rs

RUNTIMES = ("runc-py", "runc")


def pytest_configure(config):
    config.addinivalue_line("markers", "runc_py_only(reason): runc behaves differently")


LAUNCHER = "/usr/local/bin/runc-py"


def _runtime_path(name):
    if name == "runc":
        return rs.reference_runc(), "needs Debian's runc"
    if not os.environ.get("RUNTIME") and os.access(LAUNCHER, os.X_OK):
        # the fast launcher; under the pyenv shim, PATH finds pip's slower
        # console script first
        return LAUNCHER, None
    path, _, reason = rs.selected_runtime()
    return path, reason


@pytest.fixture(scope="session")
def ops_session_dir():
    d = rs.make_session_dir()
    yield d
    rs.unmount_all_under(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def ops_template(ops_session_dir):
    if not os.path.exists("/bin/busybox"):
        pytest.skip("needs Debian's busybox-static")
    return rs.build_rootfs_template(os.path.join(ops_session_dir, "template"))


@pytest.fixture
def ops_workdir(ops_session_dir, request):
    name = request.node.name.replace("/", "_").replace("[", "-").replace("]", "")[:60]
    d = os.path.join(ops_session_dir, name)
    os.makedirs(d)
    os.chmod(d, 0o755)
    yield d
    rs.unmount_all_under(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(params=RUNTIMES)
def rt(request, ops_workdir):
    path, reason = _runtime_path(request.param)
    if path is None:
        pytest.skip(reason)
    mark = request.node.get_closest_marker("runc_py_only")
    if mark is not None and request.param == "runc":
        # not skipped: runc is run too and must really fail the assertion,
        # so the stated difference stays true (strict xfail)
        request.node.add_marker(pytest.mark.xfail(
            reason=f"runc differs here: {mark.args[0]}", strict=True))
    logs = os.path.join(ops_workdir, f"io-{request.param}")
    os.makedirs(logs)
    r = rs.Runtime(path, os.path.join(ops_workdir, f"root-{request.param}"), logs)
    r.label = request.param
    yield r
    stubborn = r.cleanup()
    assert not stubborn, f"containers that `delete --force` did not remove: {stubborn}"


@pytest.fixture
def make_bundle(ops_template, ops_workdir):
    def make(name="bundle", args=("true",)):
        return rs.Bundle(os.path.join(ops_workdir, name), ops_template, args)
    return make


@pytest.fixture
def bundle(make_bundle):
    return make_bundle()
