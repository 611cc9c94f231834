"""Run options people use daily, each checked from inside the container
(files, ids, limits in /sys/fs/cgroup and /proc) or by what the user sees."""
import json
import os
import time

import pytest

pytestmark = pytest.mark.requires("root", "busybox", "runc", "overlay", "registry")


def sh(md, *opts, script, image=None, rc=0):
    r = md("run", "--rm", *opts, image or md.images.busybox, "sh", "-c", script)
    assert r.rc == rc, r
    return r.out


def test_env_and_env_file(md, tmp_path):
    envf = tmp_path / "env"
    envf.write_text("# comment\nFROM_FILE=1\nSHARED=file\n")
    out = sh(md, "-e", "A=1", "--env-file", str(envf), "-e", "SHARED=flag",
             script="echo $A $FROM_FILE $SHARED $HOSTNAME $HOME")
    a, f, shared, host, home = out.split()
    assert (a, f, shared, home) == ("1", "1", "flag", "/root") and len(host) == 12


def test_image_config_is_applied(md):
    """Entrypoint+Cmd, WorkingDir, User (via the image's /etc/passwd), Env, Volumes."""
    r = md("run", "--rm", md.images.app)
    assert r.rc == 0, r
    lines = r.out.splitlines()
    assert lines[0] == "from-image-cmd"
    assert lines[1].startswith("uid=1000(app) gid=1000(app)") and "10(wheel)" in lines[1]
    assert lines[2] == "/srv/app"
    out = md.ok("run", "--rm", md.images.app, "echo $APP_MODE; cat /data/seed.txt").out
    assert out == "image\nseeded by the image\n"
    # -u and -w override the image, --entrypoint drops its Cmd
    out = md.ok("run", "--rm", "-u", "0:10", "-w", "/tmp", "--entrypoint", "id",
                md.images.app).out
    assert out.startswith("uid=0(root) gid=10(wheel)")
    r = md("run", "--rm", "-u", "nobody-here", md.images.busybox, "true")
    assert r.rc == 125 and "unable to find user nobody-here" in r.err


def test_bind_mounts_named_volumes_tmpfs(md, tmp_path):
    host = tmp_path / "share"
    host.mkdir()
    (host / "in.txt").write_text("from host\n")
    out = sh(md, "-v", f"{host}:/mnt/rw", "-v", f"{host}:/mnt/ro:ro", "--tmpfs", "/scratch",
             "--mount", f"type=bind,source={host},target=/mnt/m,readonly",
             script="cat /mnt/rw/in.txt; echo new > /mnt/rw/out.txt; "
                    "echo x > /mnt/ro/f 2>/dev/null || echo ro-refused; "
                    "echo x > /mnt/m/f 2>/dev/null || echo m-refused; "
                    "grep ' /scratch ' /proc/mounts | cut -d' ' -f3")
    assert out == "from host\nro-refused\nm-refused\ntmpfs\n"
    assert (host / "out.txt").read_text() == "new\n"
    vol = f"mdtestvol{os.getpid()}"
    sh(md, "-v", f"{vol}:/v", script="echo kept > /v/file")
    assert sh(md, "-v", f"{vol}:/v", script="cat /v/file") == "kept\n"


def test_hostname_readonly_workdir(md):
    out = sh(md, "--hostname", "box1", "--read-only", "-w", "/tmp",
             script="hostname; cat /etc/hostname; pwd; touch /x 2>/dev/null || echo ro-root; "
                    "grep -c localhost /etc/hosts; test -s /etc/resolv.conf || echo empty")
    lines = out.splitlines()
    assert lines[:4] == ["box1", "box1", "/tmp", "ro-root"]


def _caps(out):
    return int(out.split()[1], 16)


def test_capabilities_and_privileged(md):
    eff = _caps(sh(md, script="grep CapEff /proc/self/status"))
    assert eff == 0xa80425fb           # Docker's default set
    eff = _caps(sh(md, "--cap-drop", "NET_RAW", "--cap-add", "SYS_ADMIN",
                   script="grep CapEff /proc/self/status"))
    assert not eff & (1 << 13) and eff & (1 << 21)
    out = sh(md, "--cap-drop", "ALL", script="grep CapEff /proc/self/status; "
             "chown 1 /tmp 2>/dev/null || echo chown-refused")
    assert _caps(out) == 0 and "chown-refused" in out
    out = sh(md, "--privileged", script="grep CapEff /proc/self/status; "
             "grep Seccomp: /proc/self/status")
    assert _caps(out) >= 0x1ffffffffff >> 3 and "Seccomp:\t0" in out


def test_security_opts(md, tmp_path):
    assert "Seccomp:\t2" in sh(md, script="grep Seccomp: /proc/self/status")
    out = sh(md, "--security-opt", "seccomp=unconfined", script="grep Seccomp: /proc/self/status")
    assert "Seccomp:\t0" in out
    assert "NoNewPrivs:\t1" in sh(md, "--security-opt", "no-new-privileges",
                                  script="grep NoNewPrivs /proc/self/status")
    # the default profile refuses namespace creation without CAP_SYS_ADMIN
    out = sh(md, script="unshare -u true 2>/dev/null && echo allowed || echo refused")
    assert out == "refused\n"
    prof = tmp_path / "prof.json"
    prof.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}))
    out = sh(md, "--security-opt", f"seccomp={prof}",
             script="mkdir /tmp/x 2>/dev/null && echo made || echo refused")
    assert out == "refused\n"


def _cg_read(md, name, ctrl, file):
    cid = json.loads(md.ok("inspect", name).out)[0]["Id"]
    for path in (f"/sys/fs/cgroup/{ctrl}/{md.cgroup_parent}/{cid}/{file}",
                 f"/sys/fs/cgroup/{md.cgroup_parent}/{cid}/{file}"):
        if os.path.exists(path):
            return open(path).read().strip()
    raise AssertionError(f"no {file} for {name}")


def test_resource_limits(md, name):
    md.ok("run", "-d", "--name", name, "--memory", "64m", "--memory-swap", "128m",
          "--cpus", "0.5", "--cpu-shares", "512", "--pids-limit", "50", "--cpuset-cpus", "0",
          md.images.busybox, "sleep", "60")
    try:
        if os.path.isdir("/sys/fs/cgroup/memory"):
            assert _cg_read(md, name, "memory", "memory.limit_in_bytes") == str(64 << 20)
            assert _cg_read(md, name, "memory", "memory.memsw.limit_in_bytes") == str(128 << 20)
            assert _cg_read(md, name, "cpu", "cpu.cfs_quota_us") == "50000"
            assert _cg_read(md, name, "cpu", "cpu.shares") == "512"
            assert _cg_read(md, name, "pids", "pids.max") == "50"
            assert _cg_read(md, name, "cpuset", "cpuset.cpus") == "0"
        doc = md.inspect(name)
        assert doc["HostConfig"]["Memory"] == 64 << 20 and doc["HostConfig"]["NanoCpus"] == 5e8
    finally:
        md.ok("rm", "-f", name)


def test_ulimits(md):
    out = sh(md, "--ulimit", "nofile=512:1024", "--ulimit", "nproc=100",
             script="ulimit -n; ulimit -Hn; ulimit -u")
    assert out.split() == ["512", "1024", "100"]


def test_oom_kill_is_recorded(md, name):
    r = md("run", "--name", name, "--memory", "16m", "--memory-swap", "16m",
           md.images.busybox, "sh", "-c", "x=a; while true; do x=$x$x; done")
    assert r.rc == 137, r
    doc = md.inspect(name)
    assert doc["State"]["OOMKilled"] is True and doc["State"]["ExitCode"] == 137
    md.ok("rm", name)


def test_init_reaps_and_forwards(md, name):
    out = sh(md, "--init", script="echo $$; cat /proc/1/cmdline | tr '\\0' ' '")
    pid, cmdline = out.splitlines()
    assert pid != "1" and cmdline.startswith("/sbin/docker-init -- sh")
    md.ok("run", "-d", "--init", "--name", name, md.images.busybox, "sleep", "60")
    t0 = time.monotonic()
    md.ok("stop", name)
    assert time.monotonic() - t0 < 5      # sleep gets the forwarded TERM
    assert md.inspect(name)["State"]["ExitCode"] == 143
    md.ok("rm", name)


def test_stop_signal_and_timeout(md, name):
    md.ok("run", "-d", "--name", name, "--stop-signal", "USR1", "--stop-timeout", "1",
          md.images.busybox, "sh", "-c",
          "trap 'echo usr1; exit 9' USR1; while true; do sleep 0.1; done")
    time.sleep(0.3)
    md.ok("stop", name)
    assert md.inspect(name)["State"]["ExitCode"] == 9
    assert md.ok("logs", name).out == "usr1\n"
    assert md.inspect(name)["Config"]["StopSignal"] == "USR1"
    md.ok("rm", name)


def test_labels_and_filters(md, name):
    md.ok("create", "--name", name, "--label", "tier=web", "-l", "x=y", md.images.busybox)
    out = md.ok("ps", "-a", "--filter", "label=tier=web", "--format",
                '{{.Names}} {{.Label "x"}} {{.State}}').out
    assert out == f"{name} y created\n"
    assert md.ok("ps", "-a", "-q", "--filter", "label=tier=db").out == ""
    md.ok("rm", name)


def test_pull_policy(md):
    r = md("run", "--rm", "--pull", "never", "127.0.0.1:1/none:latest", "true")
    assert r.rc == 125 and "No such image" in r.err
    r = md("run", "--rm", "--pull", "always", md.images.busybox, "true")
    assert r.rc == 0, r
