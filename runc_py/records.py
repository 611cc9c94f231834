"""record(): a namedtuple-like tuple class without importing `collections`
(~3 ms on every runtime call: heapq, keyword, operator, reprlib...).
Supports positional and keyword construction, defaults for trailing fields,
attribute access, equality and repr -- all the runtime uses."""


def record(name, fields, defaults=()):
    fields = tuple(fields.replace(",", " ").split()) if isinstance(fields, str) else tuple(fields)
    n = len(fields)
    first_default = n - len(defaults)

    def __new__(cls, *args, **kw):
        if len(args) > n:
            raise TypeError(f"{name} takes {n} arguments, got {len(args)}")
        vals = list(args)
        for i in range(len(args), n):
            f = fields[i]
            if f in kw:
                vals.append(kw.pop(f))
            elif i >= first_default:
                vals.append(defaults[i - first_default])
            else:
                raise TypeError(f"{name} missing argument {f!r}")
        if kw:
            raise TypeError(f"{name} got unexpected arguments {sorted(kw)}")
        return tuple.__new__(cls, vals)

    def __repr__(self):
        return f"{name}(" + ", ".join(f"{f}={v!r}" for f, v in zip(fields, self)) + ")"

    def __getnewargs__(self):
        return tuple(self)

    ns = {"__slots__": (), "_fields": fields, "__new__": __new__, "__repr__": __repr__,
          "__getnewargs__": __getnewargs__}
    for i, f in enumerate(fields):
        ns[f] = property(lambda self, i=i: self[i], doc=f"field {i}: {f}")
    return type(name, (tuple,), ns)
