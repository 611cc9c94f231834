"""Registry credentials in Docker's config.json format.

    {"auths": {"127.0.0.1:5000": {"auth": base64("user:password")}}}

The file is $MYDOCKER_CONFIG/config.json (like DOCKER_CONFIG), else
~/.mydocker/config.json; it is written atomically with mode 0600 and other
keys in it are kept.  Docker Hub's key is "https://index.docker.io/v1/", as
in Docker.  If our file has no entry for a registry, Docker's own
~/.docker/config.json (or $DOCKER_CONFIG) is consulted read-only.
"""
import base64
import json
import os
from pathlib import Path

from ..errors import UsageError

__all__ = ["config_path", "get", "store", "erase", "auth_key"]

HUB_KEY = "https://index.docker.io/v1/"


def config_path():
    base = os.environ.get("MYDOCKER_CONFIG")
    if base:
        return Path(base) / "config.json"
    return Path.home() / ".mydocker" / "config.json"


def _docker_config_path():
    base = os.environ.get("DOCKER_CONFIG")
    return Path(base) / "config.json" if base else Path.home() / ".docker" / "config.json"


def auth_key(domain):
    return HUB_KEY if domain in ("docker.io", "index.docker.io") else domain


def _load(path):
    try:
        with open(path) as f:
            data = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise UsageError(f"cannot read credentials file {path}: {e}")
    return data if isinstance(data, dict) else {}


def _lookup(data, key):
    auths = data.get("auths") or {}
    entry = auths.get(key)
    if entry is None:
        for k, v in auths.items():   # tolerate "https://host" / "host/v2/" spellings
            bare = k.split("://", 1)[-1].split("/", 1)[0]
            if bare == key:
                entry = v
                break
    if not entry:
        return None
    if entry.get("auth"):
        try:
            user, _, pw = base64.b64decode(entry["auth"]).decode().partition(":")
        except ValueError:
            return None
        return user, pw
    if entry.get("username"):
        return entry["username"], entry.get("password", "")
    return None


def get(domain, path=None):
    """(username, password) for a registry, or None."""
    key = auth_key(domain)
    found = _lookup(_load(path or config_path()), key)
    if found is None and path is None:
        try:
            found = _lookup(_load(_docker_config_path()), key)
        except UsageError:
            found = None
    return found


def _write(path, data):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent="\t")
        f.write("\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def store(domain, username, password, path=None):
    path = path or config_path()
    data = _load(path)
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    data.setdefault("auths", {})[auth_key(domain)] = {"auth": auth}
    _write(path, data)
    return path


def erase(domain, path=None):
    """Remove stored credentials; returns False when there were none."""
    path = path or config_path()
    data = _load(path)
    auths = data.get("auths") or {}
    if auth_key(domain) not in auths:
        return False
    del auths[auth_key(domain)]
    _write(path, data)
    return True
