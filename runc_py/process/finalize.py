"""The last steps before execve, shared by the container's init and by
`exec`: resolving the program, groups and user, capabilities around the uid
switch, umask, HOME, cwd, LSM labels, no_new_privs and the seccomp filter
(loaded as late as it can be).  Imports nothing heavy: both callers load it
before they enter the container."""
import errno
import os
import stat

from ..errors import StepError
from ..syscalls import linux as L


def _oserr(step, field, e, syscall=None, path=None):
    return StepError(step, field=field, syscall=getattr(e, "syscall", None) or syscall,
                     path=path or e.filename, errno=e.errno)


def apparmor_enabled():
    try:
        with open("/sys/module/apparmor/parameters/enabled") as f:
            return f.read().strip() == "Y"
    except OSError:
        return False


def selinux_enabled():
    return os.path.exists("/sys/fs/selinux/enforce")


def check_lsm(proc, mount_label=None):
    """AppArmor/SELinux settings are applied where the LSM is enabled; where
    it is not, asking for them is an error rather than a silent no-op."""
    from ..errors import SpecError
    if proc.apparmor and not apparmor_enabled():
        raise SpecError("process.apparmorProfile", f"AppArmor is not enabled on this host, "
                        f"cannot apply profile {proc.apparmor!r}",
                        hint="remove process.apparmorProfile")
    if proc.selinux and not selinux_enabled():
        raise SpecError("process.selinuxLabel", "SELinux is not enabled on this host",
                        hint="remove process.selinuxLabel")
    if mount_label and not selinux_enabled():
        raise SpecError("linux.mountLabel", "SELinux is not enabled on this host",
                        hint="remove linux.mountLabel")


def apply_lsm(proc):
    """Label the next execve (called just before it)."""
    if proc.apparmor:
        for path in ("/proc/self/attr/apparmor/exec", "/proc/self/attr/exec"):
            try:
                with open(path, "w") as f:
                    f.write(f"exec {proc.apparmor}")
                break
            except FileNotFoundError:
                continue
    if proc.selinux:
        with open("/proc/self/attr/exec", "w") as f:
            f.write(proc.selinux)


def finalize(proc, env, seccomp_prog, userns, warn=None, capsets=None, defer_seccomp=False):
    """The last steps before execve, shared by init and exec: groups,
    capabilities around the uid switch, umask, HOME, cwd, no_new_privs and
    the seccomp filter (loaded as late as it can be).  defer_seccomp: a
    filter that can wait until after no_new_privs is returned, not loaded
    (the caller loads it right before execve)."""
    caps_mod = None
    sets = capsets
    if proc.capabilities is not None:
        from .. import caps as caps_mod
        if sets is None:
            sets = caps_mod.parse(proc.capabilities)
        if warn is not None and getattr(sets, "skipped", None):
            warn(f"process.capabilities: not held by the runtime, skipped: "
                 f"{', '.join(map(str, sets.skipped))}")
    seccomp_filter = seccomp_prog
    if seccomp_filter is not None:
        from .. import seccomp as seccomp_mod
    if seccomp_filter is not None and not proc.no_new_privileges:
        seccomp_mod.load(seccomp_filter)  # needs CAP_SYS_ADMIN: before caps drop
        seccomp_filter = None
    # as runc: the working directory is entered before the user switch if
    # it can be (a directory only root may enter still works), else after
    try:
        os.chdir(proc.cwd)
        cwd_done = True
    except OSError:
        cwd_done = False
    try:
        os.setgroups(proc.additional_gids)
    except OSError as e:
        if not (userns and e.errno == errno.EPERM):
            raise _oserr("setgroups", "process.user.additionalGids", e, "setgroups")
    if sets is not None:
        caps_mod.drop_bounding(sets)
        caps_mod.prepare_user_switch()
    try:
        os.setresgid(proc.gid, proc.gid, proc.gid)
        os.setresuid(proc.uid, proc.uid, proc.uid)
    except OSError as e:
        raise _oserr("setuid", "process.user", e, "setresuid/setresgid")
    if sets is not None:
        caps_mod.finish_user_switch()
        caps_mod.apply(sets, warn=warn)
    if proc.umask is not None:   # unset: keep the caller's umask (config.md)
        os.umask(proc.umask)
    if "HOME" not in env:
        env["HOME"] = _home_of(proc.uid)
    if not cwd_done:
        try:
            os.chdir(proc.cwd)
        except OSError as e:
            raise _oserr("chdir", "process.cwd", e, "chdir", proc.cwd)
    apply_lsm(proc)
    if proc.no_new_privileges:
        L.prctl(L.PR_SET_NO_NEW_PRIVS, 1)
    if seccomp_filter is not None:
        if defer_seccomp:
            return seccomp_filter
        seccomp_mod.load(seccomp_filter)
    return None


def _home_of(uid):
    try:
        with open("/etc/passwd") as f:
            for line in f:
                parts = line.rstrip("\n").split(":")
                if len(parts) >= 6 and parts[2] == str(uid):
                    return parts[5] or "/"
    except OSError:
        pass
    return "/"


def _lookup(prog, path_env):
    if "/" in prog:
        candidates = [prog]
    else:
        dirs = (path_env if path_env is not None else
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").split(":")
        candidates = [os.path.join(d or ".", prog) for d in dirs]
    for c in candidates:
        try:
            st = os.stat(c)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_mode & 0o111:
            return c
        if "/" in prog:
            raise StepError("exec", f'exec: "{prog}": permission denied',
                            field="process.args[0]", errno=errno.EACCES)
    if "/" in prog:
        raise StepError("exec", f'exec: "{prog}": no such file or directory',
                        field="process.args[0]", errno=errno.ENOENT)
    raise StepError("exec", f'exec: "{prog}": executable file not found in $PATH',
                    field="process.args[0]", errno=errno.ENOENT)


def cloexec_sweep(keep_below):
    """Mark every fd from keep_below up close-on-exec (an exec'd process
    keeps stdio and its --preserve-fds only)."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd >= keep_below:
            try:
                os.set_inheritable(fd, False)
            except OSError:
                pass
