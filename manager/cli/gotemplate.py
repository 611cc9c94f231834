"""A small Go text/template subset for `--format`, the part Docker users type:

  {{.ID}}  {{.State.Status}}  {{json .Config}}  {{index .Config.Labels "k"}}
  {{range .Mounts}}{{.Source}} {{end}}  {{if .State.Running}}up{{else}}down{{end}}
  {{.Label "com.example"}}  {{upper .Name}}  {{join .Args ","}}  {{printf "%s" .Id}}
  {{- trim -}} markers, pipelines `{{.Name | upper}}`, `with`, `len`, `lower`,
  `title`, `split`, `println`.

Values print the way Go prints them (maps as map[k:v], lists as [a b],
missing fields as <no value>).  `table` formats and the header names are
handled by `render_table`.  Errors raise manager.errors.UsageError.
"""
import json
import re

from ..errors import UsageError

__all__ = ["render", "render_table", "parse"]

_TOKEN = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}", re.S)


class _Missing:
    def __str__(self):
        return "<no value>"


MISSING = _Missing()


def _lex_args(text):
    """Split an action into words: strings, numbers, fields, idents, parens, pipes."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
        elif c == '"':
            j = i + 1
            while j < len(text) and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(("str", json.loads(text[i:j + 1])))
            i = j + 1
        elif c == "`":
            j = text.index("`", i + 1)
            out.append(("str", text[i + 1:j]))
            i = j + 1
        elif c == "|":
            out.append(("pipe", "|"))
            i += 1
        elif c in "()":
            out.append((c, c))
            i += 1
        else:
            j = i
            while j < len(text) and not text[j].isspace() and text[j] not in '|()"':
                j += 1
            word = text[i:j]
            if re.match(r"^-?\d+$", word):
                out.append(("num", int(word)))
            elif word.startswith(".") or word.startswith("$"):
                out.append(("field", word))
            else:
                out.append(("ident", word))
            i = j
    return out


def parse(template):
    """-> a tree of nodes: ("text", s) | ("action", words) | ("range"/"if"/"with", words, body, else)."""
    pieces = []
    pos = 0
    for m in _TOKEN.finditer(template):
        text = template[pos:m.start()]
        if m.group(1):
            text = text.rstrip()
        if pieces and pieces[-1][0] == "trim_next":
            pieces.pop()
            text = text.lstrip()
        pieces.append(("text", text))
        pieces.append(("act", m.group(2)))
        if m.group(3):
            pieces.append(("trim_next", None))
        pos = m.end()
    rest = template[pos:]
    if pieces and pieces[-1][0] == "trim_next":
        pieces.pop()
        rest = rest.lstrip()
    pieces.append(("text", rest))
    if "{{" in rest:
        raise UsageError(f"template parsing error: unclosed action in {template!r}")
    nodes, i = _parse_block(pieces, 0, template)
    if i != len(pieces):
        raise UsageError(f"template: unexpected {{{{{pieces[i][1]}}}}} in {template!r}")
    return nodes


def _parse_block(pieces, i, template):
    nodes = []
    while i < len(pieces):
        kind, val = pieces[i]
        if kind == "text":
            if val:
                nodes.append(("text", val))
            i += 1
            continue
        word = val.split(None, 1)[0] if val else ""
        if word in ("end", "else"):
            return nodes, i
        if val.startswith("/*"):
            i += 1
            continue
        if word in ("range", "if", "with"):
            words = _lex_args(val[len(word):])
            body, i = _parse_block(pieces, i + 1, template)
            other = []
            if i < len(pieces) and pieces[i][1].split(None, 1)[0] == "else":
                other, i = _parse_block(pieces, i + 1, template)
            if i >= len(pieces) or pieces[i][1] != "end":
                raise UsageError(f"template: missing {{{{end}}}} in {template!r}")
            nodes.append((word, words, body, other))
            i += 1
            continue
        nodes.append(("action", _lex_args(val)))
        i += 1
    return nodes, i


def _field(data, path, root):
    cur = root if path.startswith("$") else data
    parts = [p for p in path.lstrip("$").split(".") if p]
    for p in parts:
        if isinstance(cur, dict):
            if p in cur:
                cur = cur[p]
            else:
                low = {k.lower(): k for k in cur if isinstance(k, str)}
                if p.lower() in low and p[0].isupper():
                    cur = cur[low[p.lower()]]
                else:
                    return MISSING
        elif cur is None or cur is MISSING:
            return MISSING
        else:
            cur = getattr(cur, p, MISSING)
    return cur


def fmt(v):
    """Go's default formatting of a value."""
    if v is MISSING:
        return "<no value>"
    if v is None:
        return "<nil>"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{fmt(v[k])}" for k in sorted(v)) + "]"
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(fmt(x) for x in v) + "]"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _json(v):
    return json.dumps(None if v is MISSING else v, separators=(",", ":"))


def _index(v, *keys):
    for k in keys:
        if isinstance(v, dict):
            v = v.get(k, "")
        elif isinstance(v, (list, tuple)) and isinstance(k, int):
            if not 0 <= k < len(v):
                raise UsageError(f"template: index out of range: {k}")
            v = v[k]
        else:
            return MISSING
    return v


def _printf(f, *args):
    conv = re.sub(r"%v", "%s", f)
    conv = re.sub(r"%q", "%r", conv)
    try:
        return conv % tuple(fmt(a) if isinstance(a, (dict, list, bool)) or a is None else a
                            for a in args)
    except (TypeError, ValueError) as e:
        raise UsageError(f"template: printf: {e}")


FUNCS = {
    "json": _json,
    "index": _index,
    "upper": lambda s: fmt(s).upper(),
    "lower": lambda s: fmt(s).lower(),
    "title": lambda s: fmt(s).title(),
    "len": lambda v: len(v) if v not in (None, MISSING) else 0,
    "join": lambda v, sep: sep.join(fmt(x) for x in (v or [])),
    "split": lambda s, sep: fmt(s).split(sep),
    "printf": _printf,
    "print": lambda *a: "".join(fmt(x) for x in a),
    "println": lambda *a: " ".join(fmt(x) for x in a) + "\n",
    "not": lambda v: not _truth(v),
    "eq": lambda a, *b: any(a == x for x in b),
    "ne": lambda a, b: a != b,
    "truncate": lambda s, n: fmt(s)[:n],
    "pad": lambda s, a, b: " " * a + fmt(s) + " " * b,
}


def _truth(v):
    return v not in (None, MISSING, False, 0, "", [], {})


def _eval_pipeline(words, data, root):
    cmds, cur = [], []
    depth = 0
    for w in words:
        if w[0] == "pipe" and depth == 0:
            cmds.append(cur)
            cur = []
        else:
            depth += 1 if w[0] == "(" else -1 if w[0] == ")" else 0
            cur.append(w)
    cmds.append(cur)
    value = None
    for n, cmd in enumerate(cmds):
        extra = [value] if n > 0 else []
        value = _eval_cmd(cmd, data, root, extra)
    return value


def _eval_operand(words, i, data, root):
    kind, val = words[i]
    if kind == "(":
        depth, j = 1, i + 1
        while j < len(words) and depth:
            depth += 1 if words[j][0] == "(" else -1 if words[j][0] == ")" else 0
            j += 1
        return _eval_pipeline(words[i + 1:j - 1], data, root), j
    if kind in ("str", "num"):
        return val, i + 1
    if kind == "field":
        return (data if val == "." else root if val == "$" else _field(data, val, root)), i + 1
    if kind == "ident":
        if val in ("true", "false"):
            return val == "true", i + 1
        if val == "nil":
            return None, i + 1
        if val in FUNCS:
            return FUNCS[val](), i + 1
    raise UsageError(f"template: function {val!r} not defined")


def _eval_cmd(cmd, data, root, extra):
    if not cmd:
        raise UsageError("template: empty command")
    kind, val = cmd[0]
    if kind == "ident" and val in FUNCS:
        args, i = [], 1
        while i < len(cmd):
            v, i = _eval_operand(cmd, i, data, root)
            args.append(v)
        try:
            return FUNCS[val](*(args + extra))
        except TypeError:
            raise UsageError(f"template: wrong number of args for {val}")
    value, i = _eval_operand(cmd, 0, data, root)
    if i < len(cmd) or extra:
        if callable(value):
            args = []
            while i < len(cmd):
                v, i = _eval_operand(cmd, i, data, root)
                args.append(v)
            return value(*(args + extra))
        raise UsageError(f"template: can't give argument to non-function {cmd[0][1]}")
    if callable(value):
        return value()
    return value


def _exec(nodes, data, root, out):
    for node in nodes:
        kind = node[0]
        if kind == "text":
            out.append(node[1])
        elif kind == "action":
            words = node[1]
            if len(words) >= 3 and words[0][0] == "field" and words[0][1].startswith("$") \
                    and words[1] == ("ident", ":="):
                continue
            out.append(fmt(_eval_pipeline(words, data, root)))
        else:
            _, words, body, other = node
            v = _eval_pipeline(words, data, root)
            if kind == "if":
                _exec(body if _truth(v) else other, data, root, out)
            elif kind == "with":
                _exec(body if _truth(v) else other, v if _truth(v) else data, root, out)
            else:
                items = v if isinstance(v, (list, tuple)) else \
                    [v[k] for k in sorted(v)] if isinstance(v, dict) else []
                if not items:
                    _exec(other, data, root, out)
                for item in items:
                    _exec(body, item, root, out)


def unescape(template):
    return template.replace("\\t", "\t").replace("\\n", "\n")


def render(template, data):
    nodes = parse(unescape(template))
    out = []
    _exec(nodes, data, data, out)
    return "".join(out)


def tabulate(rows, minwidth=10, padding=3):
    """Align tab-separated rows like Go's tabwriter (minwidth 10, padding 3)."""
    split = [r.split("\t") for r in rows]
    widths = {}
    for cells in split:
        for i, c in enumerate(cells[:-1]):
            widths[i] = max(widths.get(i, 0), len(c) + padding, minwidth)
    lines = []
    for cells in split:
        line = "".join(c.ljust(widths[i]) for i, c in enumerate(cells[:-1])) + cells[-1]
        lines.append(line.rstrip() if len(cells) > 1 else line)
    return lines


def render_table(template, rows, headers):
    """`table {{.A}}\\t{{.B}}` -> header row + aligned rows; plain templates -> one line each."""
    t = unescape(template)
    if t.startswith("table"):
        body = t[5:].lstrip()
        head_data = {k: v for k, v in headers.items()}
        head = render(body, _HeaderDict(head_data))
        lines = [head] + [render(body, r) for r in rows]
        return tabulate(lines)
    return [render(t, r) for r in rows]


class _HeaderDict(dict):
    """Field lookups on the header row give the column title (upper-cased name if unknown)."""

    def __missing__(self, key):
        return key.upper()

    def __contains__(self, key):
        return True
