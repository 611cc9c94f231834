"""The import rules of DESIGN.md / the architecture guide, checked on the
source (no root): the runtime and the manager never import each other; the
pure modules of the runtime never reach the kernel seam (syscalls.linux,
_native); the manager's monitor stays small (no click, requests,
jsonschema, services); only runtime_client runs the OCI runtime."""
import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def modules(pkg):
    base = os.path.join(ROOT, pkg)
    for dirpath, _, files in os.walk(base):
        if "__pycache__" in dirpath:
            continue
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                yield rel.removesuffix(".__init__"), path


def imports_of(modname, path):
    """Absolute names of everything a module imports (any nesting level)."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    pkg = modname if path.endswith("__init__.py") else modname.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = pkg.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1])
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
    return out


RUNTIME = dict(modules("runc_py"))
MANAGER = dict(modules("manager"))


@pytest.mark.parametrize("mod", sorted(RUNTIME))
def test_runtime_never_imports_manager(mod):
    bad = [i for i in imports_of(mod, RUNTIME[mod]) if i.split(".")[0] == "manager"]
    assert not bad, f"{mod} imports {bad}"


@pytest.mark.parametrize("mod", sorted(MANAGER))
def test_manager_never_imports_runtime(mod):
    bad = [i for i in imports_of(mod, MANAGER[mod]) if i.split(".")[0] == "runc_py"]
    assert not bad, f"{mod} imports {bad}: the manager drives runtimes only by argv"


PURE = ["runc_py.plan", "runc_py.plan.compile", "runc_py.spec.checks", "runc_py.spec.load",
        "runc_py.spec.problem", "runc_py.spec.default", "runc_py.mounts",
        "runc_py.cgroups.resources", "runc_py.cgroups.detect", "runc_py.fastjson",
        "runc_py.state"]


@pytest.mark.parametrize("mod", PURE)
def test_pure_modules_do_not_touch_the_kernel_seam(mod):
    bad = [i for i in imports_of(mod, RUNTIME[mod])
           if i.startswith(("runc_py.syscalls.linux", "runc_py._native", "runc_py._seccomp"))]
    assert not bad, f"{mod} is pure but imports {bad}"


def test_monitor_stays_small():
    heavy = ("click", "requests", "jsonschema", "manager.services", "manager.cli",
             "manager.registry")
    bad = [i for i in imports_of("manager.monitor", MANAGER["manager.monitor"])
           if i.startswith(heavy)]
    assert not bad, f"the monitor imports {bad}"


def test_only_runtime_client_runs_the_runtime():
    """No manager module but runtime_client (and the monitor, through it)
    builds runtime argv: a grep for the verbs' argv builders."""
    for mod, path in MANAGER.items():
        if mod in ("manager.runtime_client",):
            continue
        with open(path) as f:
            src = f.read()
        assert '"--log-format"' not in src, f"{mod} builds runtime argv itself"
