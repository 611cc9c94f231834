"""OCI hooks (config.md#posix-platform-hooks): run each hook with the
container state JSON on stdin, its args/env, and its timeout.  A non-zero
exit or a timeout is a HookError naming the hook (`poststart[1]`)."""
import json
import os
import signal
import subprocess

from .errors import HookError


def run_hook(kind, index, hook, state):
    name = f"{kind}[{index}]"
    path = hook["path"]
    args = hook.get("args") or [path]
    env = hook.get("env")
    env = dict(e.split("=", 1) for e in env) if env is not None else {}
    timeout = hook.get("timeout")
    data = json.dumps(state).encode()
    try:
        proc = subprocess.Popen(args, executable=path, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                close_fds=True, start_new_session=True)
    except OSError as e:
        raise HookError(name, f"cannot run {path}: {e.strerror}")
    try:
        out, err = proc.communicate(data, timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            proc.kill()
        proc.communicate()
        raise HookError(name, f"{path} timed out after {timeout}s and was killed")
    except BrokenPipeError:
        out, err = proc.communicate()
    if proc.returncode != 0:
        msg = err.decode(errors="replace").strip().splitlines()
        tail = f": {msg[-1]}" if msg else ""
        how = (f"exited with status {proc.returncode}" if proc.returncode > 0
               else f"killed by signal {-proc.returncode}")
        raise HookError(name, f"{path} {how}{tail}")


def run_hooks(kind, hooks, state, warn=None):
    """Run every hook of `kind` in order.  With `warn` (poststop), failures
    are reported through warn(message) and the rest still run."""
    for i, h in enumerate(hooks or ()):
        try:
            run_hook(kind, i, h, state)
        except HookError as e:
            if warn is None:
                raise
            warn(str(e))
