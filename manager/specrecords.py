"""The inputs of specgen: the run options a user gives (ContainerOptions,
MountSpec) and what the manager read for them (SpecContext).

Plain classes with defaults, copies and asdict(), rather than dataclasses:
`dataclasses` costs every `mydocker run` ~10 ms of imports."""

__all__ = ["ContainerOptions", "MountSpec", "SpecContext"]


class _Record:
    """A small dataclass stand-in: FIELDS = ((name, default), ...) in order,
    a default that is a list or dict is copied per instance; keyword or
    positional construction, equality, repr and asdict()."""
    FIELDS = ()
    __slots__ = ()

    def __init__(self, *args, **kw):
        names = [n for n, _ in self.FIELDS]
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__}() takes {len(names)} arguments")
        for n, v in zip(names, args):
            if n in kw:
                raise TypeError(f"{type(self).__name__}() got multiple values for {n!r}")
            kw[n] = v
        for n, default in self.FIELDS:
            if n in kw:
                v = kw.pop(n)
            elif default is _REQUIRED:
                raise TypeError(f"{type(self).__name__}() missing argument {n!r}")
            else:
                v = default.copy() if isinstance(default, (list, dict)) else default
            object.__setattr__(self, n, v)
        if kw:
            raise TypeError(f"{type(self).__name__}() got unexpected arguments {sorted(kw)}")

    def _values(self):
        return tuple(getattr(self, n) for n, _ in self.FIELDS)

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    __hash__ = None

    def __repr__(self):
        body = ", ".join(f"{n}={getattr(self, n)!r}" for n, _ in self.FIELDS)
        return f"{type(self).__name__}({body})"

    def asdict(self):
        """Like dataclasses.asdict: lists and dicts are copied (deeply)."""
        return {n: _copy(getattr(self, n)) for n, _ in self.FIELDS}


_REQUIRED = object()


def _copy(v):
    if isinstance(v, list):
        return [_copy(x) for x in v]
    if isinstance(v, tuple):
        return tuple(_copy(x) for x in v)
    if isinstance(v, dict):
        return {k: _copy(x) for k, x in v.items()}
    if isinstance(v, _Record):
        return v.asdict()
    return v



class ContainerOptions(_Record):
    """What `run`/`create` were asked for (already split, not yet resolved)."""
    FIELDS = (
        ("image", ""), ("command", None),          # None: image Cmd
        ("entrypoint", None),                      # None: image Entrypoint; "": none
        ("name", None), ("interactive", False), ("tty", False), ("rm", False),
        ("env", []), ("volumes", []),              # -v strings
        ("mounts", []),                            # --mount strings
        ("tmpfs", []),                             # --tmpfs strings
        ("workdir", None), ("user", None), ("hostname", None), ("read_only", False),
        ("cap_add", []), ("cap_drop", []), ("privileged", False), ("security_opt", []),
        ("memory", 0), ("memory_swap", 0), ("cpus", 0.0), ("cpu_shares", 0),
        ("cpuset_cpus", None), ("pids_limit", 0), ("ulimits", []), ("restart", "no"),
        ("init", False), ("stop_signal", None), ("stop_timeout", None), ("labels", {}),
        ("runtime", None), ("pull", "missing"), ("log_opts", {}), ("cgroup_parent", None),
        ("network", "none"),
    )
    __slots__ = tuple(n for n, _ in FIELDS)


class MountSpec(_Record):
    """type: bind | volume | tmpfs; source: host path (bind) or volume name
    ("" = anonymous); options: extra (propagation, tmpfs size ...)."""
    FIELDS = (("type", _REQUIRED), ("destination", _REQUIRED), ("source", ""),
              ("readonly", False), ("options", []))
    __slots__ = tuple(n for n, _ in FIELDS)


class SpecContext(_Record):
    """Everything generate() needs besides the options: resolved, host-side facts.
    etc_files: {"/etc/hostname": hostpath, ...}; volume_mounts: [(MountSpec,
    host_source)]; seccomp_profile: Docker-format, None = unconfined;
    cap_bound: caps the manager itself holds (--privileged gets these)."""
    FIELDS = (("cid", _REQUIRED), ("image_config", _REQUIRED), ("rootfs", _REQUIRED),
              ("hostname", _REQUIRED), ("etc_files", _REQUIRED), ("passwd", ""),
              ("group", ""), ("volume_mounts", []), ("seccomp_profile", None),
              ("cgroups_path", ""), ("cgroup_v2", False), ("init_binary", None),
              ("arch", None), ("kernel", None), ("cap_bound", None))
    __slots__ = tuple(n for n, _ in FIELDS)
