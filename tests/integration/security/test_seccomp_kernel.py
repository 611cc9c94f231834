"""linux.seccomp on the real kernel: a forked child loads the filter and execs
busybox; we look at what busybox says and how it exits."""
import errno
import json
import os
import signal
import socket
import struct
import fcntl

import pytest

from runc_py import caps, seccomp
from runc_py.seccomp import SeccompError

from .helpers import BUSYBOX, run_child, status_fields

pytestmark = pytest.mark.requires("root", "busybox")

DENY_MKDIR = {"defaultAction": "SCMP_ACT_ALLOW",
              "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
              "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}


def with_filter(profile, nnp=True):
    prog = seccomp.build(seccomp.compile(profile))   # built before the fork, as a runtime would

    def setup():
        if nnp:
            caps.set_no_new_privs()
        seccomp.load(prog)
    return setup


def test_denied_mkdir_says_operation_not_permitted(shared_dir):
    target = os.path.join(shared_dir, "x")
    r = run_child(with_filter(DENY_MKDIR), [BUSYBOX, "mkdir", target])
    assert r.code == 1
    assert "Operation not permitted" in r.err
    assert not os.path.exists(target)


def test_other_calls_still_work(shared_dir):
    r = run_child(with_filter(DENY_MKDIR), [BUSYBOX, "echo", "still here"])
    assert (r.code, r.out) == (0, "still here\n")
    f = os.path.join(shared_dir, "f")
    r = run_child(with_filter(DENY_MKDIR), [BUSYBOX, "touch", f])
    assert r.code == 0 and os.path.exists(f)


def test_nothing_runs_between_load_and_execve():
    """runc once called getcwd after loading the filter and broke a conformance
    test.  Kill the process on any call busybox echo does not make itself: if
    load() or the Python path to execve made one, the child would die of SIGSYS."""
    forbidden = ["getcwd", "openat", "open", "close", "read", "newfstatat", "fstat", "stat",
                 "lstat", "statx", "ioctl", "fcntl", "lseek", "mmap", "munmap", "getpid",
                 "rt_sigaction", "rt_sigprocmask", "dup", "dup2", "dup3", "pipe2",
                 "clock_gettime", "gettid", "madvise", "sendmsg", "socket", "connect"]
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": forbidden, "action": "SCMP_ACT_KILL_PROCESS"}]}
    r = run_child(with_filter(profile), [BUSYBOX, "echo", "clean"])
    assert r.signal is None, f"killed by signal {r.signal}: a forbidden call after load"
    assert (r.code, r.out) == (0, "clean\n")


def test_errno_ret_is_the_errno_seen(shared_dir):
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                             "errnoRet": errno.EROFS}]}
    r = run_child(with_filter(profile), [BUSYBOX, "mkdir", os.path.join(shared_dir, "x")])
    assert r.code == 1 and "Read-only file system" in r.err


def test_default_errno_ret(shared_dir):
    # everything but what busybox echo needs fails with ENOSYS... keep it small:
    # deny by default, allow the calls a static busybox makes to start and echo
    allow = ["execve", "brk", "arch_prctl", "set_tid_address", "set_robust_list", "rseq",
             "prlimit64", "readlink", "mprotect", "uname", "getuid", "geteuid", "getpid",
             "write", "exit_group", "exit", "rt_sigaction", "rt_sigprocmask", "ioctl",
             "mmap", "munmap", "fstat", "newfstatat", "getrandom", "close", "read",
             "sigaltstack", "futex", "openat", "lseek"]
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": errno.ENOSYS,
               "syscalls": [{"names": allow, "action": "SCMP_ACT_ALLOW"}]}
    r = run_child(with_filter(profile), [BUSYBOX, "echo", "ok"])
    assert (r.code, r.out) == (0, "ok\n")
    r = run_child(with_filter(profile), [BUSYBOX, "mkdir", os.path.join(shared_dir, "x")])
    assert r.code == 1 and "Function not implemented" in r.err


@pytest.mark.parametrize("action", ["SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                                    "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP"])
def test_killing_actions_end_with_sigsys(shared_dir, action):
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": action}]}
    r = run_child(with_filter(profile), [BUSYBOX, "mkdir", os.path.join(shared_dir, "x")])
    assert r.signal == signal.SIGSYS
    assert not os.path.exists(os.path.join(shared_dir, "x"))


def test_log_and_allow_let_the_call_through(shared_dir):
    profile = {"defaultAction": "SCMP_ACT_LOG",
               "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ALLOW"}]}
    r = run_child(with_filter(profile), [BUSYBOX, "mkdir", os.path.join(shared_dir, "x")])
    assert r.code == 0 and os.path.isdir(os.path.join(shared_dir, "x"))


def test_trace_without_tracer_fails_with_enosys(shared_dir):
    # seccomp(2): with no tracer attached, SECCOMP_RET_TRACE makes the call ENOSYS
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_TRACE"}]}
    r = run_child(with_filter(profile), [BUSYBOX, "mkdir", os.path.join(shared_dir, "x")])
    assert r.code == 1 and "Function not implemented" in r.err


def test_argument_condition(shared_dir):
    f = os.path.join(shared_dir, "f")
    open(f, "w").close()
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["chown", "fchownat", "lchown"], "action": "SCMP_ACT_ERRNO",
         "errnoRet": errno.EROFS,
         "args": [{"index": 1, "value": 1234, "op": "SCMP_CMP_EQ"}]}]}
    r = run_child(with_filter(profile), [BUSYBOX, "chown", "1234", f])
    assert r.code == 1 and "Read-only file system" in r.err
    r = run_child(with_filter(profile), [BUSYBOX, "chown", "1000", f])
    assert r.code == 0 and os.stat(f).st_uid == 1000


def test_no_new_privs_visible_and_not_forced(shared_dir):
    # with NNP: the exec'd program sees it
    r = run_child(with_filter(DENY_MKDIR, nnp=True), [BUSYBOX, "cat", "/proc/self/status"])
    assert status_fields(r.out)["NoNewPrivs"] == "1"
    assert status_fields(r.out)["Seccomp"] == "2"
    # without: root (CAP_SYS_ADMIN) may load a filter, and NNP stays off
    # (libseccomp's own seccomp_load would have switched it on)
    r = run_child(with_filter(DENY_MKDIR, nnp=False), [BUSYBOX, "cat", "/proc/self/status"])
    assert r.code == 0, r.err
    assert status_fields(r.out)["NoNewPrivs"] == "0"
    assert status_fields(r.out)["Seccomp"] == "2"


def test_load_without_nnp_or_sys_admin_explains():
    prog = seccomp.build(seccomp.compile(DENY_MKDIR))

    def setup():
        sets = caps.parse({"permitted": ["CAP_CHOWN"], "effective": ["CAP_CHOWN"]})
        caps.apply(sets)
        seccomp.load(prog)
    r = run_child(setup, [BUSYBOX, "true"])
    assert r.code == 127
    assert "SeccompError" in r.err and "Permission denied" in r.err
    assert "noNewPrivileges" in r.err


def test_load_before_dropping_caps_then_switch_user(shared_dir):
    """Order (b) of the module docstring: no NNP, load while root, then the
    user switch and capset happen under the filter, then exec."""
    prog = seccomp.build(seccomp.compile(DENY_MKDIR))
    sets = caps.parse({k: ["CAP_KILL"] for k in ("bounding", "permitted", "effective")})

    def setup():
        seccomp.load(prog)
        caps.drop_bounding(sets)
        caps.prepare_user_switch()
        os.setgroups([])
        os.setresgid(1000, 1000, 1000)
        os.setresuid(1000, 1000, 1000)
        caps.finish_user_switch()
        caps.apply(sets)
    r = run_child(setup, [BUSYBOX, "mkdir", os.path.join(shared_dir, "x")])
    assert r.code == 1 and "Operation not permitted" in r.err, r.err


# ---------------------------------------------------------------- SCMP_ACT_NOTIFY

SECCOMP_IOCTL_NOTIF_RECV = 0xC0502100   # _IOWR('!', 0, struct seccomp_notif)  (80 bytes)
SECCOMP_IOCTL_NOTIF_SEND = 0xC0182101   # _IOWR('!', 1, struct seccomp_notif_resp) (24)


def test_notify_hands_the_listener_to_the_agent(shared_dir):
    """The child loads a NOTIFY filter and passes the fd up (as the init does
    to the runtime); the runtime side sends it to the agent at listenerPath;
    the agent answers the child's mkdir with ENOSPC."""
    agent_path = os.path.join(shared_dir, "agent.sock")
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": agent_path,
               "listenerMetadata": "answer=ENOSPC",
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}
    filt = seccomp.compile(profile)
    prog = seccomp.build(filt)
    agent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    agent.bind(agent_path)
    agent.listen(1)
    parent_end, child_end = socket.socketpair()
    got = {}

    def setup():
        parent_end.close()
        caps.set_no_new_privs()
        fd = seccomp.load(prog)
        socket.send_fds(child_end, [b"fd"], [fd])
        os.close(fd)
        child_end.close()

    def runtime_and_agent(pid):
        child_end.close()
        _, fds, _, _ = socket.recv_fds(parent_end, 16, 1)
        assert len(fds) == 1
        state = {"ociVersion": "1.0.2", "id": "runcpy-test-notify", "status": "creating",
                 "pid": pid, "bundle": shared_dir}
        seccomp.send_listener(fds[0], filt.listener_path, json.dumps(state).encode(),
                              filt.listener_metadata)
        os.close(fds[0])
        conn, _ = agent.accept()
        msg, afds, _, _ = socket.recv_fds(conn, 65536, 4)
        while chunk := conn.recv(65536):
            msg += chunk
        conn.close()
        got["msg"] = json.loads(msg)
        notify_fd = afds[0]
        try:
            buf = bytearray(80)
            fcntl.ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_RECV, buf)
            nid, npid, _flags, nr = struct.unpack_from("<QIIi", buf)
            got["nr"], got["pid"] = nr, npid
            resp = bytearray(struct.pack("<QqiI", nid, 0, -errno.ENOSPC, 0))
            fcntl.ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_SEND, resp)
        finally:
            os.close(notify_fd)

    try:
        r = run_child(setup, [BUSYBOX, "mkdir", os.path.join(shared_dir, "x")],
                      after_fork=runtime_and_agent)
    finally:
        agent.close()
        parent_end.close()
        child_end.close()
    msg = got["msg"]
    assert msg["fds"] == ["seccompFd"]
    assert msg["metadata"] == "answer=ENOSPC"
    assert msg["ociVersion"] == "1.0.2"
    assert msg["state"]["id"] == "runcpy-test-notify"
    assert msg["pid"] == msg["state"]["pid"] == got["pid"]
    assert got["nr"] in (83, 258)       # mkdir / mkdirat on x86_64
    assert r.code == 1 and "No space left on device" in r.err, r.err
    assert not os.path.exists(os.path.join(shared_dir, "x"))


@pytest.mark.parametrize("flags", [
    ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"],
    ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],     # dropped: no NOTIFY rule
])
def test_flags_are_accepted_by_the_kernel(shared_dir, flags):
    profile = dict(DENY_MKDIR, flags=flags)
    r = run_child(with_filter(profile), [BUSYBOX, "mkdir", os.path.join(shared_dir, "x")])
    assert r.code == 1 and "Operation not permitted" in r.err, r.err


def test_notify_with_wait_killable_and_tsync_loads(shared_dir):
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/unused.sock",
               "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "SECCOMP_FILTER_FLAG_TSYNC"],
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}
    prog = seccomp.build(seccomp.compile(profile))

    def setup():
        caps.set_no_new_privs()
        fd = seccomp.load(prog)
        assert fd is not None and fd > 2
        os.close(fd)     # no listener left: notified calls fail with ENOSYS
    r = run_child(setup, [BUSYBOX, "mkdir", os.path.join(shared_dir, "x")])
    assert r.code == 1 and "Function not implemented" in r.err, r.err


def test_kernel_refusal_is_reported_with_the_syscall():
    bad = seccomp.Program(insns=b"\x06\x00\x00\x00\x00\x00\xff\x7f", flags=1 << 30)

    def setup():
        caps.set_no_new_privs()
        try:
            seccomp.load(bad)
        except SeccompError as e:
            os.write(2, f"{e}\n".encode())
            os._exit(3)
    r = run_child(setup, [BUSYBOX, "true"])
    assert r.code == 3
    assert "seccomp(SECCOMP_SET_MODE_FILTER): Invalid argument" in r.err
