/* nsutil: thin, stateless wrappers over the Linux syscalls that CPython's
 * os module lacks.  Every function returns 0 (or a non-negative result) on
 * success and -errno on failure; nothing here keeps state or calls back into
 * Python.  Sequencing lives in runc_py/process/. */
#ifndef NSUTIL_H
#define NSUTIL_H
#include <stdint.h>

int nsu_unshare(int flags);
int nsu_setns(int fd, int nstype);
int nsu_mount(const char *source, const char *target, const char *fstype,
              unsigned long flags, const char *data);
int nsu_umount2(const char *target, int flags);
int nsu_pivot_root(const char *new_root, const char *put_old);
int nsu_setdomainname(const char *name, int len);
int nsu_sethostname(const char *name, int len);
/* caps: data[0..2] = effective, permitted, inheritable (low 32 bits),
 * data[3..5] = the same for the high 32 bits. pid 0 = self. */
int nsu_capget(int pid, uint32_t *data);
int nsu_capset(const uint32_t *data);
long nsu_prctl(int option, unsigned long a2, unsigned long a3,
               unsigned long a4, unsigned long a5);
long nsu_personality(unsigned long persona);
long nsu_bpf(int cmd, void *attr, unsigned int size);
long nsu_seccomp(unsigned int op, unsigned int flags, void *args);
long nsu_keyctl_join(const char *name);
int nsu_mount_setattr_ro(int dirfd, const char *path, int recursive);
int nsu_open_tree(int dirfd, const char *path, unsigned int flags);
int nsu_move_mount(int from_dirfd, const char *from_path, int to_dirfd,
                   const char *to_path, unsigned int flags);
int nsu_pidfd_open(int pid, unsigned int flags);
int nsu_pidfd_send_signal(int pidfd, int sig, unsigned int flags);
int nsu_setrlimit(int resource, uint64_t soft, uint64_t hard);
/* pyfork.c: os.fork into a cgroup v2 directory (the one exception to
 * "nothing here calls into Python": the interpreter's fork bookkeeping) */
long nsu_fork_into_cgroup(int cgroup_fd);
#endif
