"""Benchmark: runc-py against runc, call by call, as callers use them.

Cases (each timed for both runtimes, interleaved round by round so drift
and noise hit both alike; medians and the ratio runc-py / runc):

  exec          `RUNTIME exec ID true` in a running busybox container
  lifecycle     create -> start -> state -> kill 9 -> delete, with the
                global flags containerd's shim passes (--root, --log,
                --log-format json) and --pid-file; the process is
                `sleep 100`, waited for after the kill (as the shim reaps it)
  run           `RUNTIME run ID` of a busybox bundle whose process is `true`
  run-seccomp   the same with Docker's default seccomp profile (what Docker,
                podman and containerd pass); runc-py compiles it once per
                host (its cache under --root), runc on every create

Bundles are built from Debian's busybox-static (tools/busybox_rootfs) in a
temp dir (prefix rpybench-) that is removed at the end, with every container
force-deleted.  Needs root.

    python3 bench/bench_runtime.py [--rounds 20] [--runc-py /usr/local/bin/runc-py]
                                   [--runc runc] [--cases run,exec] [--gap 0.1]
                                   [--json out.json]

The ratio depends on what the machine did just before each call: back to
back (the default) runc is faster than after a pause, while runc-py (whose
create runs on two CPUs at once, process/early.py) gains less from it;
--gap 0.1 measures each call after 100 ms of idleness.  Both are reported
in the README.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def docker_seccomp_profile():
    """Docker's default seccomp profile for the default capability set, as
    mydocker writes it (the one real callers pass on every create)."""
    from manager import seccomp_default as sd
    caps = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
            "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW",
            "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP"]
    return sd.to_oci(sd.default_profile(), caps=caps)


def make_bundle(path, template, args, seccomp=None):
    from runc_py.spec.default import default_spec
    os.makedirs(path)
    subprocess.run(["cp", "-a", template, os.path.join(path, "rootfs")], check=True)
    cfg = default_spec()
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = list(args)
    if seccomp:
        cfg["linux"]["seccomp"] = seccomp
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(cfg, f)
    return path


class Runtime:
    def __init__(self, name, binary, base):
        self.name = name
        self.binary = binary
        self.root = os.path.join(base, f"root-{name}")
        self.log = os.path.join(base, f"{name}.log.json")
        self.base = base
        self.n = 0

    def argv(self, *args, shim=False):
        g = ["--root", self.root]
        if shim:
            g += ["--log", self.log, "--log-format", "json"]
        return [self.binary, *g, *args]

    def call(self, *args, shim=False, check=True):
        # stderr goes to a file: a detached container inherits it, and a pipe
        # would keep subprocess.run waiting for the container to end
        with open(os.path.join(self.base, f"{self.name}.stderr"), "w+b") as err:
            p = subprocess.run(self.argv(*args, shim=shim), stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=err)
            if check and p.returncode != 0:
                err.seek(0)
                raise SystemExit(f"{self.name} {' '.join(args)} failed: "
                                 f"{err.read().decode(errors='replace')[-800:]}")
        return p.returncode

    def new_id(self, tag):
        self.n += 1
        return f"rpybench-{tag}-{self.n}"

    def ids(self):
        try:
            return os.listdir(self.root)
        except FileNotFoundError:
            return []

    def cleanup(self):
        for cid in self.ids():
            self.call("delete", "--force", cid, check=False)


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def wait_gone(pid, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return
        except FileNotFoundError:
            return
        time.sleep(0.0005)


# ---------------------------------------------------------------- cases

def case_exec(rt, bundles):
    """One `exec ID true` in a long-running container made once per runtime."""
    cid = getattr(rt, "exec_cid", None)
    if cid is None:
        cid = rt.exec_cid = rt.new_id("exec")
        rt.call("run", "--detach", "--bundle", bundles["sleep"], cid)
    return timed(lambda: rt.call("exec", cid, "true"))


def case_lifecycle(rt, bundles):
    cid = rt.new_id("life")
    pidfile = os.path.join(rt.base, f"{rt.name}-{cid}.pid")

    def seq():
        rt.call("create", "--bundle", bundles["sleep"], "--pid-file", pidfile, cid, shim=True)
        rt.call("start", cid, shim=True)
        rt.call("state", cid, shim=True)
        with open(pidfile) as f:
            pid = int(f.read())
        rt.call("kill", cid, "9", shim=True)
        wait_gone(pid)
        rt.call("delete", cid, shim=True)
    dt = timed(seq)
    os.unlink(pidfile)
    return dt


def case_run(rt, bundles):
    cid = rt.new_id("run")
    return timed(lambda: rt.call("run", "--bundle", bundles["true"], cid))


def case_run_seccomp(rt, bundles):
    cid = rt.new_id("runsc")
    return timed(lambda: rt.call("run", "--bundle", bundles["seccomp"], cid))


CASES = (("exec", case_exec), ("lifecycle", case_lifecycle), ("run", case_run),
         ("run-seccomp", case_run_seccomp))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=20)
    # the fast launcher from tools/install_launchers.py, not a pip console
    # script found first on PATH (through the pyenv shim it costs ~90 ms more)
    ap.add_argument("--runc-py", default="/usr/local/bin/runc-py"
                    if os.path.exists("/usr/local/bin/runc-py") else shutil.which("runc-py"))
    ap.add_argument("--runc", default=shutil.which("runc") or "/usr/sbin/runc")
    ap.add_argument("--cases", default=",".join(c for c, _ in CASES),
                    help="comma-separated subset of: " + ", ".join(c for c, _ in CASES))
    ap.add_argument("--gap", type=float, default=0.0,
                    help="seconds to sleep before each timed call (0: back to back; "
                         "0.1: each call after a pause, on an otherwise idle machine)")
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("bench_runtime needs root")
    for b in (a.runc_py, a.runc):
        if not (b and os.access(b, os.X_OK)):
            raise SystemExit(f"{b}: not an executable runtime")
    wanted = [c for c in a.cases.split(",") if c]
    cases = [(n, f) for n, f in CASES if n in wanted]
    if len(cases) != len(wanted):
        raise SystemExit(f"unknown case in {a.cases!r}")

    from tools.busybox_rootfs import make_rootfs
    base = tempfile.mkdtemp(prefix="rpybench-")
    os.chmod(base, 0o755)
    runtimes = [Runtime("runc", a.runc, base), Runtime("runc-py", a.runc_py, base)]
    try:
        template = make_rootfs(os.path.join(base, "template"))
        bundles = {"sleep": make_bundle(os.path.join(base, "b-sleep"), template,
                                        ["sleep", "100"]),
                   "true": make_bundle(os.path.join(base, "b-true"), template, ["true"]),
                   "seccomp": make_bundle(os.path.join(base, "b-seccomp"), template, ["true"],
                                          seccomp=docker_seccomp_profile())}
        results = {n: {rt.name: [] for rt in runtimes} for n, _ in cases}
        for name, fn in cases:                    # warm-up: caches, cgroup parents
            for rt in runtimes:
                fn(rt, bundles)
        for i in range(a.rounds):
            order = runtimes if i % 2 == 0 else runtimes[::-1]
            for name, fn in cases:
                for rt in order:
                    if a.gap:
                        time.sleep(a.gap)
                    results[name][rt.name].append(fn(rt, bundles))
        print(f"runc: {a.runc}   runc-py: {a.runc_py}   gap before each call: {a.gap} s")
        print_table(results, a.rounds)
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"rounds": a.rounds, "seconds": results}, f, indent=1)
    finally:
        for rt in runtimes:
            rt.cleanup()
        shutil.rmtree(base, ignore_errors=True)


def print_table(results, rounds):
    print(f"runc-py vs runc, {rounds} interleaved rounds, medians in ms "
          f"(ratio < 1: runc-py is faster)")
    print(f"{'case':<13}{'runc':>10}{'runc-py':>10}{'ratio':>8}   {'runc-py p10..p90':>18}")
    for name, by in results.items():
        m = {k: statistics.median(v) * 1000 for k, v in by.items()}
        q = statistics.quantiles(by["runc-py"], n=10) if len(by["runc-py"]) > 1 else [0] * 9
        print(f"{name:<13}{m['runc']:>10.1f}{m['runc-py']:>10.1f}"
              f"{m['runc-py'] / m['runc']:>8.2f}   "
              f"{q[0] * 1000:>8.1f}..{q[-1] * 1000:<8.1f}")


if __name__ == "__main__":
    main()
