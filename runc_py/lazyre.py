"""re.compile on first use: `re` costs ~5 ms to import (enum, functools,
collections) and most runtime calls never reach the values these patterns
check."""


class LazyRegex:
    def __init__(self, pattern, flags=0):
        self.pattern = pattern
        self.flags = flags
        self._re = None

    def _compiled(self):
        if self._re is None:
            import re
            self._re = re.compile(self.pattern, self.flags)
        return self._re

    def match(self, s):
        return self._compiled().match(s)

    def fullmatch(self, s):
        return self._compiled().fullmatch(s)

    def search(self, s):
        return self._compiled().search(s)
