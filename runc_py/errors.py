"""The runtime's errors.  Every failure a caller can cause or meet is a
RuncPyError; the CLI prints its message on stderr, writes it as a JSON line
into --log (containerd and Docker show only that line), and exits 1.

RuncPyError(message, hint=None)
 +-- UsageError       bad command line (unknown flag, missing ID)
 +-- SpecError        config.json is invalid: .field is the JSON path
 |                    ("mounts[3].options"), checked before anything is made
 +-- StepError        a setup step failed on the kernel: .step (plan step),
 |                    .field (config path it came from), .syscall, .path,
 |                    .errno; raised in the container's init and carried to
 |                    the runtime over the sync channel as a dict
 +-- StateError       the container's state forbids the operation
 |                    ("cannot start: container is stopped")
 +-- NotFoundError    no container with this ID
 +-- HookError        a hook failed or timed out (.hook = "poststart[1]")

Failures deeper in (cgroups, seccomp, caps) raise their own errors with a
`field`; lifecycle converts them into StepError/SpecError.
"""
import errno as _errno

from . import lite

__all__ = ["RuncPyError", "UsageError", "SpecError", "StepError", "StateError",
           "NotFoundError", "HookError", "from_dict"]


class RuncPyError(Exception):
    kind = "error"

    def __init__(self, message, hint=None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self):
        return self.message + (f" (hint: {self.hint})" if self.hint else "")

    def to_dict(self):
        d = {"kind": type(self).__name__, "message": self.message}
        if self.hint:
            d["hint"] = self.hint
        return d


class UsageError(RuncPyError):
    pass


class SpecError(RuncPyError):
    def __init__(self, field, message, hint=None):
        super().__init__(f"invalid config: {field}: {message}" if field else
                         f"invalid config: {message}", hint)
        self.field = field
        self.detail = message

    def to_dict(self):
        d = super().to_dict()
        d.update(field=self.field, detail=self.detail)
        return d


class StepError(RuncPyError):
    def __init__(self, step, message=None, field=None, syscall=None, path=None, errno=None,
                 hint=None):
        parts = [f"{step}"]
        if field:
            parts.append(f"({field})")
        head = " ".join(parts)
        if message is None:
            what = f"{syscall} {path}" if syscall and path else (syscall or path or "")
            reason = lite.strerror(errno) if errno else "failed"
            ename = _errno.errorcode.get(errno, "") if errno else ""
            message = f"{what}: {reason}" + (f" [{ename}]" if ename else "")
        super().__init__(f"{head}: {message}", hint)
        self.step, self.field, self.syscall, self.path, self.errno = (
            step, field, syscall, path, errno)
        self.detail = message

    def to_dict(self):
        return {"kind": "StepError", "step": self.step, "message_detail": self.detail,
                "field": self.field, "syscall": self.syscall, "path": self.path,
                "errno": self.errno, "hint": self.hint}


class StateError(RuncPyError):
    pass


class NotFoundError(RuncPyError):
    pass


class HookError(RuncPyError):
    def __init__(self, hook, message, hint=None):
        super().__init__(f"{hook} hook: {message}", hint)
        self.hook = hook


def from_dict(d):
    """Rebuild an error sent by the init process over the sync channel."""
    kind = d.get("kind")
    if kind == "StepError":
        return StepError(d["step"], d.get("message_detail"), d.get("field"), d.get("syscall"),
                         d.get("path"), d.get("errno"), d.get("hint"))
    if kind == "SpecError":
        return SpecError(d.get("field"), d.get("detail", d.get("message")), d.get("hint"))
    if kind == "HookError":
        e = RuncPyError(d["message"], d.get("hint"))
        return e
    return RuncPyError(d.get("message", "unknown error"), d.get("hint"))
