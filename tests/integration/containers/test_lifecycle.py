"""State that survives and policies that act after the CLI is gone: the
monitor outlives mydocker, restarts by policy, reconciles after a crash or a
loss of /run; concurrency; logs follow/rotation; -it; top/stats/rename/prune."""
import json
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import time
import fcntl
import termios

import pytest

pytestmark = pytest.mark.requires("root", "busybox", "runc", "overlay", "registry")


def test_restart_on_failure_counts(mdr, name):
    mdr.ok("run", "-d", "--name", name, "--restart", "on-failure:2", mdr.images.busybox,
           "sh", "-c", "echo run; exit 3")
    mdr.wait_for(lambda: mdr.inspect(name)["State"]["Status"] == "exited"
                 and mdr.inspect(name)["RestartCount"] == 2, what="two restarts")
    doc = mdr.inspect(name)
    assert doc["State"]["ExitCode"] == 3
    assert mdr.ok("logs", name).out == "run\nrun\nrun\n"
    mdr.ok("rm", name)


def test_restart_always_then_stop_stays_stopped(md, name):
    md.ok("run", "-d", "--name", name, "--restart", "always", md.images.busybox,
          "sh", "-c", "sleep 0.2; exit 0")
    md.wait_for(lambda: md.inspect(name)["RestartCount"] >= 2, what="restarts")
    md.ok("stop", "-t", "1", name)
    count = md.inspect(name)["RestartCount"]
    time.sleep(1)
    doc = md.inspect(name)
    assert doc["State"]["Status"] == "exited" and doc["RestartCount"] == count
    md.ok("rm", name)


def test_monitor_death_shows_exited(mdr, name):
    mdr.ok("run", "-d", "--name", name, mdr.images.busybox, "sleep", "60")
    doc = mdr.inspect(name)
    pid = doc["State"]["Pid"]
    st = json.loads((mdr.data_root / "containers" / doc["Id"] / "state.json").read_text())
    os.kill(st["MonitorPid"], signal.SIGKILL)        # a monitor this test started
    mdr.wait_for(lambda: not os.path.exists(f"/proc/{st['MonitorPid']}/stat") or
                 open(f"/proc/{st['MonitorPid']}/stat").read().split()[2] == "Z",
                 what="monitor gone")
    out = mdr.ok("ps", "-a", "--filter", f"name={name}", "--format", "{{.State}}").out
    assert out == "exited\n"
    assert mdr.inspect(name)["State"]["Running"] is False
    mdr.wait_for(lambda: not os.path.exists(f"/proc/{pid}"), what="container process killed")
    assert not any(doc["Id"] in m for m in mdr.mounts())
    # and it can start again
    mdr.ok("start", name)
    assert mdr.inspect(name)["State"]["Running"] is True
    mdr.ok("rm", "-f", name)


def test_loss_of_run_is_recovered(md, name):
    md.ok("run", "-d", "--name", name, md.images.busybox, "sleep", "60")
    doc = md.inspect(name)
    st = json.loads((md.data_root / "containers" / doc["Id"] / "state.json").read_text())
    # a reboot: every process gone, /run empty, mounts gone
    runc_root = md.run_root / "runtimes" / "runc"
    subprocess.run(["runc", "--root", str(runc_root), "kill", doc["Id"], "KILL"])
    os.kill(st["MonitorPid"], signal.SIGKILL)
    time.sleep(0.2)
    subprocess.run(["runc", "--root", str(runc_root), "delete", "-f", doc["Id"]])
    subprocess.run(["umount", "-l", doc["GraphDriver"]["Data"]["MergedDir"]])
    shutil.rmtree(md.run_root)
    assert md.inspect(name)["State"]["Status"] == "exited"
    md.ok("start", name)
    assert md.inspect(name)["State"]["Running"] is True
    md.ok("rm", "-f", name)


def test_twenty_concurrent_runs(md):
    procs = [md.popen("run", "-d", "--label", "batch=c20", md.images.busybox, "sh", "-c",
                      "sleep 0.3; echo done") for _ in range(20)]
    ids = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        ids.append(out.decode().strip())
    assert len(set(ids)) == 20
    names = md.ok("ps", "-a", "--filter", "label=batch=c20", "--format", "{{.Names}}").out.split()
    assert len(set(names)) == 20
    for cid in ids:
        assert md.ok("wait", cid).out.strip() == "0"
        assert md.ok("logs", cid).out == "done\n"
    for cid in ids:
        md.ok("rm", cid)


def test_logs_follow_tail_since_timestamps(md, name):
    md.ok("run", "-d", "--name", name, md.images.busybox, "sh", "-c",
          "for i in 1 2 3; do echo l$i; done; echo e >&2; sleep 0.5; echo late")
    p = md.popen("logs", "-f", name)
    out, err = p.communicate(timeout=15)
    assert out.decode() == "l1\nl2\nl3\nlate\n" and err.decode() == "e\n"
    assert md.ok("logs", "--tail", "2", name).out == "late\n"
    ts = md.ok("logs", "-t", name).out.splitlines()[0]
    assert ts.endswith(" l1") and ts[4] == "-" and ts[10] == "T" and "Z " in ts
    assert md.ok("logs", "--since", "1h", name).out.startswith("l1")
    assert md.ok("logs", "--until", "2000-01-01T00:00:00Z", name).out == ""
    # the raw file is Docker's json-file format
    line = json.loads(open(md.inspect(name)["LogPath"]).readline())
    assert line["log"] == "l1\n" and line["stream"] == "stdout" and line["time"].endswith("Z")
    md.ok("rm", name)


def test_log_rotation_and_follow_across_it(md, name):
    md.ok("run", "-d", "--name", name, "--log-opt", "max-size=2k", "--log-opt", "max-file=3",
          md.images.busybox, "sh", "-c",
          "sleep 0.5; i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); "
          "[ $((i % 10)) = 0 ] && sleep 0.05; done")
    p = md.popen("logs", "-f", "--tail", "0", name)
    out, _ = p.communicate(timeout=20)
    lines = out.decode().splitlines()
    assert lines[-1] == "line-199"
    assert lines == [f"line-{i}" for i in range(200 - len(lines), 200)]
    assert len(lines) == 200, "follow lost lines across a rotation"
    log = md.inspect(name)["LogPath"]
    assert os.path.exists(log + ".1") and os.path.exists(log + ".2")
    assert not os.path.exists(log + ".3")
    assert os.path.getsize(log) <= 2048
    md.ok("rm", name)


def test_interactive_tty(mdr):
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
    p = subprocess.Popen(mdr.argv("run", "--rm", "-it", mdr.images.busybox, "sh"),
                         stdin=slave, stdout=slave, stderr=slave, env=mdr.env,
                         start_new_session=True)
    os.close(slave)
    buf = b""
    sent = False
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline and p.poll() is None:
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                try:
                    buf += os.read(master, 4096)
                except OSError:
                    break
            if b"\x1b[6n" in buf and not sent:      # the shell asks where the cursor is
                os.write(master, b"\x1b[1;1R")
            if b"# " in buf and not sent:
                os.write(master, b"tty; stty size; exit 5\n")
                sent = True
        p.wait(10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    assert p.returncode == 5, buf
    assert b"/dev/pts/0" in buf and b"33 101" in buf


def test_attached_ctrl_c_is_forwarded(md):
    p = md.popen("run", "--rm", md.images.busybox, "sh", "-c",
                 "trap 'echo got INT; exit 42' INT; echo ready; while true; do sleep 0.1; done")
    assert p.stdout.readline() == b"ready\n"
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=15)
    assert out == b"got INT\n" and p.returncode == 42


def test_top_stats_rename_prune(md, name):
    md.ok("run", "-d", "--name", name, "--memory", "32m", md.images.busybox, "sleep", "60")
    top = md.ok("top", name).out.splitlines()
    assert top[0].split() == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    assert top[1].split()[-2:] == ["sleep", "60"]
    stats = md.ok("stats", "--no-stream", name).out.splitlines()
    assert stats[0].split()[:2] == ["CONTAINER", "ID"] and "MEM USAGE / LIMIT" in stats[0]
    assert name in stats[1] and "32MiB" in stats[1]
    new = name + "-renamed"
    md.ok("rename", name, new)
    assert md.inspect(new)["Name"] == "/" + new
    assert md("inspect", name).rc == 1
    md.ok("rm", "-f", new)
    md.ok("create", "--name", name, md.images.busybox)
    out = md.ok("container", "prune", "-f").out
    assert "Deleted Containers:" in out and md("inspect", name).rc == 1


def test_pause_unpause(mdr, name, tmp_path):
    """pause freezes every process (a counter stops), unpause thaws them;
    pausing what is not running is a clear error."""
    mdr.ok("run", "-d", "--name", name, "-v", f"{tmp_path}:/out", mdr.images.busybox,
           "sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /out/n; sleep 0.05; done")
    counter = tmp_path / "n"
    mdr.wait_for(lambda: counter.exists() and counter.read_text().strip(), what="counter")
    mdr.ok("pause", name)
    assert mdr.inspect(name)["State"]["Status"] == "paused"
    assert mdr.inspect(name)["State"]["Paused"] is True
    frozen = counter.read_text()
    time.sleep(0.4)
    assert counter.read_text() == frozen, "processes kept running while paused"
    r = mdr("pause", name)
    assert r.rc != 0 and "is not running" in r.err
    mdr.ok("unpause", name)
    assert mdr.inspect(name)["State"]["Status"] == "running"
    mdr.wait_for(lambda: counter.read_text() != frozen, what="counter moving again")
    r = mdr("unpause", name)
    assert r.rc != 0 and "is not paused" in r.err
    mdr.ok("rm", "-f", name)
