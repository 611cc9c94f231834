"""Container records: DATA_ROOT/containers/<id>/.

Two JSON files per container, each with one writer at a time:

  config.json  what the container is (Id, Name, Created, Path, Args, Image,
               Config, HostConfig, Mounts, Runtime, Rootfs, LogPath ...),
               written by the manager under containers/lock (names are unique
               across records, checked under that lock).
  state.json   what it is doing (Status, Pid, ExitCode, StartedAt, FinishedAt,
               OOMKilled, Error, RestartCount, MonitorPid, MonitorStart),
               read-modify-written under containers/<id>/lock by the manager
               and by the container's monitor.

Both are written atomically (temp file + rename).  Names and id prefixes
resolve to records; `image_ids_in_use()` tells the image store which images
containers still need.  Stdlib only (the monitor imports update_state).
"""
import os
import shutil
from pathlib import Path

from ..errors import Conflict, ContainerNotFound, StoreError, UsageError
from .atomic import FileLock, read_json, write_json

__all__ = ["ContainerStore", "update_state", "read_state", "STATE_DEFAULTS"]

STATE_DEFAULTS = {"Status": "created", "Pid": 0, "ExitCode": 0, "Error": "",
                  "StartedAt": "0001-01-01T00:00:00Z", "FinishedAt": "0001-01-01T00:00:00Z",
                  "OOMKilled": False, "RestartCount": 0, "MonitorPid": 0, "MonitorStart": 0}


def read_state(cdir):
    st = dict(STATE_DEFAULTS)
    st.update(read_json(Path(cdir) / "state.json", default={}) or {})
    return st


def update_state(cdir, **changes):
    """Read-modify-write state.json under the container's lock; returns the new state."""
    cdir = Path(cdir)
    with FileLock(cdir / "lock"):
        st = read_state(cdir)
        st.update(changes)
        write_json(cdir / "state.json", st, sync=False)
    return st


class ContainerStore:
    def __init__(self, data_root):
        self.dir = Path(data_root) / "containers"

    def lock(self):
        return FileLock(self.dir / "lock")

    def cdir(self, cid):
        return self.dir / cid

    # -- reading ----------------------------------------------------------------------------
    def ids(self):
        try:
            return sorted(e.name for e in os.scandir(self.dir)
                          if e.is_dir() and len(e.name) == 64)
        except FileNotFoundError:
            return []

    def load(self, cid):
        rec = read_json(self.cdir(cid) / "config.json", default=None)
        if rec is None:
            raise ContainerNotFound(f"No such container: {cid}")
        if not isinstance(rec, dict) or rec.get("Id") != cid:
            raise StoreError(f"container record {self.cdir(cid)}/config.json is damaged")
        return rec

    def list(self):
        out = []
        for cid in self.ids():
            try:
                out.append(self.load(cid))
            except (ContainerNotFound, StoreError, ValueError):
                continue   # being created or removed right now
        return out

    def resolve(self, ref):
        """Full id, name (with or without a leading /), or a unique id prefix."""
        if not ref:
            raise UsageError("container name or ID must not be empty")
        ref = ref.lstrip("/") if ref.startswith("/") else ref
        ids = self.ids()
        if ref in ids:
            return self.load(ref)
        for rec in self.list():
            if rec.get("Name") == ref:
                return rec
        matches = [i for i in ids if i.startswith(ref.lower())] if ref.isalnum() else []
        if len(matches) == 1:
            return self.load(matches[0])
        if len(matches) > 1:
            raise UsageError(f"multiple IDs found with provided prefix: {ref}")
        raise ContainerNotFound(f"No such container: {ref}")

    def state(self, cid):
        return read_state(self.cdir(cid))

    def names(self):
        return {rec.get("Name"): rec["Id"] for rec in self.list()}

    def image_ids_in_use(self):
        return {rec.get("Image") for rec in self.list() if rec.get("Image")}

    # -- writing ----------------------------------------------------------------------------
    def create(self, rec, state=None):
        """Register a new record; Conflict if its name is taken (checked under the lock)."""
        with self.lock():
            taken = self.names()
            if rec["Name"] in taken:
                raise Conflict(f'Conflict. The container name "/{rec["Name"]}" is already in '
                               f'use by container "{taken[rec["Name"]]}". You have to remove '
                               "(or rename) that container to be able to reuse that name.")
            d = self.cdir(rec["Id"])
            d.mkdir(parents=True, exist_ok=False)
            st = dict(STATE_DEFAULTS)
            st.update(state or {})
            write_json(d / "state.json", st, sync=False)
            write_json(d / "config.json", rec, sync=False)
        return rec

    def save(self, rec):
        write_json(self.cdir(rec["Id"]) / "config.json", rec, sync=False)

    def update_state(self, cid, **changes):
        return update_state(self.cdir(cid), **changes)

    def rename(self, cid, new_name):
        with self.lock():
            taken = self.names()
            if new_name in taken and taken[new_name] != cid:
                raise Conflict(f'Conflict. The container name "/{new_name}" is already in use '
                               f'by container "{taken[new_name]}". You have to remove (or '
                               "rename) that container to be able to reuse that name.")
            rec = self.load(cid)
            rec["Name"] = new_name
            self.save(rec)
        return rec

    def remove(self, cid):
        d = self.cdir(cid)
        if d.exists():
            # Hide it from lookups first, then delete.
            tomb = self.dir / f".removing-{cid}"
            try:
                os.rename(d, tomb)
            except OSError:
                tomb = d
            shutil.rmtree(tomb, ignore_errors=True)
