"""Shared test requirements.  Tests that need root or a kernel feature are
skipped with the reason, never silently passed."""
import os
import shutil
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def _have_overlay():
    try:
        with open("/proc/filesystems") as f:
            return "overlay" in f.read()
    except OSError:
        return False


REQUIREMENTS = {
    "root": (lambda: os.geteuid() == 0, "needs root"),
    "busybox": (lambda: os.path.exists("/bin/busybox"), "needs Debian's busybox-static"),
    "runc": (lambda: shutil.which("runc") is not None, "needs Debian's runc"),
    "overlay": (_have_overlay, "needs overlayfs in the kernel"),
    "registry": (lambda: shutil.which("docker-registry") is not None,
                 "needs Debian's docker-registry"),
    "strace": (lambda: shutil.which("strace") is not None, "needs strace"),
    "cgroup_v2": (lambda: os.path.exists("/sys/fs/cgroup/cgroup.controllers"),
                  "needs a pure cgroup v2 host"),
    "cgroup_v1": (lambda: os.path.isdir("/sys/fs/cgroup/memory"),
                  "needs cgroup v1 controllers"),
}


def pytest_configure(config):
    config.addinivalue_line("markers", "requires(*names): skip unless the host has these")
    config.addinivalue_line("markers", "conformance: an OCI runtime conformance check")


def pytest_runtest_setup(item):
    for mark in item.iter_markers("requires"):
        for name in mark.args:
            check, reason = REQUIREMENTS[name]
            if not check():
                pytest.skip(reason)
