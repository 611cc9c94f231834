"""`create` (runtime.md): from a bundle to a container whose init waits
on the exec fifo.  DESIGN.md, "Processes of create", has the sequence: the
early-forked init (process/early.py) in the usual case, the intermediate
with a user or time namespace.  lifecycle.py has the other operations.

A failed create leaves nothing behind: the init is killed (its mount
namespace and mounts die with it), the cgroup this create made is removed,
the state directory deleted, and poststop hooks run if hooks had started."""
import errno
import os
import sys

from . import fastjson as json
from . import state as S
from .errors import RuncPyError, SpecError, StepError, UsageError
from .errors import from_dict as error_from_dict
from .lifecycle import (SIGKILL, _cgroup_error, _hook_state,
                        _load_cgroup_module, _wait_gone, _warn, _write_pid_file)

NS_NEWCGROUP = 0x02000000


def create(opts, cid, bundle, pid_file=None, console_socket=None, no_pivot=False,
           no_new_keyring=False, preserve_fds=0, _internal_console=None, _keep_sock=False,
           _stdio=None, _exit_fd=None, _loaded=None, _start_next=False):
    """Create a container; returns its Container handle.  On failure nothing
    is left behind.  _loaded: (bundle, doc) when the caller read it already;
    _start_next: `run`, which starts it at once (and records "running")."""
    from .spec.load import load_bundle

    S.validate_id(cid)
    bundle, doc = _loaded or load_bundle(bundle)
    c = S.Container(opts.root, cid)
    from .process import early as E
    # the usual case: the init is forked now, in its cgroup v2 directory,
    # and gets ready while we check (early.py); the id is claimed first
    pre, cgstart = E.begin(opts, cid, bundle, doc, no_pivot, preserve_fds, no_new_keyring,
                           _stdio, _exit_fd)
    v1_only = cgstart is not None and cgstart.fd is None
    if pre is None or not (pre.in_v2 or v1_only):
        # a process will be moved with a cgroup.procs write (the usual way,
        # or an early init not born in its v2 directory): start the
        # kernel's grace period now (cgattach.py)
        from .cgattach import warm
        warm()
    try:
        if pre is not None:
            plan = E.Outline(doc, bundle)
            # B and where its cgroup goes are on record before anything else:
            # a runtime killed from here on leaves what `delete` cleans up
            _new_state(c, doc, bundle, plan.rootfs)
            _record_pid(c, pre.pid)
            if cgstart is not None:
                c.priv["cgroup"] = cgstart.to_dict(cid)
            c.save()
            from .spec.load import check
            check(doc)   # while B imports: it acts on nothing before "valid"
            _need_console(plan.terminal, console_socket, _internal_console)
            rdt = _rdt_checked(doc)
        else:
            c.claim()
    except BaseException:
        if pre is not None:
            pre.abort()
            if cgstart is not None:
                cgstart.remove()
            c.remove()
        raise
    from .process import channel
    helper_fd = seccomp_prog = capsets = None
    if pre is None:
        from .process.init import preload
        try:
            plan, rdt = _checked_plan(doc, bundle, no_pivot, console_socket, _internal_console)
            helper_fd, seccomp_prog, capsets = preload(
                plan, os.path.join(opts.root, S.SECCOMP_CACHE))
        except BaseException:
            os.rmdir(c.dir)
            raise
    init_pid = pre.pid if pre is not None else None
    hooks_started = False
    cg = None
    cg_made = False   # cg.create() succeeded: its cgroup is this container's
    sock = pre.sock if pre is not None else None
    child_sock = console = None
    try:
        if console_socket:
            try:
                from .console import connect
                console = connect(console_socket)
            except OSError as e:
                raise StepError("console-socket", str(e.strerror), syscall="connect",
                                path=console_socket, errno=e.errno)
        elif _internal_console is not None:
            console = _internal_console
        log_fd = None
        if opts.log:
            try:
                log_fd = os.open(opts.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                                 0o644)
            except OSError:
                log_fd = None
        if pre is not None:
            # the config passed and the id is ours: B may start
            try:
                E.send_valid(pre, console.fileno() if console is not None else None, log_fd)
            except OSError:
                pass  # B failed and left: its error is on the channel
        if pre is None:
            _new_state(c, doc, bundle, plan.rootfs)
            c.save()
            _save_config(c, doc)
        if cgstart is not None:
            # from here on the Cgroup removes what cgroup_start made
            made, cgstart = cgstart, None
        else:
            made = None
        cgmod = _load_cgroup_module()
        resources = None
        if cgmod is not None:
            try:
                if made is not None:
                    cg = cgmod.Cgroup(made.layout, made.path, made.created, cid)
                else:
                    cg = cgmod.Cgroup.for_container(cid, plan.cgroups_path,
                                                    systemd=opts.systemd_cgroup)
                cg.validate(plan.resources or {})  # errors name the config's own indexes
                resources = _with_default_device_rules(cgmod, plan, doc)
            except cgmod.CgroupError as e:
                raise _cgroup_error(e)
        direct = pre is not None or _direct_ok(plan, _exit_fd)
        if cg is not None and not direct:
            _make_cgroup(cgmod, cg, c, resources)
            cg_made = True
        os.mkfifo(c.fifo_path, 0o622)
        os.chmod(c.fifo_path, 0o622)  # writable by a user-namespaced init, whatever the umask
        if _start_next and console_socket is None and _internal_console is None:
            # `run` starts it anyway: with the reading end open, the init
            # goes on to exec as soon as it is ready, not after our round
            # trip through "created" and start (start reads its answer here).
            # Not with a terminal: its size is set between create and start.
            c.fifo_fd = os.open(c.fifo_path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        mid = init_pid
        if pre is None:
            from .process.init import Ctx
            from .process.pidns import leave_pidns
            from .process.stage1 import direct_init, enter_pidns, intermediate
            ctx = Ctx(cid, c.dir, console_fd=console.fileno() if console else None,
                      preserve_fds=preserve_fds, no_new_keyring=no_new_keyring, log_fd=log_fd,
                      cgroup=_cgroup_mounts(cg), helper_fd=helper_fd, seccomp=seccomp_prog,
                      stdio=_stdio, capsets=capsets, exit_fd=_exit_fd, early_start=direct)
            sock, child_sock = channel.pair()
            sys.stdout.flush()
            sys.stderr.flush()
            # direct: we fork the init ourselves (one process and one message
            # fewer), in its pid namespace for that one fork
            own_pidns = enter_pidns(plan) if direct else None
            mid = None
            try:
                mid = os.fork()
                if mid == 0:
                    sock.close()
                    (direct_init if direct else intermediate)(plan, ctx, child_sock)
                    os._exit(1)
            finally:
                if mid != 0:
                    leave_pidns(own_pidns)
            if direct:
                init_pid = mid
            child_sock.close()
            child_sock = None
        if console is not None and console is not _internal_console:
            console.close()
            console = None
        if log_fd is not None:
            os.close(log_fd)
        if helper_fd is not None:
            os.close(helper_fd)
            helper_fd = None
        if _stdio:
            for fd in _stdio:
                os.close(fd)
        mid_reaped = direct   # no intermediate to reap (a direct init is the container's)
        try:
            if direct:
                # The init is already setting up its mounts (early_start, see
                # _Init.run) while we make its cgroup, which waits for the
                # kernel's grace period (cgattach.py).  It waits for "go"
                # before anything that needs the cgroup.
                if pre is not None:
                    if cg is not None and "cgroup" not in c.priv:
                        # not recorded with the pid (no early v2 directory):
                        # recorded before it exists
                        c.priv["cgroup"] = cg.to_dict()
                        c.save()
                    if cg is not None:
                        try:
                            cg.create()
                            cg_made = True
                            cg.apply(resources)
                        except cgmod.CgroupError as e:
                            raise _cgroup_error(e)
                        if cg.layout.v2 and not pre.in_v2:
                            _join_cgroup(cg, init_pid, gone_ok=True, v2_only=True)
                        # else: B is in its v2 directory already, and joins
                        # the v1 hierarchies itself (their "tasks", on "go")
                    if rdt:
                        _init_forked(c, cg, init_pid, rdt, cid, early=False)
                else:
                    if cg is not None:
                        _make_cgroup(cgmod, cg, c, resources)
                        cg_made = True
                        _join_cgroup(cg, init_pid, gone_ok=True)
                    _init_forked(c, cg, init_pid, rdt, cid, early=False)
                early = False
            else:
                # Unless the container gets its own cgroup namespace (whose
                # root must be the container's cgroup when it is made), the
                # intermediate goes first and we join it meanwhile; its
                # child, the init, is added as soon as its pid is known,
                # before the init may go on.
                early = cg is not None and not (plan.unshare_flags & NS_NEWCGROUP)
                if cg is not None and not early:
                    _join_cgroup(cg, mid)
            try:
                if pre is not None:  # its cgroup was not known when it was forked
                    channel.send(sock, type="go", cgroup=_cgroup_mounts(cg),
                                 join=cg.v1_tasks_files() if cg is not None else [])
                else:
                    channel.send(sock, type="go")
            except OSError:
                pass  # the child failed and left: its error is on the channel
            if pre is not None:
                # while B finishes: all of the cgroup, and the files exec
                # joins with (its path was on record before it was made)
                if cg is not None:
                    c.priv["cgroup"] = cg.to_dict()
                    c.priv["cgroup_procs"] = cg.procs_files()
                c.save()
                _save_config(c, doc)
            if early:
                _join_cgroup(cg, mid, gone_ok=True)
            # The intermediate's "pid" and the init's own messages share the
            # socket with no order between them: the init's wait until the
            # pid is known (it always follows: the intermediate sends it
            # right after the fork).
            pending = []
            while True:
                if pending and init_pid is not None:
                    msg, fds = pending.pop(0)
                else:
                    try:
                        msg, fds = channel.recv_fds(sock)
                    except (channel.ChannelClosed, ConnectionResetError):
                        _wait_gone(mid)   # the child we forked died: reap it
                        mid_reaped = True
                        raise RuncPyError("container init exited during create without "
                                          "reporting why")
                t = msg.get("type")
                if init_pid is None and t in ("hooks", "created", "seccomp-fd"):
                    pending.append((msg, fds))
                    continue
                if t == "userns":
                    _write_mappings(mid, plan)
                    channel.send(sock, type="mapped")
                elif t == "pid":
                    init_pid = msg["pid"]
                    _init_forked(c, cg, init_pid, rdt, cid, early=early)
                    if _exit_fd is None:
                        os.waitpid(mid, 0)
                        mid_reaped = True
                    # else the intermediate stays as the init's parent and
                    # reports its exit status (run --no-subreaper)
                elif t == "seccomp-fd":
                    _send_seccomp_listener(plan, c, fds)
                elif t == "hooks":
                    hooks_started = True
                    hstate = dict(c.oci_state(), status="creating", pid=init_pid)
                    hstate = {k: v for k, v in hstate.items()
                              if k not in ("rootfs", "created", "owner")}
                    try:
                        if plan.hooks.get("prestart") or plan.hooks.get("createRuntime"):
                            from .hooks import run_hooks
                            run_hooks("prestart", plan.hooks.get("prestart"), hstate)
                            run_hooks("createRuntime", plan.hooks.get("createRuntime"), hstate)
                    except RuncPyError:
                        channel.send(sock, type="abort")
                        raise
                    channel.send(sock, type="ok", state=hstate)
                elif t == "created":
                    break
                elif t == "error":
                    raise error_from_dict(msg["error"])
        finally:
            if not mid_reaped and _exit_fd is None:
                try:
                    os.waitpid(mid, 0)
                except ChildProcessError:
                    pass
        c.data["status"] = "created"
        c.priv["hooks"] = {k: v for k, v in plan.hooks.items() if k in ("poststart", "poststop")}
        c.priv["no_new_keyring"] = no_new_keyring
        if not _start_next:
            c.save()
        if pid_file:
            _write_pid_file(pid_file, init_pid)
        if not _keep_sock:
            sock.close()
        return c
    except BaseException:
        if init_pid:
            try:
                os.kill(init_pid, SIGKILL)
            except ProcessLookupError:
                pass
            _wait_gone(init_pid)
        if cg is not None:
            try:
                if cg_made:
                    cg.destroy()
                else:
                    # create() refused or failed: remove only what we made
                    # (a cgroup that was there may be another container's)
                    cg.remove_created()
            except Exception:  # noqa: BLE001
                pass
        elif cgstart is not None:
            try:
                cgstart.remove()
            except Exception:  # noqa: BLE001
                pass
        state_for_hooks = _hook_state(c, "stopped") if hooks_started else None
        c.remove()
        if hooks_started and plan.hooks.get("poststop"):
            # runtime.md: a failed prestart/createRuntime/createContainer hook
            # stops the container and continues at step 12 (destroy, poststop)
            from .hooks import run_hooks
            run_hooks("poststop", plan.hooks["poststop"], state_for_hooks,
                      warn=lambda m: _warn(opts, m))
        raise
    finally:
        if sock is not None and not _keep_sock:
            sock.close()
        if child_sock is not None:
            child_sock.close()
        if helper_fd is not None:
            os.close(helper_fd)


def _checked_plan(doc, bundle, no_pivot, console_socket, internal_console):
    """Check the config and compile its plan (-> plan, intelRdt or None);
    raises on what create cannot go on with."""
    from .plan import compile_plan
    from .spec.load import check
    check(doc)
    plan = compile_plan(doc, bundle, no_pivot=no_pivot)
    if plan.process is None:
        raise SpecError("process", "is required to create a container (runc-py runs it "
                        "on start)")
    _need_console(plan.process.terminal, console_socket, internal_console)
    return plan, _rdt_checked(doc)


def _need_console(terminal, console_socket, internal_console):
    if terminal and console_socket is None and internal_console is None:
        raise UsageError("process.terminal is true: pass --console-socket",
                         hint="or set process.terminal to false")


def _rdt_checked(doc):
    rdt = (doc.get("linux") or {}).get("intelRdt")
    if rdt:
        from . import intelrdt
        intelrdt.check(rdt)
    return rdt


def _direct_ok(plan, exit_fd):
    from .process.stage1 import direct_ok
    return direct_ok(plan, exit_fd)


def _make_cgroup(cgmod, cg, c, resources):
    """Create the container's cgroup (recorded in the state first, so that
    a crash leaves something delete can find) and apply its limits."""
    try:
        cg.create()
        c.priv["cgroup"] = cg.to_dict()
        c.priv["cgroup_procs"] = cg.procs_files()  # exec joins with these
        c.save()
        cg.apply(resources)
    except cgmod.CgroupError as e:
        raise _cgroup_error(e)


def _new_state(c, doc, bundle, rootfs):
    me = S.proc_stat(os.getpid())
    c.data = {"ociVersion": doc.get("ociVersion"), "id": c.id, "status": "creating", "pid": 0,
              "bundle": bundle, "annotations": doc.get("annotations") or {},
              "_runtime": {"creator_pid": os.getpid(), "creator_start": me[1] if me else None,
                           "rootfs": rootfs, "created": S.now_rfc3339()}}


def _save_config(c, doc):
    with open(os.path.join(c.dir, "config.json"), "w") as f:
        json.dump(doc, f)


def _record_pid(c, pid):
    st = S.proc_stat(pid)
    c.data["pid"] = pid
    c.priv["pid_start"] = st[1] if st else None


def _join_cgroup(cg, pid, gone_ok=False, v2_only=False):
    """Move pid into the container's cgroup (v2_only: its v2 directory).
    gone_ok: the child may have failed and exited already (ESRCH); its own
    error, the one to report, is then waiting on the channel."""
    try:
        if v2_only:
            from .cgattach import add_pid
            add_pid([os.path.join(cg.unified_dir, "cgroup.procs")], pid)
        else:
            cg.add_pid(pid)
    except Exception as e:  # noqa: BLE001
        if not (gone_ok and getattr(e, "errno", None) == errno.ESRCH):
            raise _cgroup_error(e)


def _init_forked(c, cg, init_pid, rdt, cid, early):
    """The init's pid is known: join it to the cgroup (when its parent went
    first, see create), record it with its start time, apply intelRdt."""
    if early:
        _join_cgroup(cg, init_pid)
    _record_pid(c, init_pid)
    if rdt:
        from . import intelrdt
        c.priv["rdt_group"] = intelrdt.apply(rdt, cid, init_pid)
    c.save()


def _send_seccomp_listener(plan, c, fds):
    if not fds:
        raise StepError("seccomp", "the seccomp listener fd did not arrive",
                        field="linux.seccomp.listenerPath")
    from . import seccomp
    sc = plan.seccomp or {}
    st = dict(c.oci_state(), status="creating", pid=c.pid)
    st = {k: v for k, v in st.items() if k not in ("rootfs", "created", "owner")}
    try:
        seccomp.send_listener(fds[0], sc.get("listenerPath"), json.dumps(st).encode(),
                              sc.get("listenerMetadata"))
    finally:
        for fd in fds:
            os.close(fd)


def _cgroup_mounts(cg):
    """{host hierarchy mount point: the container's cgroup dir in it}, for
    the init's `type: cgroup` mount (it shows the container its own cgroups)."""
    if cg is None:
        return None
    try:
        mounts = {mnt: os.path.join(mnt, cg.path.lstrip("/"))
                  for mnt in cg.layout.v1_hierarchies()}
    except Exception:  # noqa: BLE001
        return None
    return {"by_mount": mounts}


def _with_default_device_rules(cgmod, plan, doc):
    """The container's device cgroup rules: deny all, then the config's
    rules, then the devices every container gets (null, zero, full, random,
    urandom, tty, console, ptmx, pts), appended after the config's so that
    its "deny all" cannot remove them.  Devices in linux.devices are created
    but get no rule of their own: access to them is what
    linux.resources.devices says (runc behaves the same)."""
    res = dict(plan.resources or {})
    defaults = cgmod.default_rules()
    res["devices"] = defaults[:1] + list(res.get("devices") or []) + defaults[1:]
    return res


def _write_mappings(pid, plan):
    for name, maps in (("uid_map", plan.uid_mappings), ("gid_map", plan.gid_mappings)):
        data = "".join(f"{c} {h} {n}\n" for c, h, n in maps)
        try:
            with open(f"/proc/{pid}/{name}", "w") as f:
                f.write(data)
        except OSError as e:
            raise StepError("id-mappings", field=f"linux.{name[:3]}Mappings", syscall="write",
                            path=f"/proc/{pid}/{name}", errno=e.errno,
                            hint="each range must map host ids that exist and not overlap")
