"""runc-py keeps compiled seccomp profiles under --root/.seccomp-cache
(seccomp.py): a second container with the same profile skips libseccomp,
and the filter it gets must be the same one.  runc-py only (runc compiles
every time)."""
import os
import shutil
import tempfile

import pytest

from tests.support import runtime as rs

pytestmark = [pytest.mark.requires("root", "busybox")]

PROFILE = {
    "defaultAction": "SCMP_ACT_ALLOW",
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}


@pytest.fixture
def work():
    d = tempfile.mkdtemp(prefix="runcpy-test-scc-")
    os.chmod(d, 0o755)
    yield d
    rs.unmount_all_under(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def runcpy(work):
    """runc-py itself, whatever RUNTIME says: the cache is its own."""
    cmd = "/usr/local/bin/runc-py" if os.access("/usr/local/bin/runc-py", os.X_OK) else \
        shutil.which("runc-py")
    assert cmd, "runc-py is not installed (make install)"
    os.makedirs(os.path.join(work, "io"))
    rt = rs.Runtime(cmd, os.path.join(work, "root"), os.path.join(work, "io"))
    yield rt
    rt.cleanup()


@pytest.fixture
def bundle(work):
    template = rs.build_rootfs_template(os.path.join(work, "template"))
    return rs.Bundle(os.path.join(work, "bundle"), template)


def denied(rt, bundle, profile=PROFILE):
    bundle.config["linux"]["seccomp"] = profile
    bundle.config["root"]["readonly"] = False
    bundle.args("mkdir /tmp/d 2>/dev/null; echo rc=$?")
    r = rt.run(rt.new_id("scc"), bundle)
    assert r.rc == 0, r
    return r.stdout.split() == ["rc=1"]


def cache_files(rt):
    d = os.path.join(rt.root, ".seccomp-cache")
    return sorted(os.path.join(d, n) for n in os.listdir(d)) if os.path.isdir(d) else []


def test_second_container_uses_the_cached_program_and_is_confined_alike(runcpy, bundle):
    assert denied(runcpy, bundle)
    files = cache_files(runcpy)
    assert len(files) == 1
    st = os.stat(files[0])
    assert st.st_mode & 0o777 == 0o600
    assert oct(os.stat(os.path.dirname(files[0])).st_mode & 0o777) == oct(0o700)
    before = st.st_mtime_ns
    assert denied(runcpy, bundle)            # from the cache: same confinement
    assert cache_files(runcpy) == files and os.stat(files[0]).st_mtime_ns == before


def test_another_profile_gets_its_own_entry(runcpy, bundle):
    assert denied(runcpy, bundle)
    other = dict(PROFILE, syscalls=[{"names": ["rmdir"], "action": "SCMP_ACT_ERRNO",
                                     "errnoRet": 1}])
    assert not denied(runcpy, bundle, other)     # mkdir allowed now
    assert len(cache_files(runcpy)) == 2


@pytest.mark.parametrize("damage", ["garbage", "truncated", "mode"])
def test_a_damaged_entry_is_ignored_and_replaced(runcpy, bundle, damage):
    assert denied(runcpy, bundle)
    (path,) = cache_files(runcpy)
    if damage == "garbage":
        with open(path, "wb") as f:
            f.write(b"not a program")
    elif damage == "truncated":
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(data[:-8])               # one instruction short
    else:
        os.chmod(path, 0o644)                # not private: not trusted
    assert denied(runcpy, bundle)            # compiled again: still confined
    (again,) = cache_files(runcpy)
    st = os.stat(again)
    assert st.st_mode & 0o777 == 0o600 and st.st_size > 100
