"""CgroupError: the one exception of the cgroups package.

It names what failed the way a user can act on it: the config.json field
(`linux.resources.memory.limit`), the cgroup file, the value written, the
errno, and a hint when there is an obvious fix.  The lifecycle turns it into
the runtime's SpecError/StepError (runc_py/errors.py)."""
import errno as _errno
import os

__all__ = ["CgroupError"]


class CgroupError(Exception):
    def __init__(self, field=None, message="", file=None, value=None, errno=None, hint=None):
        self.field = field
        self.file = file
        self.value = value
        self.errno = errno
        self.hint = hint
        self.detail = message
        super().__init__(self._line())

    def _line(self):
        head = f"{self.field}: " if self.field else ""
        text = head + self.detail
        if self.errno and _errno.errorcode.get(self.errno, "") not in text:
            text += f" [{_errno.errorcode.get(self.errno, self.errno)}]"
        if self.hint:
            text += f" (hint: {self.hint})"
        return text.replace("\n", " ")

    def __str__(self):
        return self._line()

    @property
    def message(self):
        return str(self)

    def to_dict(self):
        d = {"kind": "CgroupError", "message": str(self), "detail": self.detail}
        for key in ("field", "file", "value", "errno", "hint"):
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        return d

    @classmethod
    def from_oserror(cls, exc, field, action, file, value=None, hint=None):
        """An OSError from touching `file` -> a CgroupError saying what was done."""
        code = exc.errno or 0
        reason = os.strerror(code) if code else str(exc)
        what = f"cannot {action} {file}" + (f" (value {value!r})" if value is not None else "")
        if hint is None:
            hint = _HINTS.get(code)
        return cls(field, f"{what}: {reason}", file=file, value=value, errno=code, hint=hint)


_HINTS = {
    _errno.ENOENT: "the file is missing: this kernel or hierarchy lacks the controller or feature",
    _errno.EINVAL: "the kernel rejected the value: check its range and its relation to other limits",
    _errno.EBUSY: "the cgroup is in use (current usage above the new limit, or it has tasks)",
    _errno.EACCES: "permission denied: cgroups need root or a delegated hierarchy",
    _errno.EPERM: "operation not permitted: cgroups need root or a delegated hierarchy",
    _errno.EOPNOTSUPP: "the kernel does not support this setting",
}
