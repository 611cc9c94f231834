"""linux.seccomp without root: validation (pure), and the BPF that libseccomp
builds, run through a small classic-BPF interpreter on made-up seccomp_data."""
import errno
import json
import os
import socket
import struct
import subprocess
import sys

import pytest

from runc_py import seccomp
from runc_py.seccomp import SeccompError

AUDIT_ARCH_X86_64 = 0xC000003E
AUDIT_ARCH_I386 = 0x40000003
AUDIT_ARCH_AARCH64 = 0xC00000B7
NR = {"mkdir": 83, "mkdirat": 258, "chown": 92, "getcwd": 79, "personality": 135,
      "write": 1, "clone": 56, "socket": 41}
NR_I386 = {"mkdir": 39, "chown": 182}

ALLOW, ERRNO, KILL_THREAD, KILL_PROCESS = 0x7FFF0000, 0x00050000, 0, 0x80000000
TRAP, TRACE, LOG, NOTIFY = 0x00030000, 0x7FF00000, 0x7FFC0000, 0x7FC00000


def run_bpf(prog, nr, arch=AUDIT_ARCH_X86_64, args=(0,) * 6):
    """Evaluate a classic BPF seccomp program on struct seccomp_data."""
    args = tuple(args) + (0,) * (6 - len(args))
    data = struct.pack("<iIQ6Q", nr, arch, 0x1000, *args)
    insns = [struct.unpack_from("<HBBI", prog.insns, i * 8) for i in range(prog.count)]
    a = x = 0
    mem = [0] * 16
    pc = 0
    while True:
        code, jt, jf, k = insns[pc]
        pc += 1
        cls = code & 0x07
        if cls == 0x00:                                   # BPF_LD
            mode = code & 0xE0
            if mode == 0x20:                              # ABS, W
                a = struct.unpack_from("<I", data, k)[0]
            elif mode == 0x00:                            # IMM
                a = k
            elif mode == 0x60:                            # MEM
                a = mem[k]
            else:
                raise AssertionError(f"unhandled ld {code:#x}")
        elif cls == 0x01:                                 # BPF_LDX
            x = mem[k] if code & 0xE0 == 0x60 else k
        elif cls == 0x02:                                 # BPF_ST
            mem[k] = a
        elif cls == 0x03:                                 # BPF_STX
            mem[k] = x
        elif cls == 0x04:                                 # BPF_ALU
            src = x if code & 0x08 else k
            op = code & 0xF0
            a = {0x00: lambda: a + src, 0x10: lambda: a - src, 0x50: lambda: a & src,
                 0x40: lambda: a | src, 0xA0: lambda: a ^ src,
                 0x60: lambda: a << src, 0x70: lambda: a >> src,
                 0x80: lambda: -a}[op]() & 0xFFFFFFFF
        elif cls == 0x05:                                 # BPF_JMP
            op = code & 0xF0
            src = x if code & 0x08 else k
            if op == 0x00:
                pc += k
                continue
            cond = {0x10: a == src, 0x20: a > src, 0x30: a >= src, 0x40: bool(a & src)}[op]
            pc += jt if cond else jf
        elif cls == 0x06:                                 # BPF_RET
            return a if code & 0x18 == 0x10 else k
        elif cls == 0x07:                                 # BPF_MISC
            if code & 0xF8 == 0x00:
                x = a
            else:
                a = x
        else:
            raise AssertionError(f"unhandled class {code:#x}")


def build(d):
    pytest.importorskip("runc_py._seccomp",
                        reason="libseccomp helper not built (python native/build_seccomp.py)")
    return seccomp.build(seccomp.compile(d))


# ---------------------------------------------------------------- compile

def test_compile_normalises():
    f = seccomp.compile({
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64"],
        "flags": ["SECCOMP_FILTER_FLAG_LOG"],
        "syscalls": [
            {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["ptrace"], "action": "SCMP_ACT_TRACE", "errnoRet": 5},
            {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
        ]})
    assert f.default_action == seccomp.Action("SCMP_ACT_ERRNO", 38)
    assert f.default_action.value == 0x00050026
    assert f.architectures == ("SCMP_ARCH_X86_64", "SCMP_ARCH_X86")
    assert f.rules[1].action == seccomp.Action("SCMP_ACT_ERRNO", errno.EPERM)
    assert f.rules[2].action.value == 0x7FF00005
    assert f.rules[3].args == (seccomp.Arg(0, "SCMP_CMP_EQ", 1, 0),)
    assert f.rules[3].field == "linux.seccomp.syscalls[3]"
    assert f.kernel_flags == 2
    assert not f.uses_notify


@pytest.mark.parametrize("bad, field, words", [
    ({}, "linux.seccomp.defaultAction", "required"),
    ({"defaultAction": "SCMP_ACT_DENY"}, "linux.seccomp.defaultAction", "unknown action"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1},
     "linux.seccomp.defaultErrnoRet", "does not take an errno"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": -1},
     "linux.seccomp.defaultErrnoRet", "unsigned"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000},
     "linux.seccomp.defaultErrnoRet", "2^16"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]},
     "linux.seccomp.architectures[0]", "unknown architecture"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_NEW_LISTENER"]},
     "linux.seccomp.flags[0]", "unknown flag"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"action": "SCMP_ACT_ERRNO"}]},
     "linux.seccomp.syscalls[0].names", "required"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [], "action": "SCMP_ACT_LOG"}]},
     "linux.seccomp.syscalls[0].names", "at least one"),
    ({"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["a", ""], "action": "SCMP_ACT_LOG"}]},
     "linux.seccomp.syscalls[0].names[1]", "non-empty string"),
    ({"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["a"], "action": "SCMP_ACT_LOG"},
                   {"names": ["b"], "action": "SCMP_ACT_BLOCK"}]},
     "linux.seccomp.syscalls[1].action", "unknown action 'SCMP_ACT_BLOCK'"),
    ({"defaultAction": "SCMP_ACT_ERRNO",
      "syscalls": [{"names": ["a"], "action": "SCMP_ACT_KILL", "errnoRet": 1}]},
     "linux.seccomp.syscalls[0].errnoRet", "SCMP_ACT_KILL does not take an errno"),
    ({"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ERRNO",
                    "args": [{"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}]}]},
     "linux.seccomp.syscalls[0].args[0].index", "0-5"),
    ({"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ERRNO",
                    "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                             {"index": 1, "value": 0, "op": "SCMP_CMP_LIKE"}]}]},
     "linux.seccomp.syscalls[0].args[1].op", "unknown operator"),
    ({"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ERRNO",
                    "args": [{"index": 0, "value": 1 << 64, "op": "SCMP_CMP_EQ"}]}]},
     "linux.seccomp.syscalls[0].args[0].value", "2^64"),
    ({"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0}]}]},
     "linux.seccomp.syscalls[0].args[0].value", "required"),
    ({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/x"},
     "linux.seccomp.defaultAction", "cannot be the default"),
    ({"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]},
     "linux.seccomp.listenerPath", "syscalls[0] uses SCMP_ACT_NOTIFY"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/x",
      "syscalls": [{"names": ["mkdir", "write"], "action": "SCMP_ACT_NOTIFY"}]},
     "linux.seccomp.syscalls[0].names[1]", "cannot be used for 'write'"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "m"},
     "linux.seccomp.listenerMetadata", "without listenerPath"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/" + "x" * 200},
     "linux.seccomp.listenerPath", "107 bytes"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {"names": ["a"]}},
     "linux.seccomp.syscalls", "must be an array"),
])
def test_compile_rejects(bad, field, words):
    with pytest.raises(SeccompError) as e:
        seccomp.compile(bad)
    assert e.value.field == field
    assert words in str(e.value)


def test_errno_ret_zero_is_allowed():
    f = seccomp.compile({"defaultAction": "SCMP_ACT_ALLOW",
                         "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                                       "errnoRet": 0}]})
    assert f.rules[0].action.value == 0x00050000


def test_notify_sets_new_listener_and_esrch_with_tsync():
    f = seccomp.compile({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock",
                         "listenerMetadata": "meta", "flags": ["SECCOMP_FILTER_FLAG_TSYNC"],
                         "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})
    assert f.uses_notify
    assert f.kernel_flags == 1 | 8 | 16


def test_repeated_index_means_or():
    f = seccomp.compile({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                  {"index": 0, "value": 9, "op": "SCMP_CMP_EQ"}]},
        {"names": ["socket"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                  {"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]}]})
    assert len(f.rules[0].condition_sets()) == 2
    assert len(f.rules[1].condition_sets()) == 1


def test_compile_does_not_load_libseccomp():
    code = ("import sys; from runc_py import seccomp as s; "
            "s.compile({'defaultAction': 'SCMP_ACT_ALLOW'}); "
            "print('runc_py._seccomp' in sys.modules, 'runc_py._native' in sys.modules)")
    root = seccomp.__file__.rsplit("/runc_py/", 1)[0]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=root, check=True)
    assert out.stdout.split() == ["False", "False"]


# ---------------------------------------------------------------- build: BPF behaviour

def test_action_values_match_libseccomp():
    mod = pytest.importorskip("runc_py._seccomp", reason="libseccomp helper not built")
    lib = mod.lib
    assert seccomp.ACTIONS["SCMP_ACT_KILL"] == lib.SCMP_ACT_KILL
    assert seccomp.ACTIONS["SCMP_ACT_KILL_PROCESS"] == lib.SCMP_ACT_KILL_PROCESS
    assert seccomp.ACTIONS["SCMP_ACT_TRAP"] == lib.SCMP_ACT_TRAP
    assert seccomp.ACTIONS["SCMP_ACT_NOTIFY"] == lib.SCMP_ACT_NOTIFY
    assert seccomp.ACTIONS["SCMP_ACT_LOG"] == lib.SCMP_ACT_LOG
    assert seccomp.ACTIONS["SCMP_ACT_ALLOW"] == lib.SCMP_ACT_ALLOW
    for name, value in seccomp.OPERATORS.items():
        assert getattr(lib, name) == value
    assert seccomp.FLAGS["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"] == \
        lib.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV


def test_deny_mkdir_with_eperm():
    p = build({"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]})
    assert run_bpf(p, NR["mkdir"]) == ERRNO | errno.EPERM
    assert run_bpf(p, NR["mkdirat"]) == ERRNO | errno.EPERM
    assert run_bpf(p, NR["getcwd"]) == ALLOW
    assert run_bpf(p, NR["write"]) == ALLOW
    assert p.flags == 0 and not p.notify


def test_every_action():
    p = build({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": errno.ENOSYS,
               "syscalls": [
                   {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                   {"names": ["write"], "action": "SCMP_ACT_LOG"},
                   {"names": ["mkdir"], "action": "SCMP_ACT_KILL"},
                   {"names": ["chown"], "action": "SCMP_ACT_KILL_PROCESS"},
                   {"names": ["getcwd"], "action": "SCMP_ACT_TRAP"},
                   {"names": ["personality"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
                   {"names": ["clone"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EACCES},
               ]})
    assert run_bpf(p, 0) == ALLOW
    assert run_bpf(p, NR["write"]) == LOG
    assert run_bpf(p, NR["mkdir"]) == KILL_THREAD
    assert run_bpf(p, NR["chown"]) == KILL_PROCESS
    assert run_bpf(p, NR["getcwd"]) == TRAP
    assert run_bpf(p, NR["personality"]) == TRACE | 7
    assert run_bpf(p, NR["clone"]) == ERRNO | errno.EACCES
    assert run_bpf(p, NR["socket"]) == ERRNO | errno.ENOSYS


def test_notify_action_in_program():
    p = build({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/x.sock",
               "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})
    assert run_bpf(p, NR["mkdir"]) == NOTIFY
    assert p.notify and p.flags & 8


def test_argument_conditions():
    p = build({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        # socket(AF_UNIX=1, ...) is denied; other families pass
        {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EAFNOSUPPORT,
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
        # personality(8) or personality(9): OR, as in runc
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                  {"index": 0, "value": 9, "op": "SCMP_CMP_EQ"}]},
        # clone with any namespace flag set: (arg0 & mask) != 0 -> MASKED_EQ on 0 allowed
        {"names": ["clone"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 0, "value": 0x7E020000, "valueTwo": 0x10000000,
                   "op": "SCMP_CMP_MASKED_EQ"}]},
        # chown(path, uid > 1000, gid < 5): AND across indexes
        {"names": ["chown"], "action": "SCMP_ACT_LOG",
         "args": [{"index": 1, "value": 1000, "op": "SCMP_CMP_GT"},
                  {"index": 2, "value": 5, "op": "SCMP_CMP_LT"}]},
        {"names": ["mkdir"], "action": "SCMP_ACT_TRAP",
         "args": [{"index": 1, "value": 0o755, "op": "SCMP_CMP_NE"}]},
        {"names": ["getcwd"], "action": "SCMP_ACT_TRAP",
         "args": [{"index": 1, "value": 1 << 40, "op": "SCMP_CMP_GE"}]},
    ]})
    assert run_bpf(p, NR["socket"], args=(1,)) == ERRNO | errno.EAFNOSUPPORT
    assert run_bpf(p, NR["socket"], args=(2,)) == ALLOW
    assert run_bpf(p, NR["personality"], args=(8,)) == ERRNO | errno.EPERM
    assert run_bpf(p, NR["personality"], args=(9,)) == ERRNO | errno.EPERM
    assert run_bpf(p, NR["personality"], args=(0,)) == ALLOW
    assert run_bpf(p, NR["clone"], args=(0x10000000 | 0x11,)) == ERRNO | errno.EPERM
    assert run_bpf(p, NR["clone"], args=(0x11,)) == ALLOW
    assert run_bpf(p, NR["chown"], args=(0, 1001, 4)) == LOG
    assert run_bpf(p, NR["chown"], args=(0, 1001, 5)) == ALLOW
    assert run_bpf(p, NR["chown"], args=(0, 1000, 4)) == ALLOW
    assert run_bpf(p, NR["mkdir"], args=(0, 0o755)) == ALLOW
    assert run_bpf(p, NR["mkdir"], args=(0, 0o700)) == TRAP
    assert run_bpf(p, NR["getcwd"], args=(0, 1 << 40)) == TRAP       # 64-bit compare
    assert run_bpf(p, NR["getcwd"], args=(0, (1 << 40) - 1)) == ALLOW


def test_architectures():
    d = {"defaultAction": "SCMP_ACT_ALLOW",
         "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}
    native_only = build(d)
    # a 32-bit syscall against a native-only filter: bad arch -> kill
    assert run_bpf(native_only, NR_I386["mkdir"], arch=AUDIT_ARCH_I386) == KILL_THREAD
    multi = build(dict(d, architectures=["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]))
    assert run_bpf(multi, NR_I386["mkdir"], arch=AUDIT_ARCH_I386) == ERRNO | errno.EPERM
    assert run_bpf(multi, NR_I386["chown"], arch=AUDIT_ARCH_I386) == ALLOW
    assert run_bpf(multi, NR["mkdir"]) == ERRNO | errno.EPERM
    assert run_bpf(multi, NR["mkdir"], arch=AUDIT_ARCH_AARCH64) == KILL_THREAD


def test_unknown_syscall_names_are_ignored_and_reported():
    d = {"defaultAction": "SCMP_ACT_ALLOW",
         "syscalls": [{"names": ["no_such_syscall", "mkdir"], "action": "SCMP_ACT_ERRNO"}]}
    p = build(d)
    assert p.ignored == ("no_such_syscall",)
    assert run_bpf(p, NR["mkdir"]) == ERRNO | errno.EPERM
    assert seccomp.unknown_syscalls(seccomp.compile(d)) == ["no_such_syscall"]


def test_other_arch_only_syscall_is_not_unknown():
    # socketcall exists on x86 but not x86_64: libseccomp knows it, nothing fails
    p = build({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"],
               "syscalls": [{"names": ["socketcall"], "action": "SCMP_ACT_ERRNO"}]})
    assert p.ignored == ()
    assert run_bpf(p, 102, arch=AUDIT_ARCH_I386) == ERRNO | errno.EPERM


def test_rule_equal_to_default_is_skipped():
    p = build({"defaultAction": "SCMP_ACT_ERRNO",
               "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
                            {"names": ["write"], "action": "SCMP_ACT_ALLOW"}]})
    assert p.skipped == ("linux.seccomp.syscalls[0]",)
    assert run_bpf(p, NR["write"]) == ALLOW
    assert run_bpf(p, NR["mkdir"]) == ERRNO | errno.EPERM


def test_conflicting_rules_name_the_rule():
    with pytest.raises(SeccompError) as e:
        build({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
            {"names": ["chown", "mkdir"], "action": "SCMP_ACT_LOG",
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}]})
    assert e.value.field == "linux.seccomp.syscalls[1].names[1]"
    assert "conflicts" in str(e.value)


def test_arch_unknown_to_this_libseccomp():
    mod = pytest.importorskip("runc_py._seccomp", reason="libseccomp helper not built")
    if mod.lib.seccomp_arch_resolve_name(b"m68k") != 0:
        pytest.skip("this libseccomp knows m68k")
    with pytest.raises(SeccompError) as e:
        build({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_M68K"]})
    assert e.value.field == "linux.seccomp.architectures[0]"
    assert "not supported by libseccomp" in str(e.value)


def test_docker_like_profile_builds():
    names = ["accept", "read", "write", "openat", "close", "execve", "exit_group", "futex",
             "clone3", "landlock_create_ruleset", "io_uring_setup", "not_a_call_yet"]
    p = build({"defaultAction": "SCMP_ACT_ERRNO",
               "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
               "syscalls": [{"names": names, "action": "SCMP_ACT_ALLOW"},
                            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO",
                             "errnoRet": errno.ENOSYS}]})
    assert p.ignored == ("not_a_call_yet",)
    assert run_bpf(p, 0) == ALLOW
    assert 0 < p.count < 4096


def test_features_lists_what_compile_accepts():
    feats = seccomp.features()
    assert set(feats["actions"]) == set(seccomp.ACTIONS)
    assert set(feats["operators"]) == set(seccomp.OPERATORS)
    assert "SCMP_ARCH_X86_64" in feats["archs"] or not feats["enabled"]


# ---------------------------------------------------------------- listener protocol

def test_send_listener_follows_the_spec(tmp_path):
    path = str(tmp_path / "agent.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    r, w = os.pipe()
    try:
        state = {"ociVersion": "1.0.2", "id": "c1", "status": "creating", "pid": 4422,
                 "bundle": "/b", "annotations": {"k": "v"}}
        seccomp.send_listener(w, path, json.dumps(state).encode(), "MKNOD=/dev/null")
        conn, _ = srv.accept()
        msg, fds, _, _ = socket.recv_fds(conn, 65536, 4)
        rest = b""
        while chunk := conn.recv(65536):
            rest += chunk           # the runtime closed: one state per connection
        conn.close()
        got = json.loads(msg + rest)
        assert got == {"ociVersion": "1.0.2", "fds": ["seccompFd"], "pid": 4422,
                       "metadata": "MKNOD=/dev/null", "state": state}
        assert len(fds) == 1
        os.write(fds[0], b"hi")      # the received fd is the pipe's write end
        assert os.read(r, 2) == b"hi"
        os.close(fds[0])
    finally:
        srv.close()
        os.close(r)
        os.close(w)


def test_send_listener_error_names_the_field(tmp_path):
    r, w = os.pipe()
    try:
        with pytest.raises(SeccompError) as e:
            seccomp.send_listener(w, str(tmp_path / "nobody.sock"), b'{"pid": 1}', None)
        assert e.value.field == "linux.seccomp.listenerPath"
        assert "nobody.sock" in str(e.value)
    finally:
        os.close(r)
        os.close(w)


def test_wait_killable_recv_only_with_notify():
    plain = seccomp.compile({"defaultAction": "SCMP_ACT_ALLOW",
                             "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]})
    assert plain.kernel_flags == 0
    notify = seccomp.compile({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/a",
                              "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
                              "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})
    assert notify.kernel_flags == 32 | 8


def test_preload_loads_libseccomp():
    pytest.importorskip("runc_py._seccomp", reason="libseccomp helper not built")
    code = ("import sys; from runc_py import seccomp as s; s.preload(); "
            "print('runc_py._seccomp' in sys.modules)")
    root = seccomp.__file__.rsplit("/runc_py/", 1)[0]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=root, check=True)
    assert out.stdout.strip() == "True"
