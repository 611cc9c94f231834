"""The `--init` binary: a tiny static reaper run as the container's PID 1
(Docker bundles tini as /sbin/docker-init for the same job).

It starts the command given after `--` as its child in its own process
group, forwards every catchable signal to it, reaps every orphan that is
re-parented to it, and exits with the child's status (128+N when a signal
killed it).  Compiled once from the C source below with the host's gcc
(`-static -Os`) into DATA_ROOT/bin/, keyed by the source's hash, and
bind-mounted read-only into the container.
"""
import hashlib
import os
import shutil
import subprocess
import tempfile

from .errors import UsageError

SOURCE = r"""
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t child;

static void forward(int sig) { if (child > 0) kill(child, sig); }

int main(int argc, char **argv) {
    int i = 1;
    if (i < argc && strcmp(argv[i], "--") == 0) i++;
    if (i >= argc) { fprintf(stderr, "docker-init: no command given\n"); return 125; }
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    child = fork();
    if (child < 0) { perror("docker-init: fork"); return 125; }
    if (child == 0) {
        setpgid(0, 0);
        sigprocmask(SIG_SETMASK, &old, NULL);
        execvp(argv[i], argv + i);
        fprintf(stderr, "docker-init: exec %s: %s\n", argv[i], strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward;
    for (int s = 1; s < NSIG; s++) {
        if (s == SIGKILL || s == SIGSTOP || s == SIGCHLD) continue;
        sigaction(s, &sa, NULL);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    for (;;) {
        int status;
        pid_t p = waitpid(-1, &status, 0);
        if (p < 0) {
            if (errno == EINTR) continue;
            return 0;
        }
        if (p == child) {
            /* reap what is left, then pass the status on */
            while (waitpid(-1, NULL, WNOHANG) > 0) ;
            if (WIFEXITED(status)) return WEXITSTATUS(status);
            return 128 + WTERMSIG(status);
        }
    }
}
"""


def ensure(data_root):
    """Path of the compiled init binary under data_root (built on first use)."""
    digest = hashlib.sha256(SOURCE.encode()).hexdigest()[:16]
    bindir = os.path.join(str(data_root), "bin")
    target = os.path.join(bindir, f"mydocker-init-{digest}")
    if os.path.exists(target):
        return target
    cc = shutil.which("gcc") or shutil.which("cc")
    if not cc:
        raise UsageError("--init needs a C compiler (gcc) to build its init binary once",
                         hint="apt-get install gcc libc6-dev")
    os.makedirs(bindir, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mydocker-init-", dir=bindir) as tmp:
        src = os.path.join(tmp, "init.c")
        out = os.path.join(tmp, "init")
        with open(src, "w") as f:
            f.write(SOURCE)
        p = subprocess.run([cc, "-static", "-Os", "-s", "-o", out, src], capture_output=True,
                           text=True)
        if p.returncode != 0:
            raise UsageError(f"cannot build the --init binary: {p.stderr.strip()[-500:]}")
        os.chmod(out, 0o755)
        os.replace(out, target)
    return target
