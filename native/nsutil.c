#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include "nsutil.h"

#define RET(x) do { long _r = (long)(x); return _r < 0 ? -errno : _r; } while (0)

int nsu_unshare(int flags) { RET(unshare(flags)); }
int nsu_setns(int fd, int nstype) { RET(setns(fd, nstype)); }

int nsu_mount(const char *source, const char *target, const char *fstype,
              unsigned long flags, const char *data)
{
    RET(mount(source, target, fstype, flags, data));
}

int nsu_umount2(const char *target, int flags) { RET(umount2(target, flags)); }

int nsu_pivot_root(const char *new_root, const char *put_old)
{
    RET(syscall(SYS_pivot_root, new_root, put_old));
}

int nsu_setdomainname(const char *name, int len) { RET(setdomainname(name, len)); }
int nsu_sethostname(const char *name, int len) { RET(sethostname(name, len)); }

int nsu_capget(int pid, uint32_t *data)
{
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, pid };
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d);
    if (syscall(SYS_capget, &hdr, d) < 0)
        return -errno;
    for (int i = 0; i < 2; i++) {
        data[3 * i + 0] = d[i].effective;
        data[3 * i + 1] = d[i].permitted;
        data[3 * i + 2] = d[i].inheritable;
    }
    return 0;
}

int nsu_capset(const uint32_t *data)
{
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct d[2];
    for (int i = 0; i < 2; i++) {
        d[i].effective = data[3 * i + 0];
        d[i].permitted = data[3 * i + 1];
        d[i].inheritable = data[3 * i + 2];
    }
    RET(syscall(SYS_capset, &hdr, d));
}

long nsu_prctl(int option, unsigned long a2, unsigned long a3,
               unsigned long a4, unsigned long a5)
{
    RET(prctl(option, a2, a3, a4, a5));
}

long nsu_personality(unsigned long persona)
{
    errno = 0;
    int r = personality(persona);
    if (r == -1 && errno)
        return -errno;
    return r;
}

long nsu_bpf(int cmd, void *attr, unsigned int size) { RET(syscall(SYS_bpf, cmd, attr, size)); }

long nsu_seccomp(unsigned int op, unsigned int flags, void *args)
{
    RET(syscall(SYS_seccomp, op, flags, args));
}

long nsu_keyctl_join(const char *name)
{
    /* KEYCTL_JOIN_SESSION_KEYRING = 1 */
    RET(syscall(SYS_keyctl, 1, name));
}

#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

struct nsu_mount_attr { uint64_t attr_set, attr_clr, propagation, userns_fd; };

int nsu_mount_setattr_ro(int dirfd, const char *path, int recursive)
{
    struct nsu_mount_attr a = { 0x00000001 /* MOUNT_ATTR_RDONLY */, 0, 0, 0 };
    unsigned int flags = recursive ? 0x8000 /* AT_RECURSIVE */ : 0;
    RET(syscall(SYS_mount_setattr, dirfd, path, flags, &a, sizeof a));
}

int nsu_open_tree(int dirfd, const char *path, unsigned int flags)
{
    RET(syscall(SYS_open_tree, dirfd, path, flags));
}

int nsu_move_mount(int from_dirfd, const char *from_path, int to_dirfd,
                   const char *to_path, unsigned int flags)
{
    RET(syscall(SYS_move_mount, from_dirfd, from_path, to_dirfd, to_path, flags));
}

int nsu_pidfd_open(int pid, unsigned int flags) { RET(syscall(SYS_pidfd_open, pid, flags)); }

int nsu_pidfd_send_signal(int pidfd, int sig, unsigned int flags)
{
    RET(syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, flags));
}

/* setrlimit without Python's resource module (a shared library to load on
 * the init's path); RLIM_INFINITY is all ones */
int nsu_setrlimit(int resource, uint64_t soft, uint64_t hard)
{
    struct rlimit rl = { (rlim_t)soft, (rlim_t)hard };
    RET(setrlimit(resource, &rl));
}
