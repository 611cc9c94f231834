"""specgen: image config + run options -> config.json, pure, table-tested."""
import pytest

from manager import specgen
from manager import seccomp_default
from manager.errors import UsageError
from manager.specgen import ContainerOptions, MountSpec, SpecContext

PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"
GROUP = "root:x:0:\nwheel:x:10:app\napp:x:1000:\nstaff:x:50:\n"


def ctx(**kw):
    base = dict(cid="c" * 64, image_config={"config": {"Cmd": ["sh"], "Env": ["A=1"]}},
                rootfs="/r", hostname="host1",
                etc_files={"/etc/hosts": "/h/hosts", "/etc/hostname": "/h/hostname",
                           "/etc/resolv.conf": "/h/resolv"},
                passwd=PASSWD, group=GROUP, cgroups_path="/mydocker/x",
                seccomp_profile=seccomp_default.default_profile(), arch="x86_64",
                kernel="6.1.0")
    base.update(kw)
    return SpecContext(**base)


@pytest.mark.parametrize("text, value", [
    ("1024", 1024), ("1k", 1024), ("512m", 512 << 20), ("1g", 1 << 30), ("2GB", 2 << 30),
    ("1.5k", 1536), (7, 7)])
def test_parse_size(text, value):
    assert specgen.parse_size(text) == value


@pytest.mark.parametrize("text", ["-5m", "lots", "1x", ""])
def test_parse_size_rejects(text):
    with pytest.raises(UsageError):
        specgen.parse_size(text)


@pytest.mark.parametrize("spec, expect", [
    ("/data", MountSpec("volume", "/data")),
    ("/h:/c", MountSpec("bind", "/c", "/h", False, [])),
    ("/h:/c:ro", MountSpec("bind", "/c", "/h", True, [])),
    ("vol1:/c:rw", MountSpec("volume", "/c", "vol1", False, [])),
    ("/h:/c:ro,rshared", MountSpec("bind", "/c", "/h", True, ["rshared"])),
])
def test_parse_volume(spec, expect):
    assert specgen.parse_volume(spec) == expect


@pytest.mark.parametrize("spec", ["", "a:b:c:d", "/h:rel", "/h:/c:bogus", "/h:/", "bad name:/c",
                                  "/h:"])
def test_parse_volume_rejects(spec):
    with pytest.raises(UsageError, match="invalid volume specification"):
        specgen.parse_volume(spec)


def test_parse_mount_and_tmpfs():
    m = specgen.parse_mount("type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1777")
    assert m == MountSpec("tmpfs", "/t", "", False, ["size=1048576", "mode=1777"])
    assert specgen.parse_mount("type=bind,src=/a,dst=/b,readonly").readonly
    with pytest.raises(UsageError, match="unknown field"):
        specgen.parse_mount("type=bind,src=/a,dst=/b,color=red")
    assert specgen.parse_tmpfs("/run:size=64k,ro") == MountSpec("tmpfs", "/run", "", True,
                                                                ["size=64k"])


@pytest.mark.parametrize("text, expect", [
    ("no", {"Name": "no", "MaximumRetryCount": 0}),
    ("on-failure:3", {"Name": "on-failure", "MaximumRetryCount": 3}),
    ("always", {"Name": "always", "MaximumRetryCount": 0}),
    ("unless-stopped", {"Name": "unless-stopped", "MaximumRetryCount": 0}),
])
def test_parse_restart(text, expect):
    assert specgen.parse_restart(text) == expect


@pytest.mark.parametrize("text", ["sometimes", "always:3", "on-failure:x"])
def test_parse_restart_rejects(text):
    with pytest.raises(UsageError):
        specgen.parse_restart(text)


def test_signals_and_ulimits():
    assert specgen.parse_signal("SIGTERM") == 15
    assert specgen.parse_signal("usr1") == 10
    assert specgen.parse_signal("9") == 9
    with pytest.raises(UsageError):
        specgen.parse_signal("SIGNOPE")
    assert specgen.parse_ulimit("nofile=10:20") == {"Name": "nofile", "Soft": 10, "Hard": 20}
    assert specgen.rlimits(["core=unlimited"]) == [
        {"type": "RLIMIT_CORE", "soft": 2 ** 64 - 1, "hard": 2 ** 64 - 1}]
    with pytest.raises(UsageError, match="soft limit"):
        specgen.parse_ulimit("nofile=20:10")


@pytest.mark.parametrize("ep, cmd, image, args", [
    (None, None, {"Entrypoint": ["/e"], "Cmd": ["a"]}, ["/e", "a"]),
    (None, ["b"], {"Entrypoint": ["/e"], "Cmd": ["a"]}, ["/e", "b"]),
    ("/x", None, {"Entrypoint": ["/e"], "Cmd": ["a"]}, ["/x"]),
    ("", ["ls"], {"Entrypoint": ["/e"], "Cmd": ["a"]}, ["ls"]),
    (None, None, {"Cmd": ["sh"]}, ["sh"]),
])
def test_command_args(ep, cmd, image, args):
    assert specgen.command_args({"config": image}, ep, cmd) == args


def test_no_command():
    with pytest.raises(UsageError, match="no command specified"):
        specgen.command_args({"config": {}}, None, None)


def test_env_order_and_overrides():
    env = specgen.merge_env(["PATH=/p", "A=1", "B=2"], ["B=3", "C=4"], "h", True, "/root")
    assert env == ["HOSTNAME=h", "TERM=xterm", "PATH=/p", "A=1", "B=3", "C=4", "HOME=/root"]
    assert specgen.merge_env([], [], "h", False)[0] == specgen.DEFAULT_PATH


@pytest.mark.parametrize("user, expect", [
    (None, (0, 0, [], "/root")),
    ("app", (1000, 1000, [10], "/home/app")),
    ("1000", (1000, 1000, [10], "/home/app")),
    ("app:staff", (1000, 50, [], "/home/app")),
    ("4242", (4242, 0, [], "/")),
    ("4242:4243", (4242, 4243, [], "/")),
])
def test_resolve_user(user, expect):
    assert specgen.resolve_user(user, PASSWD, GROUP) == expect


def test_resolve_user_errors():
    with pytest.raises(UsageError, match="unable to find user ghost"):
        specgen.resolve_user("ghost", PASSWD, GROUP)
    with pytest.raises(UsageError, match="unable to find group ghosts"):
        specgen.resolve_user("app:ghosts", PASSWD, GROUP)


def test_capabilities():
    assert specgen.capabilities() == specgen.DEFAULT_CAPS
    caps = specgen.capabilities(["sys_admin"], ["NET_RAW", "CAP_KILL"])
    assert "CAP_SYS_ADMIN" in caps and "CAP_NET_RAW" not in caps and "CAP_KILL" not in caps
    assert specgen.capabilities(["CHOWN"], ["ALL"]) == ["CAP_CHOWN"]
    assert specgen.capabilities(privileged=True) == specgen.ALL_CAPS
    with pytest.raises(UsageError, match="unknown capability"):
        specgen.capabilities(["FLY"])


def test_resources():
    opts = ContainerOptions(memory=64 << 20, cpus=1.5, cpu_shares=512, pids_limit=10,
                            cpuset_cpus="0-1")
    res = specgen.resources(opts, cpu_count=2)
    assert res["memory"] == {"limit": 64 << 20, "swap": 128 << 20}
    assert res["cpu"] == {"period": 100000, "quota": 150000, "shares": 512, "cpus": "0-1"}
    assert res["pids"] == {"limit": 10}
    assert res["devices"][0] == {"allow": False, "access": "rwm"}
    assert specgen.resources(ContainerOptions(memory=64 << 20, memory_swap=-1))["memory"] == \
        {"limit": 64 << 20, "swap": -1}
    for bad in (ContainerOptions(memory=1 << 20), ContainerOptions(memory=-1),
                ContainerOptions(memory_swap=100 << 20),
                ContainerOptions(memory=64 << 20, memory_swap=32 << 20),
                ContainerOptions(cpus=3.0), ContainerOptions(cpuset_cpus="a-b")):
        with pytest.raises(UsageError):
            specgen.resources(bad, cpu_count=2)


def test_security_opts():
    assert specgen.security(ContainerOptions()) == (False, "default")
    assert specgen.security(ContainerOptions(security_opt=["no-new-privileges"]))[0] is True
    assert specgen.security(ContainerOptions(security_opt=["seccomp=unconfined"]))[1] == \
        "unconfined"
    assert specgen.security(ContainerOptions(security_opt=["seccomp=/p.json"]))[1] == "/p.json"
    assert specgen.security(ContainerOptions(privileged=True))[1] == "unconfined"
    with pytest.raises(UsageError):
        specgen.security(ContainerOptions(security_opt=["selinux-magic"]))


def test_generate_defaults():
    spec = specgen.generate(ContainerOptions(), ctx())
    p = spec["process"]
    assert p["args"] == ["sh"] and p["cwd"] == "/" and p["user"] == {"uid": 0, "gid": 0}
    assert "A=1" in p["env"] and "HOSTNAME=host1" in p["env"] and "HOME=/root" in p["env"]
    assert p["capabilities"]["effective"] == specgen.DEFAULT_CAPS
    assert spec["root"] == {"path": "/r", "readonly": False}
    assert spec["hostname"] == "host1"
    dests = [m["destination"] for m in spec["mounts"]]
    assert dests[:7] == ["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue",
                         "/dev/shm"]
    assert {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"} <= set(dests)
    lx = spec["linux"]
    assert [n["type"] for n in lx["namespaces"]] == ["pid", "network", "ipc", "uts", "mount"]
    assert "/proc/kcore" in lx["maskedPaths"] and "/proc/sys" in lx["readonlyPaths"]
    assert lx["cgroupsPath"] == "/mydocker/x"
    sc = lx["seccomp"]
    assert sc["defaultAction"] == "SCMP_ACT_ERRNO" and sc["defaultErrnoRet"] == 1
    assert sc["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    names = {n for r in sc["syscalls"] if r["action"] == "SCMP_ACT_ALLOW" and "args" not in r
             for n in r["names"]}
    assert "read" in names and "mount" not in names and "reboot" not in names
    clone3 = [r for r in sc["syscalls"] if "clone3" in r["names"]]
    assert clone3 == [{"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]


def test_generate_user_mounts_and_options():
    vols = [(MountSpec("bind", "/data/sub", "/h2"), "/h2"),
            (MountSpec("bind", "/data", "/h", True), "/h"),
            (MountSpec("tmpfs", "/dev/shm", "", False, ["size=1m"]), "")]
    opts = ContainerOptions(user="app", workdir="/w", read_only=True, tty=True, init=True,
                            cap_add=["SYS_ADMIN"], labels={"k": "v"})
    spec = specgen.generate(opts, ctx(volume_mounts=vols, init_binary="/bin/init"))
    p = spec["process"]
    assert p["user"] == {"uid": 1000, "gid": 1000, "additionalGids": [10]}
    assert "effective" not in p["capabilities"]       # non-root: bounding set only
    assert p["cwd"] == "/w" and p["terminal"] is True and "TERM=xterm" in p["env"]
    assert p["args"] == ["/sbin/docker-init", "--", "sh"]
    assert spec["root"]["readonly"] is True and spec["annotations"] == {"k": "v"}
    dests = [m["destination"] for m in spec["mounts"]]
    assert dests.count("/dev/shm") == 1
    assert dests.index("/data") < dests.index("/data/sub")
    bind = next(m for m in spec["mounts"] if m["destination"] == "/data")
    assert bind["options"] == ["rbind", "rprivate", "ro"] and bind["source"] == "/h"
    init = next(m for m in spec["mounts"] if m["destination"] == "/sbin/docker-init")
    assert init["source"] == "/bin/init" and "ro" in init["options"]
    # CAP_SYS_ADMIN lets clone make namespaces: no clone filter
    sc = spec["linux"]["seccomp"]
    assert any("mount" in r["names"] for r in sc["syscalls"])
    assert not any("clone3" in r["names"] and r["action"] != "SCMP_ACT_ALLOW"
                   for r in sc["syscalls"])


def test_generate_privileged_and_unconfined():
    spec = specgen.generate(ContainerOptions(privileged=True),
                            ctx(cap_bound=["CAP_CHOWN", "CAP_SYS_ADMIN"]))
    assert spec["process"]["capabilities"]["effective"] == ["CAP_CHOWN", "CAP_SYS_ADMIN"]
    assert "seccomp" not in spec["linux"] and "maskedPaths" not in spec["linux"]
    assert spec["linux"]["resources"]["devices"] == [{"allow": True, "access": "rwm"}]
    spec = specgen.generate(ContainerOptions(), ctx(seccomp_profile=None))
    assert "seccomp" not in spec["linux"]


def test_cgroup_v2_namespace():
    spec = specgen.generate(ContainerOptions(), ctx(cgroup_v2=True))
    assert {"type": "cgroup"} in spec["linux"]["namespaces"]


def test_seccomp_profile_arch_and_caps_filters():
    prof = seccomp_default.default_profile()
    oci = seccomp_default.to_oci(prof, ["CAP_SYS_PTRACE"], arch="aarch64", kernel="5.10")
    assert oci["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    allowed = {n for r in oci["syscalls"] for n in r["names"] if r["action"] == "SCMP_ACT_ALLOW"}
    assert "ptrace" in allowed and "arch_prctl" not in allowed
    old = seccomp_default.to_oci(prof, [], arch="x86_64", kernel="4.4.0")
    assert not any("ptrace" in r["names"] for r in old["syscalls"])
