"""Benchmark: `mydocker run --rm busybox true` against
`podman run --rm --network none busybox true`, interleaved, and the memory
(RSS) of mydocker's per-container monitor against podman's conmon for an
idle container.

Both tools get the same busybox rootfs (tools/busybox_rootfs.make_rootfs):
mydocker through `load_rootfs_image`, podman through `podman import` into
a private storage root, so neither touches the host's stores.  mydocker is
started the way its installed launcher starts it (the real interpreter with
-I -S), on the runtime given by --runtime (default runc-py if installed,
else runc).  Prints medians, the ratio (ours / podman's; the target is at
most 0.5) and the RSS figures.

    python3 bench/bench_run.py [--rounds 10] [--runtime runc]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
PYTHON = os.path.realpath(sys.executable)
LAUNCH = ("import sys; sys.path[:0] = {paths!r}; from manager.cli import main; main()")


INSTALLED = "/usr/local/bin/mydocker"   # tools/install_launchers.py


def mydocker_argv(base):
    """The installed launcher when it runs this checkout, else the same
    launch line built here."""
    roots = ["--data-root", os.path.join(base, "data"), "--run-root", os.path.join(base, "run")]
    try:
        with open(INSTALLED) as f:
            if repr(ROOT) in f.read():
                return [INSTALLED] + roots
    except OSError:
        pass
    paths = [ROOT] + sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    return [PYTHON, "-I", "-S", "-c", LAUNCH.format(paths=paths)] + roots


def podman_argv(base):
    return ["podman", "--root", os.path.join(base, "storage"),
            "--runroot", os.path.join(base, "runroot"), "--tmpdir", os.path.join(base, "tmp"),
            "--cgroup-manager", "cgroupfs", "--events-backend", "none"]


def timed(argv, env=None):
    t0 = time.perf_counter()
    p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])}... failed: {p.stderr.decode()[-800:]}")
    return dt


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--runtime", default="runc-py" if shutil.which("runc-py") else "runc")
    a = ap.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("needs root")
    from tools.busybox_rootfs import make_rootfs
    from manager.paths import Paths
    from manager.services import images

    base = tempfile.mkdtemp(prefix="mydocker-bench-run-")
    env = dict(os.environ, MYDOCKER_CGROUP_PARENT="mydocker-bench", MYDOCKER_RUNTIME=a.runtime)
    have_podman = shutil.which("podman") is not None
    md = mydocker_argv(base)
    pm = podman_argv(base)
    idle = []
    try:
        rootfs = make_rootfs(os.path.join(base, "rootfs"))
        images.load_rootfs_image(Paths.from_env(os.path.join(base, "data"),
                                                os.path.join(base, "run")),
                                 "busybox:latest", rootfs, config={"Cmd": ["sh"]})
        if have_podman:
            tar = os.path.join(base, "rootfs.tar")
            subprocess.run(["tar", "-C", rootfs, "-cf", tar, "."], check=True)
            subprocess.run(pm + ["import", tar, "localhost/busybox-bench:latest"], check=True,
                           stdout=subprocess.DEVNULL)
        ours = md + ["run", "--rm", "busybox", "true"]
        theirs = pm + ["run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096",
                       "localhost/busybox-bench", "true"]
        timed(ours, env)                      # warm caches (pyc, init of the store)
        if have_podman:
            timed(theirs)
        t_ours, t_theirs = [], []
        for _ in range(a.rounds):
            t_ours.append(timed(ours, env))
            if have_podman:
                t_theirs.append(timed(theirs))
        mo = statistics.median(t_ours) * 1000
        print(f"mydocker run --rm busybox true ({a.runtime}): median {mo:.1f} ms "
              f"(min {min(t_ours) * 1000:.1f})")
        if have_podman:
            mp = statistics.median(t_theirs) * 1000
            print(f"podman run --rm --network none busybox true:  median {mp:.1f} ms "
                  f"(min {min(t_theirs) * 1000:.1f})")
            print(f"ratio mydocker/podman: {mo / mp:.2f} (target <= 0.50)")
        # memory of the monitor of an idle container
        out = subprocess.run(md + ["run", "-d", "busybox", "sleep", "600"], env=env,
                             capture_output=True, text=True, check=True).stdout.strip()
        idle.append(("md", out))
        import json
        st = json.load(open(os.path.join(base, "data", "containers", out, "state.json")))
        print(f"monitor RSS (idle container): {rss_kb(st['MonitorPid'])} kB")
        if have_podman:
            cid = subprocess.run(pm + ["run", "-d", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096",
                                       "localhost/busybox-bench", "sleep", "600"],
                                 capture_output=True, text=True, check=True).stdout.strip()
            idle.append(("pm", cid))
            pid = subprocess.run(pm + ["inspect", "-f", "{{.State.ConmonPid}}", cid],
                                 capture_output=True, text=True).stdout.strip()
            if pid.isdigit():
                print(f"conmon RSS (idle container):  {rss_kb(int(pid))} kB")
    finally:
        for kind, cid in idle:
            argv = (md if kind == "md" else pm) + ["rm", "-f", cid]
            subprocess.run(argv, env=env, capture_output=True)
        if have_podman:
            subprocess.run(pm + ["rm", "-af"], capture_output=True)
            subprocess.run(pm + ["rmi", "-af"], capture_output=True)
        # whatever is still mounted under base (podman's storage bind-mounts
        # storage/overlay onto itself), deepest first
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split()[4] for line in f]
        for mnt in sorted((m for m in mounts if m.startswith(base + "/")), key=len,
                          reverse=True):
            subprocess.run(["umount", "-l", mnt], capture_output=True)
        for ctrl in os.listdir("/sys/fs/cgroup"):
            d = os.path.join("/sys/fs/cgroup", ctrl, "mydocker-bench")
            if os.path.isdir(d):
                try:
                    os.rmdir(d)
                except OSError:
                    pass
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
