"""maskedPaths (unreadable: files read empty, directories are empty) and
readonlyPaths (writes fail), for /proc entries and for paths of our own."""
import os

import pytest

from tests.support.runtime import find_mount, spec

pytestmark = [pytest.mark.conformance, pytest.mark.requires("root", "busybox")]


@spec("config-linux.md#maskedPaths", "MUST",
      "maskedPaths will mask over the provided paths inside the container so that they "
      "cannot be read (files of /proc)")
def test_masked_proc_files(rt, bundle):
    files = [p for p in ("/proc/keys", "/proc/timer_list", "/proc/kcore") if os.path.exists(p)]
    assert files, "no maskable /proc file on this host"
    bundle.config["linux"]["maskedPaths"] = files
    bundle.save()
    out = rt.probe(bundle, "; ".join(f"echo {f} $(cat {f} 2>/dev/null | wc -c)" for f in files))
    for line in out.splitlines():
        path, size = line.split()
        assert size == "0", f"{path} is readable inside the container"


@spec("config-linux.md#maskedPaths", "MUST",
      "maskedPaths will mask over the provided paths inside the container so that they "
      "cannot be read (a directory shows nothing)")
def test_masked_directory(rt, bundle):
    bundle.write_rootfs_file("/secret/data", "top secret\n")
    bundle.config["linux"]["maskedPaths"] = ["/secret", "/sys/firmware"]
    bundle.save()
    out = rt.probe(bundle, "ls -A /secret; cat /secret/data 2>/dev/null; "
                           "ls -A /sys/firmware; echo end")
    assert out == "end\n"


@spec("config-linux.md#maskedPaths", "MUST",
      "maskedPaths will mask over the provided paths inside the container so that they "
      "cannot be read (a file of our own)")
def test_masked_file(rt, bundle):
    bundle.write_rootfs_file("/etc/secret.txt", "top secret\n")
    bundle.config["linux"]["maskedPaths"] = ["/etc/secret.txt"]
    bundle.save()
    out = rt.probe(bundle, "cat /etc/secret.txt 2>/dev/null; echo end")
    assert out == "end\n"
    with open(os.path.join(bundle.rootfs, "etc/secret.txt")) as f:
        assert f.read() == "top secret\n", "masking must not change the rootfs"


@spec("config-linux.md#readonlyPaths", "MUST",
      "readonlyPaths will set the provided paths as readonly inside the container (/proc/sys)")
def test_readonly_proc_sys(rt, bundle):
    bundle.config["linux"]["readonlyPaths"] = ["/proc/sys"]
    bundle.save()
    out = rt.probe(bundle, "echo rpyconf > /proc/sys/kernel/hostname 2>&1; echo rc=$?; "
                           "cat /proc/self/mountinfo")
    assert "rc=0" not in out
    assert "ro" in find_mount(out, "/proc/sys")["options"]


@spec("config-linux.md#readonlyPaths", "MUST",
      "readonlyPaths will set the provided paths as readonly inside the container (a "
      "directory of our own, while the rest of the rootfs stays writable)")
def test_readonly_directory(rt, bundle):
    bundle.write_rootfs_file("/rodir/file", "keep\n")
    bundle.config["root"]["readonly"] = False
    bundle.config["linux"]["readonlyPaths"] = ["/rodir"]
    bundle.save()
    out = rt.probe(bundle, "echo x > /rodir/file 2>/dev/null; echo ro-rc=$?; "
                           "touch /rodir/new 2>/dev/null; echo new-rc=$?; "
                           "touch /rwfile; echo rw-rc=$?; cat /rodir/file")
    assert out.split() == ["ro-rc=1", "new-rc=1", "rw-rc=0", "keep"]
