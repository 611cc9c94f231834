"""Docker's default seccomp profile, written here from its documented rules,
and the translation of a Docker-format profile into the OCI linux.seccomp
object for one container.

The documented rules: deny by default with EPERM; allow the ordinary
syscalls a process needs; allow `personality` only for the harmless
personas; refuse `socket(AF_VSOCK)`; allow `clone` only without namespace
flags unless CAP_SYS_ADMIN is granted, and make `clone3` fail with ENOSYS so
libcs fall back to `clone`; allow the privileged syscalls (mount, reboot,
module loading, clock setting, ...) only when the container holds the
capability that the kernel would check for them anyway.

A profile entry may carry `includes`/`excludes` with `caps`, `arches`
and `minKernel`, like Docker's JSON; `to_oci()` resolves them.
"""
import os

__all__ = ["default_profile", "to_oci", "ARCH_MAP"]

ERRNO_EPERM = 1
ERRNO_ENOSYS = 38
CLONE_NAMESPACE_FLAGS = 0x7E020000  # NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
AF_VSOCK = 40

ARCH_MAP = {
    "x86_64": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "aarch64": ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
    "armv7l": ["SCMP_ARCH_ARM"],
    "ppc64le": ["SCMP_ARCH_PPC64LE"],
    "s390x": ["SCMP_ARCH_S390X", "SCMP_ARCH_S390"],
    "riscv64": ["SCMP_ARCH_RISCV64"],
}
_DOCKER_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le",
                "s390x": "s390x", "riscv64": "riscv64"}

# Syscalls every container may make.
_ALLOWED = """
accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown
chown32 clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime
clock_gettime64 clock_nanosleep clock_nanosleep_time64 close close_range connect
copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old
epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit
exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir
fchmod fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr
flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64
fsync ftruncate ftruncate64 futex futex_requeue futex_time64 futex_wait futex_waitv
futex_wake futimesat getcpu getcwd getdents getdents64 getegid getegid32 geteuid
geteuid32 getgid getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp
getpid getppid getpriority getrandom getresgid getresgid32 getresuid getresuid32
getrlimit get_robust_list getrusage getsid getsockname getsockopt get_thread_area gettid
gettimeofday getuid getuid32 getxattr inotify_add_watch inotify_init inotify_init1
inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents
io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit ipc kill
landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown lchown32
lgetxattr link linkat listen listxattr llistxattr _llseek lremovexattr lseek lsetxattr
lstat lstat64 madvise map_shadow_stack membarrier memfd_create memfd_secret mincore
mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr
mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend
mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv msgsnd msync munlock
munlockall munmap name_to_handle_at nanosleep newfstatat _newselect open openat openat2
pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll
ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6
pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv recv
recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr rename renameat
renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask
rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64
rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam sched_get_priority_max
sched_get_priority_min sched_getscheduler sched_rr_get_interval
sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam
sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop
semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32
setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid setpriority
setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32
setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid
setuid32 setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4
sigprocmask sigreturn socketcall socketpair splice stat stat64 statfs statfs64 statx
symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time timer_create
timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime
timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime
timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat
utime utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev
""".split()

# Syscalls allowed only with a capability (the kernel checks it too).
_BY_CAP = {
    "CAP_SYS_ADMIN": """bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick
        lookup_dcookie mount mount_setattr move_mount open_tree perf_event_open quotactl
        quotactl_fd setdomainname sethostname setns syslog umount umount2 unshare""",
    "CAP_SYS_BOOT": "reboot",
    "CAP_SYS_CHROOT": "chroot",
    "CAP_SYS_MODULE": "delete_module init_module finit_module",
    "CAP_SYS_PACCT": "acct",
    "CAP_SYS_PTRACE": "kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace",
    "CAP_SYS_RAWIO": "iopl ioperm",
    "CAP_SYS_TIME": "settimeofday stime clock_settime clock_settime64",
    "CAP_SYS_TTY_CONFIG": "vhangup",
    "CAP_SYS_NICE": "get_mempolicy mbind set_mempolicy set_mempolicy_home_node",
    "CAP_SYSLOG": "syslog",
    "CAP_BPF": "bpf",
    "CAP_PERFMON": "perf_event_open",
}


def default_profile():
    """Docker's default profile as a Docker-format dict (fresh copy)."""
    syscalls = [{"names": list(_ALLOWED), "action": "SCMP_ACT_ALLOW"}]
    syscalls.append({"names": ["socket"], "action": "SCMP_ACT_ALLOW",
                     "args": [{"index": 0, "value": AF_VSOCK, "op": "SCMP_CMP_NE"}]})
    for persona in (0x0, 0x0008, 0x20000, 0x20008, 0xFFFFFFFF):
        syscalls.append({"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                         "args": [{"index": 0, "value": persona, "op": "SCMP_CMP_EQ"}]})
    # Unprivileged process tracing, allowed by the kernel's own checks since 4.8.
    syscalls.append({"names": ["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv",
                               "process_vm_writev", "ptrace"],
                     "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}})
    syscalls.append({"names": ["arch_prctl", "modify_ldt"], "action": "SCMP_ACT_ALLOW",
                     "includes": {"arches": ["amd64", "x32", "386"]}})
    syscalls.append({"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                     "args": [{"index": 0, "value": CLONE_NAMESPACE_FLAGS, "valueTwo": 0,
                               "op": "SCMP_CMP_MASKED_EQ"}],
                     "excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390", "s390x"]}})
    syscalls.append({"names": ["clone3"], "action": "SCMP_ACT_ERRNO",
                     "errnoRet": ERRNO_ENOSYS, "excludes": {"caps": ["CAP_SYS_ADMIN"]}})
    for cap, names in _BY_CAP.items():
        syscalls.append({"names": names.split(), "action": "SCMP_ACT_ALLOW",
                         "includes": {"caps": [cap]}})
    return {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": ERRNO_EPERM,
            "archMap": [{"architecture": v[0], "subArchitectures": v[1:]}
                        for v in ARCH_MAP.values()],
            "syscalls": syscalls}


def _kernel_at_least(release, wanted):
    def nums(s):
        out = []
        for part in s.split(".")[:2]:
            digits = "".join(ch for ch in part if ch.isdigit()) or "0"
            out.append(int(digits))
        return tuple(out)
    return nums(release) >= nums(wanted)


def _applies(entry, caps, arch, kernel):
    inc, exc = entry.get("includes") or {}, entry.get("excludes") or {}
    darch = _DOCKER_ARCH.get(arch, arch)
    if inc.get("caps") and not all(c in caps for c in inc["caps"]):
        return False
    if inc.get("arches") and darch not in inc["arches"]:
        return False
    if inc.get("minKernel") and not _kernel_at_least(kernel, inc["minKernel"]):
        return False
    if exc.get("caps") and any(c in caps for c in exc["caps"]):
        return False
    if exc.get("arches") and darch in exc["arches"]:
        return False
    return True


def to_oci(profile, caps, arch=None, kernel=None):
    """Docker-format profile + the container's capabilities -> OCI linux.seccomp."""
    arch = arch or os.uname().machine      # platform.machine() without `platform`
    kernel = kernel or os.uname().release
    out = {"defaultAction": profile.get("defaultAction", "SCMP_ACT_ERRNO")}
    if "defaultErrnoRet" in profile:
        out["defaultErrnoRet"] = profile["defaultErrnoRet"]
    if profile.get("architectures"):
        out["architectures"] = list(profile["architectures"])
    else:
        arches = ARCH_MAP.get(arch)
        for m in profile.get("archMap") or []:
            if arches and m["architecture"] == arches[0]:
                arches = [m["architecture"]] + list(m.get("subArchitectures") or [])
        if arches:
            out["architectures"] = arches
    if profile.get("flags"):
        out["flags"] = list(profile["flags"])
    rules = []
    for entry in profile.get("syscalls") or []:
        if not _applies(entry, caps, arch, kernel):
            continue
        names = entry.get("names") or ([entry["name"]] if entry.get("name") else [])
        rule = {"names": list(names), "action": entry["action"]}
        if entry.get("errnoRet") is not None:
            rule["errnoRet"] = entry["errnoRet"]
        if entry.get("args"):
            rule["args"] = [dict(a) for a in entry["args"]]
        rules.append(rule)
    out["syscalls"] = rules
    return out
