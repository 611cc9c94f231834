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
containers still need.  Stdlib only and light (no pathlib): `mydocker run`
goes through here.  Directories are returned as str.
"""
import os

from ..errors import Conflict, ContainerNotFound, StoreError, UsageError
from .atomic import FileLock, read_json, write_json
from .statefile import STATE_DEFAULTS, read_state, rmtree, update_state

__all__ = ["ContainerStore", "update_state", "read_state", "rmtree", "STATE_DEFAULTS"]


class ContainerStore:
    def __init__(self, data_root):
        self.dir = os.path.join(data_root, "containers")

    def lock(self):
        return FileLock(os.path.join(self.dir, "lock"))

    def cdir(self, cid):
        return os.path.join(self.dir, cid)

    def exists(self, cid):
        return os.path.isdir(self.cdir(cid))

    # -- reading ----------------------------------------------------------------------------
    def ids(self):
        try:
            return sorted(e.name for e in os.scandir(self.dir)
                          if e.is_dir() and len(e.name) == 64)
        except FileNotFoundError:
            return []

    def load(self, cid):
        rec = read_json(os.path.join(self.cdir(cid), "config.json"), default=None)
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
            os.makedirs(self.dir, exist_ok=True)
            os.mkdir(d)
            st = dict(STATE_DEFAULTS)
            st.update(state or {})
            write_json(os.path.join(d, "state.json"), st, sync=False)
            write_json(os.path.join(d, "config.json"), rec, sync=False)
        return rec

    def save(self, rec):
        write_json(os.path.join(self.cdir(rec["Id"]), "config.json"), rec, sync=False)

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
        if os.path.exists(d):
            # Hide it from lookups first, then delete.
            tomb = os.path.join(self.dir, f".removing-{cid}")
            try:
                os.rename(d, tomb)
            except OSError:
                tomb = d
            rmtree(tomb)
