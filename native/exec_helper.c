/* runc-py-exec: the last hop before the container's program.
 *
 * The runtime's init and exec processes are Python; if they execve'd the
 * user's program directly, a program whose interpreter is /proc/self/exe
 * would start the host's Python binary inside the container and could
 * reopen it for writing (the runc CVE-2019-5736 class of escapes).  So the
 * runtime copies this small static binary into a sealed memfd and execs
 * that; it then execs the real program.  /proc/self/exe of anything in the
 * container therefore points at a sealed, unwritable memfd, never at a host
 * file.  It only runs when argv[0] is its own marker, so it cannot be
 * turned into a loop through a `#!/proc/self/exe` script. */
/* Two builds of the same program.  On x86_64 build_native.py compiles it
 * freestanding (RUNC_PY_FREESTANDING: no libc, raw system calls, ~9 KB):
 * the runtime copies it into a memfd on every create and exec, and the
 * kernel maps and starts it before every container program, so a 680 KB
 * static glibc binary cost ~0.5 ms each time.  Elsewhere, or when that
 * build fails, the portable glibc version below is linked statically. */
#if defined(RUNC_PY_FREESTANDING) && defined(__x86_64__)

#define NR_write 1
#define NR_execve 59
#define NR_exit_group 231

static long sys3(long n, long a, long b, long c)
{
    long r;
    __asm__ volatile ("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c)
                      : "rcx", "r11", "memory");
    return r;
}

static unsigned long slen(const char *s)
{
    unsigned long n = 0;
    while (s[n])
        n++;
    return n;
}

static void say(const char *s)
{
    if (s)
        sys3(NR_write, 2, (long)s, (long)slen(s));
}

static int same(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

/* glibc's wording for what execve(2) can fail with */
static const char *reason(long e)
{
    switch (e) {
    case 1: return "Operation not permitted";
    case 2: return "No such file or directory";
    case 7: return "Argument list too long";
    case 8: return "Exec format error";
    case 12: return "Cannot allocate memory";
    case 13: return "Permission denied";
    case 20: return "Not a directory";
    case 21: return "Is a directory";
    case 26: return "Text file busy";
    case 36: return "File name too long";
    case 40: return "Too many levels of symbolic links";
    default: return 0;
    }
}

__attribute__((noreturn, used)) void helper_main(long *sp)
{
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    char **envp = argv + argc + 1;
    long code = 127;

    if (argc < 3 || !same(argv[0], "runc-py-exec")) {
        say("runc-py-exec: not a program: this is the runtime's exec helper\n");
    } else {
        long e = -sys3(NR_execve, (long)argv[1], (long)(argv + 2), (long)envp);
        const char *why = reason(e);
        char num[24];
        if (!why) {                     /* "errno N" */
            char *p = num + sizeof num;
            long v = e;
            *--p = 0;
            do {
                *--p = (char)('0' + v % 10);
                v /= 10;
            } while (v && p > num + 6);
            p -= 6;
            for (int i = 0; i < 6; i++)
                p[i] = "errno "[i];
            why = p;
        }
        say("runc-py: exec ");
        say(argv[1]);
        say(": ");
        say(why);
        say("\n");
        code = e == 2 ? 127 : 126;
    }
    sys3(NR_exit_group, code, 0, 0);
    for (;;)
        ;
}

__asm__(".text\n.global _start\n_start:\n"
        "  xor %rbp, %rbp\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call helper_main\n"
        "  hlt\n");

#else

#include <errno.h>
#include <string.h>
#include <unistd.h>

static void say(const char *a, const char *b, const char *c)
{
    if (a) (void)!write(2, a, strlen(a));
    if (b) (void)!write(2, b, strlen(b));
    if (c) (void)!write(2, c, strlen(c));
}

int main(int argc, char **argv, char **envp)
{
    if (argc < 3 || strcmp(argv[0], "runc-py-exec") != 0) {
        say("runc-py-exec: not a program: this is the runtime's exec helper\n", 0, 0);
        return 127;
    }
    execve(argv[1], argv + 2, envp);
    int e = errno;
    say("runc-py: exec ", argv[1], ": ");
    say(strerror(e), "\n", 0);
    return e == ENOENT ? 127 : 126;
}

#endif
