"""JSON through the `_json` C accelerators, without the `json` package.

`import json` brings `re` (and enum, functools, collections): ~10-15 ms of
start-up on our machines, paid by every `mydocker run` and by every
container's monitor.  The scanner and encoder in `_json` need none of it.
loads() accepts what json.loads accepts; dumps() writes what json.dumps
writes with its default separators (and, with indent, what
json.dumps(indent=N, sort_keys=...) writes).  Falls back to `json` where
`_json` is missing.
"""
try:
    import _json
except ImportError:  # pragma: no cover - other Pythons
    _json = None

__all__ = ["loads", "dumps", "load", "dump"]

if _json is not None:
    class _Ctx:
        strict = True
        object_hook = None
        object_pairs_hook = None
        parse_float = float
        parse_int = int
        memo = {}

        @staticmethod
        def parse_constant(name):
            return {"-Infinity": float("-inf"), "Infinity": float("inf"),
                    "NaN": float("nan")}[name]

    _scan = _json.make_scanner(_Ctx())
    _WS = " \t\n\r"

    class JSONDecodeError(ValueError):
        pass

    def loads(s):
        if isinstance(s, (bytes, bytearray)):
            s = bytes(s).decode("utf-8-sig" if s[:3] == b"\xef\xbb\xbf" else "utf-8")
        n = len(s)
        i = 0
        while i < n and s[i] in _WS:
            i += 1
        try:
            obj, end = _scan(s, i)
        except StopIteration as e:
            raise JSONDecodeError(f"Expecting value: char {e.value}") from None
        while end < n and s[end] in _WS:
            end += 1
        if end != n:
            raise JSONDecodeError(f"Extra data: char {end}")
        return obj

    def _default(o):
        raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")

    _encode = _json.make_encoder(None, _default, _json.encode_basestring_ascii, None,
                                 ": ", ", ", False, False, True)
    _encode_sorted = _json.make_encoder(None, _default, _json.encode_basestring_ascii, None,
                                        ": ", ", ", True, False, True)

    def _scalar(o):
        return "".join(_encode([o], 0))[1:-1]

    def _key(k):
        if isinstance(k, str):
            return k
        if k is True:
            return "true"
        if k is False:
            return "false"
        if k is None:
            return "null"
        if isinstance(k, (int, float)):
            return _scalar(k)
        raise TypeError(f"keys must be str, int, float, bool or None, not {type(k).__name__}")

    def _pretty(o, indent, level, sort_keys):
        if isinstance(o, dict):
            if not o:
                return "{}"
            pad = " " * (indent * (level + 1))
            items = [(_key(k), v) for k, v in o.items()]
            if sort_keys:
                items.sort(key=lambda kv: kv[0])
            body = ",\n".join(f"{pad}{_json.encode_basestring_ascii(k)}: "
                              f"{_pretty(v, indent, level + 1, sort_keys)}" for k, v in items)
            return "{\n" + body + "\n" + " " * (indent * level) + "}"
        if isinstance(o, (list, tuple)):
            if not o:
                return "[]"
            pad = " " * (indent * (level + 1))
            body = ",\n".join(pad + _pretty(v, indent, level + 1, sort_keys) for v in o)
            return "[\n" + body + "\n" + " " * (indent * level) + "]"
        return _scalar(o)

    def dumps(obj, indent=None, sort_keys=False):
        """json.dumps(obj[, indent=N][, sort_keys=True]): the same text."""
        if indent is not None:
            return _pretty(obj, indent, 0, sort_keys)
        if isinstance(obj, (dict, list, tuple)):
            return "".join((_encode_sorted if sort_keys else _encode)(obj, 0))
        return _scalar(obj)
else:  # pragma: no cover
    import json as _std
    JSONDecodeError = _std.JSONDecodeError
    loads = _std.loads

    def dumps(obj, indent=None, sort_keys=False):
        return _std.dumps(obj, indent=indent, sort_keys=sort_keys)


def load(f):
    return loads(f.read())


def dump(obj, f, indent=None, sort_keys=False):
    f.write(dumps(obj, indent=indent, sort_keys=sort_keys))
