"""Problem (where + what is wrong in a document) and JSON-path formatting,
shared by spec/checks.py (on every create) and spec/schema.py (jsonschema).
Imports nothing heavy: no re, no json, no dataclasses."""
from .. import fastjson


class Problem:
    """One thing wrong with a document: where (a JSON path such as
    ``mounts[3].options``; ``$`` is the document itself) and what.
    Immutable and comparable."""
    __slots__ = ("path", "message")

    def __init__(self, path, message):
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "message", message)

    def __setattr__(self, name, value):
        raise AttributeError("Problem is immutable")

    def __eq__(self, other):
        return (isinstance(other, Problem) and
                (self.path, self.message) == (other.path, other.message))

    def __hash__(self):
        return hash((self.path, self.message))

    def __repr__(self):
        return f"Problem(path={self.path!r}, message={self.message!r})"

    def __str__(self):
        return f"{self.path}: {self.message}"


def _plain_ident(s):
    return bool(s) and s.isascii() and s.isidentifier()


def format_path(parts):
    """``["mounts", 3, "options"]`` -> ``mounts[3].options``; keys that are
    not plain identifiers are quoted: ``linux.sysctl["net.ipv4.ip_forward"]``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _plain_ident(part):
            out += f".{part}" if out else part
        else:
            out += f"[{fastjson.dumps(part)}]"
    return out or "$"


from ..lazyre import LazyRegex  # noqa: E402,F401 (re-exported)
