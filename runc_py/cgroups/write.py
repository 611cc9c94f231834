"""Write: one cgroup file write, as resources.py and devices.py plan them
and fs.py carries them out.  Its own module so that devices.py loads
without resources.py."""
from ..records import record

__all__ = ["Write"]

# controller: v1 subsystem or v2 controller ("" = a core cgroup.* file);
# file: name inside the cgroup directory; value: the string to write; field:
# the JSON path in config.json; alternatives: ((file, value), ...) used in
# turn when `file` is missing; optional: skip quietly when no file exists
# (nothing to enforce, e.g. "unlimited" without swap accounting).
Write = record("Write", "controller file value field alternatives optional",
               defaults=((), False))
