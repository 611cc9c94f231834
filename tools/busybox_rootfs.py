"""Build a small root filesystem from Debian's busybox-static.

Used by the README's demo, the tests (runtime and manager) and the
benchmarks.  `python3 tools/busybox_rootfs.py DIR` makes DIR a rootfs;
`--bundle` also writes a runc-style config.json next to it."""
import argparse
import os
import shutil
import subprocess
import sys

BUSYBOX = "/bin/busybox"

PASSWD = """root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
app:x:1000:1000:app user:/home/app:/bin/sh
"""
GROUP = """root:x:0:
daemon:x:1:
bin:x:2:
wheel:x:10:app
nogroup:x:65534:
app:x:1000:
"""


def applets(busybox=BUSYBOX):
    out = subprocess.run([busybox, "--list-full"], check=True, capture_output=True, text=True)
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def make_rootfs(dest, busybox=BUSYBOX):
    """Populate dest with busybox, its applet links and a minimal /etc."""
    if not os.path.exists(busybox):
        raise SystemExit(f"{busybox} not found: install Debian's busybox-static")
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "tmp",
              "root", "home/app", "var", "run"):
        os.makedirs(os.path.join(dest, d), exist_ok=True)
    os.chmod(os.path.join(dest, "tmp"), 0o1777)
    target = os.path.join(dest, "bin", "busybox")
    shutil.copy2(busybox, target)
    os.chmod(target, 0o755)
    for path in applets(busybox):
        link = os.path.join(dest, path.lstrip("/"))
        if os.path.lexists(link) or path == "bin/busybox":
            continue
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink("/bin/busybox", link)
    with open(os.path.join(dest, "etc", "passwd"), "w") as f:
        f.write(PASSWD)
    with open(os.path.join(dest, "etc", "group"), "w") as f:
        f.write(GROUP)
    os.chown(os.path.join(dest, "home", "app"), 1000, 1000) if os.geteuid() == 0 else None
    return dest


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("dir")
    ap.add_argument("--bundle", action="store_true",
                    help="DIR is a bundle: make DIR/rootfs and DIR/config.json")
    ap.add_argument("--args", nargs="*", default=None, help="process.args for the config")
    a = ap.parse_args(argv)
    if a.bundle:
        make_rootfs(os.path.join(a.dir, "rootfs"))
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        import json
        from runc_py.spec.default import default_spec
        spec = default_spec()
        spec["process"]["terminal"] = False
        if a.args:
            spec["process"]["args"] = a.args
        with open(os.path.join(a.dir, "config.json"), "w") as f:
            json.dump(spec, f, indent=2)
    else:
        make_rootfs(a.dir)


if __name__ == "__main__":
    main()
