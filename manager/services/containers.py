"""Container services (no click): stop, kill, remove, restart, list,
inspect, wait, rename, prune, pause.  create is in services/create.py,
start/run (monitor, attach) in services/start.py, what they share in
services/common.py; logs, exec, top and stats have their own modules.
This module re-exports create, start and run, so callers keep one entry.

A container lives in three places:
  DATA_ROOT/containers/<id>/   record (store/containers.py), overlay dirs
                               (diff, work, rootfs), bundle/config.json,
                               hostname/hosts/resolv.conf, <id>-json.log
  RUN_ROOT/c/<id[:16]>/        attach.sock, pidfile, monitor.log
  RUN_ROOT/runtimes/<name>/    the OCI runtime's --root

Status is reconciled on every read: a record that says running (or
restarting, or created with a live runtime container) but whose monitor is
gone is marked exited and its leftovers (runtime container, mount) are
cleaned, so nothing stays "running" after a crash or a loss of /run.
"""
import json
import signal
import time

from .. import runtime_client as rc
from .. import specgen
from ..errors import Conflict, ContainerNotFound, RuntimeFailed, UsageError
from ..procinfo import pid_alive
from .common import (ZERO_TIME, CommandFailed, _cgroup_dir, _cgroup_v2, _destroy,  # noqa: F401
                     _is_running, _memory_cgroup, _read_in_root, _rundir, _runtime, _store,
                     _token, human_duration, nap_on_monitor, parse_time, state_of)
from .create import _valid_name, create, resolve_image, validate  # noqa: F401
from .names import random_name  # noqa: F401
from .start import Attach, EarlyMonitor, run, start  # noqa: F401

__all__ = ["create", "start", "run", "stop", "kill", "remove", "list_containers",
           "inspect", "wait", "rename", "prune", "restart", "pause", "unpause",
           "CommandFailed"]


# ---- stop / kill / remove ---------------------------------------------------------

def _wait_exit(paths, rec, timeout):
    """Wait until the monitor recorded the exit (and finished); True if it did."""
    store = _store(paths)
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            st = store.state(rec["Id"])
        except OSError:
            return True
        if not _is_running(st) and not pid_alive(st.get("MonitorPid"), st.get("MonitorStart")):
            return True
        if st["Status"] == "exited" and not store.exists(rec["Id"]):
            return True
        if not pid_alive(st.get("MonitorPid"), st.get("MonitorStart")):
            state_of(paths, rec)
            return True
        if deadline is not None and time.monotonic() > deadline:
            return False
        nap_on_monitor(st, delay)
        delay = min(delay * 2, 0.05)


def stop(paths, ref, timeout=None, sig=None):
    store = _store(paths)
    rec = store.resolve(ref)
    st = state_of(paths, rec)
    if not _is_running(st):
        return rec     # Docker: stopping a stopped container succeeds silently
    store.update_state(rec["Id"], StopRequested=True)
    rt = _runtime(paths, rec)
    signum = specgen.parse_signal(sig or rec["Config"].get("StopSignal") or "SIGTERM")
    if timeout is None:
        timeout = rec["Config"].get("StopTimeout")
        if timeout is None:
            timeout = 10
    if st["Status"] == "paused":
        try:
            rc.call(rt, rc.resume_argv(rt, rec["Id"]))
        except rc.RuntimeError_:
            pass
    if timeout != 0:
        try:
            rc.call(rt, rc.kill_argv(rt, rec["Id"], str(signum)))
        except rc.RuntimeError_:
            pass
        if timeout < 0 or _wait_exit(paths, rec, timeout):
            if timeout >= 0 or True:
                return rec
    try:
        rc.call(rt, rc.kill_argv(rt, rec["Id"], "KILL"))
    except rc.RuntimeError_:
        pass
    _wait_exit(paths, rec, 10)
    return rec


def kill(paths, ref, sig="KILL"):
    store = _store(paths)
    rec = store.resolve(ref)
    st = state_of(paths, rec)
    if not _is_running(st):
        raise Conflict(f"Cannot kill container: {ref}: container {rec['Id']} is not running")
    signum = specgen.parse_signal(sig)
    if signum in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
        store.update_state(rec["Id"], StopRequested=True)
    rt = _runtime(paths, rec)
    try:
        rc.call(rt, rc.kill_argv(rt, rec["Id"], str(signum)))
    except rc.RuntimeError_ as e:
        raise RuntimeFailed(f"Cannot kill container: {ref}: {e.message}")
    if signum == signal.SIGKILL:
        _wait_exit(paths, rec, 10)
    return rec


def remove(paths, ref, force=False, volumes=False):
    store = _store(paths)
    rec = store.resolve(ref)
    st = state_of(paths, rec)
    if _is_running(st):
        if not force:
            raise Conflict(f"cannot remove container \"/{rec['Name']}\": container is running: "
                           "stop the container before removing or force remove")
        store.update_state(rec["Id"], StopRequested=True)
        rt = _runtime(paths, rec)
        try:
            rc.call(rt, rc.kill_argv(rt, rec["Id"], "KILL"))
        except rc.RuntimeError_:
            pass
        _wait_exit(paths, rec, 10)
    elif pid_alive(st.get("MonitorPid"), st.get("MonitorStart")):
        # created, with a monitor waiting for start: stop it via the runtime
        store.update_state(rec["Id"], StopRequested=True)
        rt = _runtime(paths, rec)
        try:
            rc.call(rt, rc.kill_argv(rt, rec["Id"], "KILL"))
        except rc.RuntimeError_:
            pass
        _wait_exit(paths, rec, 10)
    if not store.exists(rec["Id"]):
        return rec      # --rm got there first
    if not volumes:
        rec["AnonymousVolumes"] = []
    _destroy(paths, rec)
    return rec


def restart(paths, ref, timeout=None):
    stop(paths, ref, timeout)
    return start(paths, ref)


# ---- listing / inspect ------------------------------------------------------------

def _status_text(st, now=None):
    now = now or time.time()
    s = st["Status"]
    if s == "running":
        return "Up " + human_duration(now - parse_time(st["StartedAt"]))
    if s == "paused":
        return "Up " + human_duration(now - parse_time(st["StartedAt"])) + " (Paused)"
    if s == "restarting":
        return f"Restarting ({st['ExitCode']}) " + \
            human_duration(now - parse_time(st["FinishedAt"])) + " ago"
    if s == "exited":
        return f"Exited ({st['ExitCode']}) " + \
            human_duration(now - parse_time(st["FinishedAt"])) + " ago"
    if s == "removing":
        return "Removal In Progress"
    return "Created"


def inspect_doc(paths, rec, st=None):
    """The JSON Docker's `inspect` prints for one container."""
    st = st or state_of(paths, rec)
    status = st["Status"]
    doc = {
        "Id": rec["Id"], "Created": rec["Created"], "Path": rec["Path"], "Args": rec["Args"],
        "State": {
            "Status": status, "Running": status in ("running", "paused"),
            "Paused": status == "paused", "Restarting": status == "restarting",
            "OOMKilled": bool(st["OOMKilled"]), "Dead": False, "Pid": st["Pid"],
            "ExitCode": st["ExitCode"], "Error": st["Error"],
            "StartedAt": st["StartedAt"], "FinishedAt": st["FinishedAt"],
        },
        "Image": rec["Image"], "ResolvConfPath": rec["ResolvConfPath"],
        "HostnamePath": rec["HostnamePath"], "HostsPath": rec["HostsPath"],
        "LogPath": rec["LogPath"], "Name": "/" + rec["Name"],
        "RestartCount": st.get("RestartCount", 0), "Driver": rec["Driver"],
        "Platform": "linux", "MountLabel": "", "ProcessLabel": "", "AppArmorProfile": "",
        "ExecIDs": None, "HostConfig": rec["HostConfig"], "GraphDriver": rec["GraphDriver"],
        "Mounts": rec["Mounts"], "Config": rec["Config"],
        "NetworkSettings": {
            "Bridge": "", "SandboxID": "", "HairpinMode": False, "Ports": {},
            "SandboxKey": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0,
            "MacAddress": "", "Networks": {"none": {
                "NetworkID": "", "EndpointID": "", "Gateway": "", "IPAddress": "",
                "IPPrefixLen": 0, "MacAddress": "", "Aliases": None}}},
    }
    return doc


def inspect(paths, refs):
    store = _store(paths)
    docs, missing = [], []
    for ref in refs:
        try:
            docs.append(inspect_doc(paths, store.resolve(ref)))
        except ContainerNotFound:
            missing.append(ref)
    return docs, missing


def _command_text(rec):
    return " ".join([rec["Path"]] + list(rec["Args"]))


def summary(paths, rec, st=None, now=None):
    """One row of `ps`, with Docker's --format field names."""
    st = st or state_of(paths, rec)
    created = parse_time(rec["Created"])
    now = now or time.time()
    labels = rec["Config"].get("Labels") or {}
    return {
        "ID": rec["Id"][:12], "FullID": rec["Id"], "Image": rec["ImageName"],
        "Command": json.dumps(_command_text(rec)) if False else '"' + _command_text(rec) + '"',
        "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(created)),
        "RunningFor": human_duration(now - created) + " ago",
        "Status": _status_text(st, now), "State": st["Status"], "Ports": "",
        "Names": rec["Name"], "Labels": ",".join(f"{k}={v}" for k, v in labels.items()),
        "Mounts": ",".join(m.get("Name") or m.get("Source", "") for m in rec["Mounts"]),
        "Networks": rec["HostConfig"].get("NetworkMode", "none"), "Size": "",
        "ExitCode": st["ExitCode"], "LabelMap": labels, "ImageID": rec["Image"],
    }


def _match_filter(rec, st, key, value):
    if key == "status":
        return st["Status"] == value
    if key == "name":
        import re
        return re.search(value, rec["Name"]) is not None
    if key == "id":
        return rec["Id"].startswith(value)
    if key == "label":
        k, eq, v = value.partition("=")
        labels = rec["Config"].get("Labels") or {}
        return k in labels and (not eq or labels[k] == v)
    if key == "exited":
        return st["Status"] == "exited" and str(st["ExitCode"]) == value
    if key == "ancestor":
        return value in (rec["ImageName"], rec["Image"]) or rec["Image"].split(":")[-1] \
            .startswith(value)
    if key == "volume":
        return any(value in (m.get("Name"), m.get("Source"), m.get("Destination"))
                   for m in rec["Mounts"])
    raise UsageError(f"invalid filter '{key}'")


def list_containers(paths, all_=False, filters=(), last=None):
    """Records (newest first) with reconciled state, as (rec, state) pairs."""
    parsed = []
    for f in filters or []:
        k, eq, v = f.partition("=")
        if not eq:
            raise UsageError(f"bad format of filter (expected name=value): {f}")
        if k not in ("status", "name", "id", "label", "exited", "ancestor", "volume"):
            raise UsageError(f"invalid filter '{k}'")
        parsed.append((k, v))
    rows = []
    for rec in _store(paths).list():
        st = state_of(paths, rec)
        rows.append((rec, st))
    rows.sort(key=lambda r: r[0]["Created"], reverse=True)
    if last is not None:
        rows = rows[:last]
        all_ = True
    out = []
    for rec, st in rows:
        has_status = any(k == "status" for k, _ in parsed)
        if not all_ and not has_status and st["Status"] not in ("running", "paused",
                                                                "restarting"):
            continue
        groups = {}
        for k, v in parsed:
            groups.setdefault(k, []).append(v)
        if all(any(_match_filter(rec, st, k, v) for v in vs) for k, vs in groups.items()):
            out.append((rec, st))
    return out


# ---- wait / top / stats / rename / prune ------------------------------------------------

def wait(paths, ref, condition="not-running"):
    store = _store(paths)
    rec = store.resolve(ref)
    cid = rec["Id"]
    last = store.state(cid)
    delay = 0.005
    while True:
        if not store.exists(cid):
            return last.get("ExitCode", 0)
        st = state_of(paths, rec)
        last = st
        if not _is_running(st) and not pid_alive(st.get("MonitorPid"), st.get("MonitorStart")):
            if condition != "next-exit" or st["Status"] == "exited":
                return st["ExitCode"]
        nap_on_monitor(st, delay)
        delay = min(delay * 2, 0.1)


def rename(paths, ref, new_name):
    store = _store(paths)
    rec = store.resolve(ref)
    new_name = _valid_name(new_name)
    if rec["Name"] == new_name:
        raise UsageError("Renaming a container with the same name as its current name")
    return store.rename(rec["Id"], new_name)


def prune(paths, filters=()):
    """Remove all stopped containers; returns the removed ids."""
    removed = []
    for rec, st in list_containers(paths, all_=True, filters=filters):
        if st["Status"] in ("exited", "created") and not pid_alive(
                st.get("MonitorPid"), st.get("MonitorStart")):
            try:
                remove(paths, rec["Id"])
                removed.append(rec["Id"])
            except (ContainerNotFound, Conflict):
                continue
    return removed


def _freeze_step(paths, ref, must_be, argv_fn, becomes, what):
    rec = _store(paths).resolve(ref)
    if state_of(paths, rec)["Status"] != must_be:
        raise Conflict(f"Container {rec['Id']} is not {what}")
    rt = _runtime(paths, rec)
    try:
        rc.call(rt, argv_fn(rt, rec["Id"]))
    except rc.RuntimeError_ as e:
        raise RuntimeFailed(e.message)
    _store(paths).update_state(rec["Id"], Status=becomes)
    return rec


def pause(paths, ref):
    return _freeze_step(paths, ref, "running", rc.pause_argv, "paused", "running")


def unpause(paths, ref):
    return _freeze_step(paths, ref, "paused", rc.resume_argv, "running", "paused")
