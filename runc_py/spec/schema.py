"""Validate OCI documents against our own JSON Schemas and report each problem
with the JSON path of the offending field and a message a person can act on.

    >>> validate({"ociVersion": "1.2.0", "root": {"path": "rootfs"},
    ...           "linux": {"namespaces": [{"type": "pidd"}]}})
    [Problem(path='linux.namespaces[0].type', message='must be one of pid, network,
     mount, ipc, uts, user, cgroup, time (got "pidd")')]

Kinds: "config", "state", "features" (runtime spec) and "descriptor",
"manifest", "index", "image-config" (image spec).  The schemas live in
``<repo>/oci-spec/`` (or ``runc_py/oci-spec/`` in an installed layout, or
the directory named by ``$RUNC_PY_OCI_SPEC``).

This module imports only the standard library at import time; jsonschema
(~55 ms) is imported the first time a document is validated.  ``Problem`` and
``format_path`` are shared with :mod:`runc_py.spec.checks`, the cross-field
checks that run on the runtime's hot path without jsonschema.
"""
import json
import os

__all__ = ["Problem", "format_path", "validate", "validate_kind", "validate_all",
           "schema_dir", "KINDS"]

KINDS = {
    "config": "runtime/config.schema.json",
    "state": "runtime/state.schema.json",
    "features": "runtime/features.schema.json",
    "descriptor": "image/descriptor.schema.json",
    "manifest": "image/manifest.schema.json",
    "index": "image/index.schema.json",
    "image-config": "image/config.schema.json",
}


from .problem import Problem, format_path  # noqa: E402,F401 (re-exported)


def schema_dir():
    """The directory holding runtime/ and image/ schemas."""
    env = os.environ.get("RUNC_PY_OCI_SPEC")
    if env:
        if not os.path.isfile(os.path.join(env, KINDS["config"])):
            raise FileNotFoundError(f"RUNC_PY_OCI_SPEC={env} has no {KINDS['config']}")
        return env
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for candidate in (os.path.join(os.path.dirname(pkg), "oci-spec"),
                      os.path.join(pkg, "oci-spec")):
        if os.path.isfile(os.path.join(candidate, KINDS["config"])):
            return candidate
    raise FileNotFoundError(
        f"OCI schemas not found next to the package ({pkg}/../oci-spec or {pkg}/oci-spec); "
        "set RUNC_PY_OCI_SPEC to the oci-spec directory")


_validators = {}


def _validator(kind):
    if kind not in KINDS:
        raise ValueError(f"unknown document kind {kind!r}; expected one of {', '.join(KINDS)}")
    found = _validators.get(kind)
    if found is not None:
        return found
    import jsonschema
    from referencing import Registry, Resource

    base = schema_dir()
    schemas = {}
    for name, rel in KINDS.items():
        with open(os.path.join(base, rel)) as f:
            schemas[name] = json.load(f)
    registry = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in schemas.values())
    for name, s in schemas.items():
        _validators[name] = jsonschema.Draft202012Validator(s, registry=registry)
    return _validators[kind]


def validate(doc, kind="config"):
    """Check ``doc`` (parsed JSON) against the schema for ``kind``; return the
    problems found (empty list when valid), in document order."""
    validator = _validator(kind)
    seen = set()
    problems = []
    for error in validator.iter_errors(doc):
        for problem in _describe(error):
            if problem not in seen:
                seen.add(problem)
                problems.append(problem)
    return problems


def validate_kind(doc, kind):
    """Same as :func:`validate`, with the kind required (for the manager:
    "manifest", "index", "image-config", "descriptor", "state", "features")."""
    return validate(doc, kind)


def validate_all(doc):
    """Schema problems of a config.json plus the cross-field checks of
    :mod:`runc_py.spec.checks`, without reporting one field twice."""
    from .checks import check
    problems = validate(doc, "config")
    reported = [p.path for p in problems]
    for problem in check(doc):
        if not any(_within(problem.path, r) for r in reported):
            problems.append(problem)
    return problems


def _within(path, other):
    return path == other or path.startswith(other + ".") or path.startswith(other + "[")


# --- turning jsonschema errors into Problems -------------------------------------

_TYPE_NAMES = {"string": "a string", "integer": "an integer", "number": "a number",
               "boolean": "a boolean", "object": "an object", "array": "an array",
               "null": "null"}


def _got(value):
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_phrase(types):
    if isinstance(types, str):
        types = [types]
    return " or ".join(_TYPE_NAMES.get(t, t) for t in types)


def _range_phrase(schema):
    """'an integer from 0 to 4294967295', 'an integer > 0', ... or None."""
    lo, hi = schema.get("minimum"), schema.get("maximum")
    xlo = schema.get("exclusiveMinimum")
    kind = _type_phrase(schema.get("type", "number"))
    if lo == 0 and hi == 2 ** 64 - 1:
        return f"{kind} >= 0 (uint64)"
    if lo is not None and hi is not None:
        return f"{kind} from {lo} to {hi}"
    if lo is not None:
        return f"{kind} >= {lo}"
    if xlo is not None:
        return f"{kind} > {xlo}"
    if hi is not None:
        return f"{kind} <= {hi}"
    return None


def _enum_phrase(values):
    return ", ".join(v if isinstance(v, str) and v else json.dumps(v) for v in values)


def _describe(error):
    path = list(error.absolute_path)
    kw = error.validator
    inst = error.instance

    if "propertyNames" in error.schema_path:
        # error.instance is the offending key; the path is the object holding it
        return [_problem(path, f"has an invalid key {json.dumps(inst)}: {_message(error)}")]
    if kw == "required":
        if not isinstance(inst, dict):
            return []
        return [_problem(path + [name], "is required")
                for name in error.validator_value if name not in inst]
    if kw == "dependentRequired":
        out = []
        for name, needed in error.validator_value.items():
            if isinstance(inst, dict) and name in inst:
                out += [_problem(path + [n], f"is required when {name} is set")
                        for n in needed if n not in inst]
        return out
    if kw in ("anyOf", "oneOf"):
        branches = error.validator_value
        names = [b["required"][0] for b in branches
                 if isinstance(b, dict) and list(b) == ["required"] and len(b["required"]) == 1]
        if len(names) == len(branches):
            return [_problem(path, f"must set at least one of {', '.join(names)}")]
        if error.context:
            from jsonschema.exceptions import best_match
            # "X or null": explain what is wrong with the X, not that it is not null
            useful = [e for e in error.context
                      if not (e.validator == "type" and e.validator_value == "null")]
            return _describe(best_match(useful or error.context))
    return [_problem(path, _message(error))]


def _message(error):
    kw = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    value = error.validator_value
    inst = error.instance
    if kw == "type":
        if schema.get("type") == "integer" or schema.get("type") == "number":
            ranged = _range_phrase(schema)
            if ranged:
                return f"must be {ranged} (got {_got(inst)})"
        return f"must be {_type_phrase(value)} (got {_got(inst)})"
    if kw in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return f"must be {_range_phrase(schema) or kw + ' ' + str(value)} (got {_got(inst)})"
    if kw == "enum":
        return f"must be one of {_enum_phrase(value)} (got {_got(inst)})"
    if kw == "const":
        return f"must be {_got(value)} (got {_got(inst)})"
    if kw == "pattern":
        hint = schema.get("x-hint")
        return (f"must be {hint}" if hint else f"must match {value}") + f" (got {_got(inst)})"
    if kw == "minItems":
        return "must not be empty" if value == 1 else f"must have at least {value} entries"
    if kw == "maxItems":
        return f"must have at most {value} entries"
    if kw == "minLength":
        return "must not be empty" if value == 1 else f"must be at least {value} characters long"
    if kw == "maxLength":
        return f"must be at most {value} characters long"
    return error.message


def _problem(parts, message):
    return Problem(format_path(parts), message)
