"""Small helpers shared by the ops tests: start a looping container, read
a counter it writes, find its cgroup files from the host."""
import os
import time

from tests.support.runtime import wait_for_file

COUNTER = ('echo up > /shared/up; i=0; '
           'while :; do i=$((i+1)); echo $i > /shared/count.tmp; '
           'mv /shared/count.tmp /shared/count; sleep 0.02; done')


def start_container(rt, bundle, script=COUNTER, tag="ops"):
    """create + start `sh -c script` with /shared bound from the host;
    returns (id, host dir of /shared)."""
    shared = bundle.share()
    bundle.args(script)
    cid = rt.new_id(tag)
    r = rt.create(cid, bundle)
    assert r.rc == 0, r
    r = rt.start(cid)
    assert r.rc == 0, r
    assert wait_for_file(os.path.join(shared, "up")), "container process never ran"
    return cid, shared


def counter(shared):
    """The loop's counter (written by rename, so never half-written)."""
    with open(os.path.join(shared, "count")) as f:
        return int(f.read())


def wait_counter_past(shared, value, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if counter(shared) > value:
                return True
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.02)
    return False


def host_cgroup_dir(pid, controller):
    """/sys/fs/cgroup/<controller>/<path> of `pid`, read from /proc/<pid>/cgroup."""
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if controller in ctrls.split(","):
                return os.path.join("/sys/fs/cgroup", ctrls, path.lstrip("/"))
            if ctrls == "" and os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
                return os.path.join("/sys/fs/cgroup", path.lstrip("/"))
    raise AssertionError(f"pid {pid} has no {controller} cgroup")


def read_file(path):
    with open(path) as f:
        return f.read().strip()


def comm(pid):
    try:
        return read_file(f"/proc/{pid}/comm")
    except OSError:
        return None
