"""cffi builder (out-of-line API mode) for runc_py._seccomp: libseccomp, linked.

runc_py.seccomp uses libseccomp (Debian libseccomp-dev) only to turn rules
into a BPF program (seccomp_export_bpf); it loads that program itself with
one seccomp(2) call (rps_set_filter below), so the flags it passes are
exactly the ones config.json asked for (libseccomp's seccomp_load would also
switch on no_new_privs by default) and nothing else runs after the filter is
in place.

Kept apart from runc_py._native so that the runtime links libseccomp only
when a container has a seccomp profile.  Built by setup.py (cffi_modules) or
by hand with `python native/build_seccomp.py`; the C compile's temp dir is
build/seccomp, the finished .so is copied into runc_py/."""
import glob
import os
import shutil

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)

CDEF = """
typedef void *scmp_filter_ctx;
typedef uint64_t scmp_datum_t;

enum scmp_filter_attr {
    SCMP_FLTATR_ACT_DEFAULT = 1,
    SCMP_FLTATR_ACT_BADARCH = 2,
    SCMP_FLTATR_CTL_NNP = 3,
    SCMP_FLTATR_CTL_TSYNC = 4,
    SCMP_FLTATR_API_TSKIP = 5,
    SCMP_FLTATR_CTL_LOG = 6,
    SCMP_FLTATR_CTL_SSB = 7,
    SCMP_FLTATR_CTL_OPTIMIZE = 8,
    SCMP_FLTATR_API_SYSRAWRC = 9,
    ...
};

enum scmp_compare {
    SCMP_CMP_NE = 1,
    SCMP_CMP_LT = 2,
    SCMP_CMP_LE = 3,
    SCMP_CMP_EQ = 4,
    SCMP_CMP_GE = 5,
    SCMP_CMP_GT = 6,
    SCMP_CMP_MASKED_EQ = 7,
    ...
};

struct scmp_arg_cmp {
    unsigned int arg;
    enum scmp_compare op;
    scmp_datum_t datum_a;
    scmp_datum_t datum_b;
};

struct scmp_version {
    unsigned int major;
    unsigned int minor;
    unsigned int micro;
};

#define SCMP_ACT_KILL_PROCESS ...
#define SCMP_ACT_KILL_THREAD ...
#define SCMP_ACT_KILL ...
#define SCMP_ACT_TRAP ...
#define SCMP_ACT_NOTIFY ...
#define SCMP_ACT_LOG ...
#define SCMP_ACT_ALLOW ...
#define SCMP_ARCH_NATIVE ...
#define SCMP_ARCH_X86 ...
#define SCMP_ARCH_X86_64 ...
#define SCMP_ARCH_X32 ...
#define SCMP_ARCH_AARCH64 ...
#define __NR_SCMP_ERROR ...

#define SECCOMP_FILTER_FLAG_TSYNC ...
#define SECCOMP_FILTER_FLAG_LOG ...
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW ...
#define SECCOMP_FILTER_FLAG_NEW_LISTENER ...
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH ...
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ...

const struct scmp_version *seccomp_version(void);
unsigned int seccomp_api_get(void);

scmp_filter_ctx seccomp_init(uint32_t def_action);
void seccomp_release(scmp_filter_ctx ctx);

uint32_t seccomp_arch_resolve_name(const char *arch_name);
uint32_t seccomp_arch_native(void);
int seccomp_arch_exist(const scmp_filter_ctx ctx, uint32_t arch_token);
int seccomp_arch_add(scmp_filter_ctx ctx, uint32_t arch_token);
int seccomp_arch_remove(scmp_filter_ctx ctx, uint32_t arch_token);

int seccomp_attr_get(const scmp_filter_ctx ctx, enum scmp_filter_attr attr,
                     uint32_t *value);
int seccomp_attr_set(scmp_filter_ctx ctx, enum scmp_filter_attr attr,
                     uint32_t value);

int seccomp_syscall_resolve_name(const char *name);
int seccomp_syscall_resolve_name_arch(uint32_t arch_token, const char *name);
char *seccomp_syscall_resolve_num_arch(uint32_t arch_token, int num);

int seccomp_rule_add_array(scmp_filter_ctx ctx, uint32_t action, int syscall,
                           unsigned int arg_cnt,
                           const struct scmp_arg_cmp *arg_array);

int seccomp_load(const scmp_filter_ctx ctx);
int seccomp_notify_fd(const scmp_filter_ctx ctx);
int seccomp_export_bpf(const scmp_filter_ctx ctx, int fd);

/* ours: seccomp(SECCOMP_SET_MODE_FILTER, flags, {count, insns}); returns the
 * listener fd (NEW_LISTENER), 0, or -errno */
long rps_set_filter(unsigned int flags, const void *insns, unsigned int count);
"""

SOURCE = r"""
#include <errno.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>

#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

long rps_set_filter(unsigned int flags, const void *insns, unsigned int count)
{
    struct sock_fprog prog;
    long r;
    prog.len = (unsigned short)count;
    prog.filter = (struct sock_filter *)insns;
    r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
    return r < 0 ? -errno : r;
}
"""

ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source(
    "runc_py._seccomp",
    SOURCE,
    libraries=["seccomp"],
    extra_compile_args=["-O2", "-Wall"],
)


def build():
    tmp = os.path.join(TOP, "build", "seccomp")
    cwd = os.getcwd()
    os.chdir(TOP)
    try:
        ffibuilder.compile(tmpdir=tmp, verbose=False)
    finally:
        os.chdir(cwd)
    for so in glob.glob(os.path.join(tmp, "runc_py", "_seccomp*.so")):
        shutil.copy(so, os.path.join(TOP, "runc_py"))


if __name__ == "__main__":
    build()
