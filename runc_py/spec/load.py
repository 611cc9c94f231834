"""Load a bundle's config.json and check it (pure: no syscalls but reads).

Errors name the JSON path of the offending field.  Full JSON-Schema
validation (oci-spec/runtime/config.schema.json, through jsonschema) costs
~60 ms of imports, so on the start-up path we rely on the plan compiler's
typed reads plus the cross-field checks in spec/checks.py; the schema runs
when RUNC_PY_SCHEMA=1 is set or through `runc-py validate`."""
import os

from .. import fastjson as json

from ..errors import SpecError


def load_bundle(bundle):
    """-> (absolute bundle path, config dict).  Raises SpecError."""
    if bundle is None or bundle == "":
        bundle = "."
    bundle = os.path.abspath(bundle)
    if not os.path.isdir(bundle):
        raise SpecError(None, f"bundle {bundle}: no such directory",
                        hint="pass the bundle directory with --bundle")
    path = os.path.join(bundle, "config.json")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise SpecError(None, f"{path}: no such file",
                        hint="a bundle needs config.json; `runc-py spec` writes a default one")
    except OSError as e:
        raise SpecError(None, f"{path}: {e.strerror}")
    try:
        doc = json.loads(raw)
    except ValueError:
        import json as _json  # the full module says where: line and column
        try:
            _json.loads(raw)
            detail = "cannot be parsed"
        except ValueError as e:
            detail = str(e)
        raise SpecError(None, f"{path} is not valid JSON: {detail}")
    if not isinstance(doc, dict):
        raise SpecError("$", "config.json must hold a JSON object")
    return bundle, doc


def check(doc, schema=None):
    """Cross-field checks (always) and JSON Schema (on request).  Raises the
    first problem as SpecError; the message lists how many more there are."""
    problems = []
    try:
        from . import checks
    except ImportError:  # pragma: no cover - checks module not installed
        checks = None
    if checks is not None:
        problems.extend(checks.check(doc))
    if schema is None:
        schema = os.environ.get("RUNC_PY_SCHEMA") == "1"
    if schema and not problems:
        from . import schema as schema_mod
        problems.extend(schema_mod.validate(doc))
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise SpecError(first.path or "$", first.message + more)
