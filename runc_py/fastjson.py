"""JSON without the `json` package's import cost.

`import json` pulls in `re` (and with it enum, functools, collections):
~10 ms on every runtime call, more than the rest of `runc-py state`.  The
C accelerators in `_json` need none of that, so this module drives them
directly; it falls back to `json` where `_json` is missing.  Same results
as json.loads/json.dumps for the documents the runtime reads and writes."""
try:
    import _json
except ImportError:  # pragma: no cover - other Pythons
    _json = None

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
            s = s.decode("utf-8-sig" if s[:3] == b"\xef\xbb\xbf" else "utf-8")
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

    def _float_repr(o, _repr=float.__repr__):
        if o != o:
            return "NaN"
        if o == float("inf"):
            return "Infinity"
        if o == -float("inf"):
            return "-Infinity"
        return _repr(o)

    def _default(o):
        raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")

    _encode = _json.make_encoder(None, _default, _json.encode_basestring_ascii, None,
                                 ": ", ", ", False, False, True)

    def _scalar(o):
        return "".join(_encode([o], 0))[1:-1]

    def _pretty(o, indent, level):
        pad = " " * (indent * (level + 1))
        end = " " * (indent * level)
        if isinstance(o, dict):
            if not o:
                return "{}"
            items = [f"{pad}{_json.encode_basestring_ascii(str(k))}: "
                     f"{_pretty(v, indent, level + 1)}" for k, v in o.items()]
            return "{\n" + ",\n".join(items) + "\n" + end + "}"
        if isinstance(o, (list, tuple)):
            if not o:
                return "[]"
            items = [pad + _pretty(v, indent, level + 1) for v in o]
            return "[\n" + ",\n".join(items) + "\n" + end + "]"
        return _scalar(o)

    def dumps(obj, indent=None):
        """json.dumps(obj) or json.dumps(obj, indent=N): same text."""
        if indent is not None:
            return _pretty(obj, indent, 0)
        if isinstance(obj, (dict, list, tuple)):
            return "".join(_encode(obj, 0))
        return _scalar(obj)
else:  # pragma: no cover
    from json import JSONDecodeError, dumps, loads  # noqa: F401


def load(f):
    return loads(f.read())


def dump(obj, f, indent=None):
    f.write(dumps(obj, indent=indent))
