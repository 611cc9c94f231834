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
