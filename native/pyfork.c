/* nsu_fork_into_cgroup: os.fork(), but the child starts in a cgroup v2
 * directory (clone3 with CLONE_INTO_CGROUP, Linux 5.7).
 *
 * Moving a process into a cgroup afterwards (a write to cgroup.procs) makes
 * the kernel take cgroup_threadgroup_rwsem for writing, which waits for an
 * RCU grace period (~10 ms here) while holding cgroup_mutex; a child made
 * in its cgroup takes no such lock.  crun does the same.
 *
 * The interpreter's fork bookkeeping is what os.fork does: PyOS_BeforeFork,
 * then PyOS_AfterFork_Child / _Parent, with the GIL held (cffi released it
 * around this call; PyGILState_Ensure takes it back).  Unlike glibc's
 * fork(), clone3 runs no pthread_atfork handlers: the caller must be
 * single-threaded (runc-py's create is).  Returns the child's pid (0 in
 * the child) or -errno, with nothing forked. */
#include <Python.h>   /* first, as Python requires; it defines _GNU_SOURCE */

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "nsutil.h"

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#define NSU_CLONE_INTO_CGROUP 0x200000000ULL

/* the kernel's struct clone_args (include/uapi/linux/sched.h), up to the
 * cgroup field (CLONE_ARGS_SIZE_VER2) */
struct nsu_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls,
             set_tid, set_tid_size, cgroup;
};

long nsu_fork_into_cgroup(int cgroup_fd)
{
    struct nsu_clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = NSU_CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = (uint64_t)cgroup_fd;

    PyGILState_STATE gil = PyGILState_Ensure();
    PyOS_BeforeFork();
    long pid = syscall(SYS_clone3, &args, sizeof args);
    int err = errno;
    if (pid == 0)
        PyOS_AfterFork_Child();
    else
        PyOS_AfterFork_Parent();
    PyGILState_Release(gil);
    return pid < 0 ? -err : pid;
}
