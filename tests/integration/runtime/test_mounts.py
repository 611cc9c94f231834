"""mounts: bind (ro/rw, file, rbind), tmpfs options, the default kernel
filesystems, listed order, propagation flags, and symlinked destinations that
must never reach outside the rootfs.  Checked in the container's
/proc/self/mountinfo and by touching files."""
import os
import subprocess

import pytest

from tests.support.runtime import find_mount, parse_mountinfo, spec, wait_for_file

pytestmark = [pytest.mark.conformance, pytest.mark.requires("root", "busybox")]


def host_mount(*args):
    subprocess.run(["mount", *args], check=True, capture_output=True)


@spec("config.md#mounts/bind", "MUST", "ro (MUST): mounting the filesystem read-only")
def test_bind_ro(rt, bundle):
    src = bundle.host_dir("data")
    with open(os.path.join(src, "hello"), "w") as f:
        f.write("from host\n")
    bundle.add_mount("/data", "bind", src, ["bind", "ro"])
    out = rt.probe(bundle, "cat /data/hello; touch /data/new 2>&1; echo rc=$?; "
                           "cat /proc/self/mountinfo")
    assert out.startswith("from host\n")
    assert "rc=0" not in out and "Read-only file system" in out
    assert "ro" in find_mount(out, "/data")["options"]
    assert not os.path.exists(os.path.join(src, "new"))


@spec("config.md#mounts/bind", "MUST", "bind (MUST): Bind mount")
def test_bind_rw_writes_reach_host(rt, bundle):
    src = bundle.share("data", "/data")
    rt.probe(bundle, "echo written-inside > /data/out")
    with open(os.path.join(src, "out")) as f:
        assert f.read() == "written-inside\n"


@spec("config.md#mounts/bind", "MUST", "bind (MUST): Bind mount (a single file)")
def test_bind_file(rt, bundle):
    src = os.path.join(bundle.path, "hello.txt")
    with open(src, "w") as f:
        f.write("a file\n")
    bundle.add_mount("/etc/hello.txt", "bind", src, ["bind", "ro"])
    assert rt.probe(bundle, "cat /etc/hello.txt") == "a file\n"


@pytest.fixture
def tree_with_submount(bundle):
    """A host dir with a tmpfs mounted on its sub/ holding a file."""
    src = bundle.host_dir("tree")
    sub = os.path.join(src, "sub")
    os.makedirs(sub)
    host_mount("-t", "tmpfs", "-o", "size=4m", "rpyconf-sub", sub)
    with open(os.path.join(sub, "deep"), "w") as f:
        f.write("submount\n")
    return src


@spec("config.md#mounts/bind", "MUST", "rbind (MUST): Recursive bind mount")
def test_rbind_includes_submounts(rt, bundle, tree_with_submount):
    bundle.add_mount("/tree", "bind", tree_with_submount, ["rbind", "ro"])
    assert rt.probe(bundle, "cat /tree/sub/deep") == "submount\n"


@spec("config.md#mounts/bind", "MUST", "bind (MUST): Bind mount (not recursive)")
def test_bind_excludes_submounts(rt, bundle, tree_with_submount):
    bundle.add_mount("/tree", "bind", tree_with_submount, ["bind", "ro"])
    out = rt.probe(bundle, "ls -A /tree/sub; echo end")
    assert out == "end\n"


@spec("config.md#mounts/tmpfs", "MUST",
      "For Linux, the parameters are as documented in mount(2) (tmpfs size and mode data, "
      "nosuid/nodev/noexec flags)")
def test_tmpfs_options(rt, bundle):
    bundle.add_mount("/scratch", "tmpfs", "tmpfs",
                     ["nosuid", "nodev", "noexec", "size=1m", "mode=700"])
    out = rt.probe(bundle, "stat -c %a /scratch; echo hi > /scratch/f && cat /scratch/f; "
                           "cat /proc/self/mountinfo")
    lines = out.splitlines()
    assert lines[0] == "700"
    assert lines[1] == "hi"
    m = find_mount(out, "/scratch")
    assert m["fstype"] == "tmpfs"
    assert {"nosuid", "nodev", "noexec"} <= set(m["options"])
    assert "size=1024k" in m["super"]
    assert "mode=700" in m["super"]


@spec("config.md#mounts/tmpfs", "MUST", "ro (MUST) on a tmpfs")
def test_tmpfs_ro(rt, bundle):
    bundle.add_mount("/scratch", "tmpfs", "tmpfs", ["ro", "size=64k"])
    out = rt.probe(bundle, "touch /scratch/x 2>&1; echo rc=$?")
    assert "rc=0" not in out


@spec("config-linux.md#default-filesystems", "SHOULD",
      "The following filesystems SHOULD be made available in each container's filesystem: "
      "/proc proc, /sys sysfs, /dev/pts devpts, /dev/shm tmpfs")
def test_default_filesystems(rt, bundle):
    out = rt.probe(bundle, "cat /proc/self/mountinfo")
    want = {"/proc": "proc", "/sys": "sysfs", "/dev/pts": "devpts", "/dev/shm": "tmpfs",
            "/dev/mqueue": "mqueue", "/dev": "tmpfs"}
    for mp, fstype in want.items():
        m = find_mount(out, mp)
        assert m is not None, f"{mp} not mounted"
        assert m["fstype"] == fstype, m
    assert "ro" in find_mount(out, "/sys")["options"]
    assert "ptmxmode=666" in find_mount(out, "/dev/pts")["super"]


@spec("config.md#mounts/proc", "MUST",
      "the container's proc shows the container's own processes (a new pid namespace)")
def test_proc_is_the_containers(rt, bundle):
    out = rt.probe(bundle, "echo $$; ls /proc | grep -c '^[0-9]'")
    pid, count = out.split()
    assert pid == "1"
    assert int(count) <= 3


@spec("config.md#mounts/order", "MUST", "The runtime MUST mount entries in the listed order.")
def test_mounts_in_listed_order(rt, bundle):
    bundle.add_mount("/stack", "tmpfs", "tmpfs", ["size=128k"])
    bundle.add_mount("/stack/inner", "tmpfs", "tmpfs", ["size=64k"])
    out = rt.probe(bundle, "cat /proc/self/mountinfo")
    entries = parse_mountinfo(out)
    outer = find_mount(entries, "/stack")
    inner = find_mount(entries, "/stack/inner")
    assert outer and inner
    assert inner["parent"] == outer["id"], "inner was not mounted on top of outer"
    assert "size=64k" in inner["super"] and "size=128k" in outer["super"]


@spec("config.md#mounts/order", "MUST", "The runtime MUST mount entries in the listed order.")
def test_later_mount_hides_earlier(rt, bundle):
    src = bundle.host_dir("data")
    open(os.path.join(src, "file"), "w").close()
    bundle.add_mount("/data", "bind", src, ["bind"])
    bundle.add_mount("/data", "tmpfs", "tmpfs", ["size=64k"])
    assert rt.probe(bundle, "ls -A /data; echo end") == "end\n"


@pytest.fixture
def shared_source(bundle):
    """A host dir that is a mount point in its own shared peer group."""
    src = bundle.host_dir("prop")
    host_mount("--bind", src, src)
    host_mount("--make-shared", src)
    return src


@spec("config.md#mounts/propagation", "MUST", "rslave (MUST): Bind mount propagation")
def test_rslave_bind_receives_host_mounts(rt, bundle, shared_source):
    shared = bundle.share("out", "/out")
    bundle.add_mount("/prop", "bind", shared_source, ["rbind", "rslave"])
    bundle.args("cat /proc/self/mountinfo > /out/mi; i=0; "
                "while [ ! -e /prop/late/marker ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done; "
                "cat /prop/late/marker > /out/seen 2>&1")
    cid = rt.new_id()
    assert rt.create(cid, bundle).rc == 0
    assert rt.start(cid).rc == 0
    assert wait_for_file(os.path.join(shared, "mi"))
    late = os.path.join(shared_source, "late")
    os.makedirs(late)
    host_mount("-t", "tmpfs", "-o", "size=64k", "rpyconf-late", late)
    with open(os.path.join(late, "marker"), "w") as f:
        f.write("propagated\n")
    assert wait_for_file(os.path.join(shared, "seen"))
    assert rt.wait_status(cid, "stopped")
    with open(os.path.join(shared, "seen")) as f:
        assert f.read() == "propagated\n"
    with open(os.path.join(shared, "mi")) as f:
        m = find_mount(f.read(), "/prop")
    assert any(o.startswith("master:") for o in m["optional"]), m


@spec("config.md#mounts/propagation", "MUST", "rprivate (MUST): Bind mount propagation")
def test_rprivate_bind(rt, bundle, shared_source):
    bundle.add_mount("/prop", "bind", shared_source, ["rbind", "rprivate"])
    m = find_mount(rt.probe(bundle, "cat /proc/self/mountinfo"), "/prop")
    assert not any(o.startswith(("master:", "shared:")) for o in m["optional"]), m


@spec("config.md#mounts/propagation", "MUST", "rshared (MUST): Bind mount propagation")
def test_rshared_bind(rt, bundle, shared_source):
    bundle.add_mount("/prop", "bind", shared_source, ["rbind", "rshared"])
    m = find_mount(rt.probe(bundle, "cat /proc/self/mountinfo"), "/prop")
    assert any(o.startswith("shared:") for o in m["optional"]), m


@spec("config.md#mounts/propagation", "MUST", "unbindable (MUST): Bind mount propagation")
def test_unbindable_bind(rt, bundle, shared_source):
    bundle.add_mount("/prop", "bind", shared_source, ["rbind", "runbindable"])
    m = find_mount(rt.probe(bundle, "cat /proc/self/mountinfo"), "/prop")
    assert "unbindable" in m["optional"], m


# ---- destinations through symlinks must stay inside the rootfs


@pytest.fixture
def outside(workdir):
    """A host path that must stay untouched: it does not exist to begin with."""
    return os.path.join(workdir, "outside-target")


def _escape_outcome(rt, bundle, outside):
    r = rt.run(rt.new_id("escape"), bundle)
    assert not os.path.lexists(outside), \
        f"the runtime created {outside} on the host (rc={r.rc}, {r.stderr[-300:]})"
    return r


@spec("config.md#mounts/destination", "MUST",
      "destination ... path inside container (a symlink in the rootfs pointing outside it "
      "MUST NOT make the runtime create or mount anything on the host)")
@pytest.mark.parametrize("how", ["absolute", "relative"])
def test_symlink_destination_stays_in_rootfs(rt, bundle, outside, how):
    target = outside if how == "absolute" else "../" * 12 + outside.lstrip("/")
    os.symlink(target, os.path.join(bundle.rootfs, "evil"))
    bundle.add_mount("/evil", "tmpfs", "tmpfs", ["size=64k"])
    bundle.config["root"]["readonly"] = False
    bundle.args("touch /evil/inside-file 2>/dev/null; true")
    _escape_outcome(rt, bundle, outside)


@spec("config.md#mounts/destination", "MUST",
      "destination ... path inside container (a missing mount point below a symlinked "
      "directory is created inside the rootfs, never on the host)")
def test_symlink_parent_of_destination_stays_in_rootfs(rt, bundle, outside):
    os.symlink(outside, os.path.join(bundle.rootfs, "evil"))
    src = bundle.host_dir("data")
    bundle.add_mount("/evil/sub/dir", "bind", src, ["bind"])
    _escape_outcome(rt, bundle, outside)


@spec("config.md#mounts/destination", "MUST",
      "destination ... path inside container (a bind source file must not be copied or "
      "mounted onto a host file through a symlinked destination)")
def test_symlink_to_existing_host_file_is_not_overmounted(rt, bundle, workdir):
    victim = os.path.join(workdir, "victim.txt")
    with open(victim, "w") as f:
        f.write("host content\n")
    os.symlink(victim, os.path.join(bundle.rootfs, "evil"))
    src = os.path.join(bundle.path, "payload")
    with open(src, "w") as f:
        f.write("payload\n")
    bundle.add_mount("/evil", "bind", src, ["bind"])
    bundle.args("echo overwritten > /evil 2>/dev/null; true")
    rt.run(rt.new_id("escape"), bundle)
    with open(victim) as f:
        assert f.read() == "host content\n"


# ---- sources, types, relative destinations, option strings


@spec("config.md#mounts/source", "MUST",
      "Path values for bind mounts are either absolute or relative to the bundle.")
def test_relative_bind_source(rt, bundle, workdir):
    src = bundle.host_dir("reldata")
    with open(os.path.join(src, "f"), "w") as f:
        f.write("relative source\n")
    bundle.add_mount("/data", "bind", "reldata", ["bind", "ro"])
    bundle.args("cat", "/data/f")
    r = rt.run(rt.new_id(), bundle, cwd=workdir)
    assert r.rc == 0, r
    assert r.stdout == "relative source\n"


@spec("config.md#mounts/source", "MUST",
      "A mount is a bind mount if it has either bind or rbind in the options (the type is a "
      "dummy, often none, or absent).")
@pytest.mark.parametrize("type_", ["none", None])
def test_bind_by_option_not_type(rt, bundle, type_):
    src = bundle.host_dir("data")
    with open(os.path.join(src, "f"), "w") as f:
        f.write("bound\n")
    m = {"destination": "/data", "source": src, "options": ["rbind", "ro"]}
    if type_:
        m["type"] = type_
    bundle.config["mounts"].append(m)
    bundle.save()
    assert rt.probe(bundle, "cat /data/f") == "bound\n"


@spec("config.md#mounts/destination", "MUST",
      "For compatibility with old tools and configurations, it MAY be a relative path, in "
      "which case it MUST be interpreted as relative to \"/\".")
def test_relative_destination(rt, bundle):
    bundle.add_mount("scratch", "tmpfs", "tmpfs", ["size=64k"])
    m = find_mount(rt.probe(bundle, "cat /proc/self/mountinfo"), "/scratch")
    assert m is not None and m["fstype"] == "tmpfs"


@spec("config.md#mounts/options", "MUST",
      "Runtimes MUST implement the following option strings for Linux: noatime, nodiratime, "
      "relatime, sync, dirsync, ... (as mount(8))")
@pytest.mark.parametrize("opt", ["noatime", "nodiratime", "relatime", "sync", "dirsync"])
def test_flag_option(rt, bundle, opt):
    bundle.add_mount("/scratch", "tmpfs", "tmpfs", [opt, "size=64k"])
    m = find_mount(rt.probe(bundle, "cat /proc/self/mountinfo"), "/scratch")
    assert opt in m["options"] or opt in m["super"], m


@spec("config.md#mounts/options", "SHOULD",
      "nosymfollow (SHOULD) (Introduced in kernel 5.10, util-linux 2.38)")
def test_nosymfollow(rt, bundle):
    bundle.add_mount("/scratch", "tmpfs", "tmpfs", ["nosymfollow", "size=64k"])
    out = rt.probe(bundle, "echo hi > /scratch/f; ln -s /scratch/f /scratch/l; "
                           "cat /scratch/l 2>/dev/null; echo rc=$?")
    assert "rc=0" not in out, "a symlink was followed on a nosymfollow mount"


@spec("config.md#mounts/options", "SHOULD",
      "Runtimes SHOULD treat unknown options as filesystem-specific ones and pass those as a "
      "comma-separated string to the fifth (const void *data) argument of mount(2).")
def test_filesystem_specific_option(rt, bundle):
    bundle.add_mount("/scratch", "tmpfs", "tmpfs", ["nr_inodes=77", "size=64k", "uid=1000"])
    m = find_mount(rt.probe(bundle, "cat /proc/self/mountinfo"), "/scratch")
    assert "nr_inodes=77" in m["super"] and "uid=1000" in m["super"], m


@spec("config.md#mounts/options", "SHOULD", "rro (SHOULD): Recursive ro")
def test_recursive_ro(rt, bundle, tree_with_submount):
    bundle.add_mount("/tree", "bind", tree_with_submount, ["rbind", "rro"])
    out = rt.probe(bundle, "touch /tree/top 2>/dev/null; echo top=$?; "
                           "touch /tree/sub/x 2>/dev/null; echo sub=$?")
    assert out.split() == ["top=1", "sub=1"]


@spec("config.md#mounts/options", "SHOULD", "rnoexec (SHOULD): Recursive noexec")
def test_recursive_noexec(rt, bundle, tree_with_submount):
    import shutil
    shutil.copy2("/bin/busybox", os.path.join(tree_with_submount, "sub", "bb"))
    bundle.add_mount("/tree", "bind", tree_with_submount, ["rbind", "rnoexec"])
    out = rt.probe(bundle, "/tree/sub/bb true 2>/dev/null; echo rc=$?")
    assert out.strip() != "rc=0", "exec on a submount of an rnoexec mount worked"
