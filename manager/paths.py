"""Where the manager keeps things.  Every path is a parameter: the global
--data-root / --run-root flags, then MYDOCKER_DATA_ROOT / MYDOCKER_RUN_ROOT,
then the defaults."""
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_ROOT = "/var/lib/mydocker"
DEFAULT_RUN_ROOT = "/run/mydocker"


@dataclass(frozen=True)
class Paths:
    data_root: Path
    run_root: Path

    @classmethod
    def from_env(cls, data_root=None, run_root=None):
        data = data_root or os.environ.get("MYDOCKER_DATA_ROOT") or DEFAULT_DATA_ROOT
        run = run_root or os.environ.get("MYDOCKER_RUN_ROOT") or DEFAULT_RUN_ROOT
        return cls(Path(data), Path(run))
