"""`mydocker` command line.

main() first tries the fast path (manager/cli/fastpath.py): the common
`run`/`create` command lines are parsed there exactly as click would parse
them, without importing click or anything heavy, because `mydocker run`
is what people time.  Every other command line (and any `run` it is not
sure about: --help, unknown or malformed options) goes to the click
application in manager/cli/app.py, which owns all commands and messages.
`cli`, `Context` and `_register` are the click application's, imported
on first use."""
import sys

__all__ = ["main", "cli", "Context"]


def main(argv=None):
    args = list(sys.argv[1:] if argv is None else argv)
    from .fastpath import try_fast
    try_fast(args)                  # returns only when click must handle args
    from .app import main as click_main
    click_main(argv)


def __getattr__(name):
    if name in ("cli", "Context", "_register"):
        from . import app
        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
