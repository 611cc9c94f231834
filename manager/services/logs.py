"""`mydocker logs`: Docker's json-file log, with -f (across rotation),
--tail, --since, --until, -t."""
import json
import os
import sys
import time

from ..errors import UsageError
from ..procinfo import pid_alive
from .containers import _is_running, _store, parse_time


# ---- logs ---------------------------------------------------------------------------

def _parse_since(text, now=None):
    """Docker's --since/--until: RFC 3339 date, Unix timestamp, or a duration like 10m."""
    if text is None or text == "":
        return None
    now = now or time.time()
    import re
    m = re.match(r"^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)$", text)
    if m:
        mult = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[m.group(2)]
        return now - float(m.group(1)) * mult
    if re.match(r"^\d+(\.\d+)?$", text):
        return float(text)
    for fmt in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            base = text.rstrip("Z")
            frac = ""
            if "." in base:
                base, frac = base.split(".", 1)
            import calendar
            return calendar.timegm(time.strptime(base, fmt)) + (float("0." + frac)
                                                                 if frac else 0.0)
        except ValueError:
            continue
    raise UsageError(f"invalid value for time: {text!r}",
                     hint="use an RFC 3339 date, a Unix timestamp or a duration like 10m")


def _log_files(path):
    files = []
    i = 1
    while os.path.exists(f"{path}.{i}"):
        files.append(f"{path}.{i}")
        i += 1
    return list(reversed(files)) + ([path] if os.path.exists(path) else [])


def _format_entry(entry, timestamps):
    text = entry.get("log", "")
    if timestamps:
        text = entry.get("time", "") + " " + text
    return text


def logs(paths, ref, follow=False, tail=None, since=None, until=None, timestamps=False,
         out=None, err=None):
    """Write the container's log to out/err (bytes streams); follow across rotation."""
    out = out or sys.stdout.buffer
    err = err or sys.stderr.buffer
    store = _store(paths)
    rec = store.resolve(ref)
    since_t = _parse_since(since)
    until_t = _parse_since(until)
    path = rec["LogPath"]

    def emit(line):
        try:
            entry = json.loads(line)
        except ValueError:
            return
        t = parse_time(entry.get("time", ""))
        if since_t is not None and t < since_t:
            return
        if until_t is not None and t > until_t:
            return
        data = _format_entry(entry, timestamps).encode("utf-8", "replace")
        (err if entry.get("stream") == "stderr" else out).write(data)

    lines = []
    for fpath in _log_files(path):
        try:
            with open(fpath, "rb") as f:
                lines.extend(f.read().splitlines())
        except OSError:
            pass
    if tail is not None and tail >= 0:
        lines = lines[-tail:] if tail else []
    for line in lines:
        emit(line)
    out.flush()
    err.flush()
    if not follow:
        return
    # follow: keep reading the current file; reopen when it is rotated
    try:
        f = open(path, "rb")
    except OSError:
        return
    f.seek(0, 2)
    buf = b""
    try:
        while True:
            chunk = f.read(65536)
            if chunk:
                buf += chunk
                *complete, buf = buf.split(b"\n")
                for line in complete:
                    emit(line)
                out.flush()
                err.flush()
                continue
            try:
                cur_ino = os.fstat(f.fileno()).st_ino
                if os.stat(path).st_ino != cur_ino:
                    # rotated (maybe several times): finish ours, then read the
                    # files that came after it
                    buf += f.read()
                    f.close()
                    files = _log_files(path)
                    inos = []
                    for fp in files:
                        try:
                            inos.append(os.stat(fp).st_ino)
                        except OSError:
                            inos.append(None)
                    later = files[inos.index(cur_ino) + 1:] if cur_ino in inos else files
                    for fp in later[:-1]:
                        try:
                            with open(fp, "rb") as g:
                                buf += g.read()
                        except OSError:
                            pass
                        *complete, buf = buf.split(b"\n")
                        for line in complete:
                            emit(line)
                    f = open(path, "rb")
                    continue
            except FileNotFoundError:
                if not store.exists(rec["Id"]):
                    return
            st = store.state(rec["Id"]) if store.exists(rec["Id"]) else None
            if st is None or (not _is_running(st) and not pid_alive(
                    st.get("MonitorPid"), st.get("MonitorStart"))):
                # drain what was written just before the exit
                rest = f.read()
                if rest:
                    buf += rest
                    *complete, buf = buf.split(b"\n")
                    for line in complete:
                        emit(line)
                out.flush()
                err.flush()
                return
            time.sleep(0.01)
    finally:
        f.close()
