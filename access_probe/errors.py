"""The project's exception tree. Network conditions are never exceptions (they are data in
`model.py`); these are for input and programmer errors only.

    AccessProbeError
    ├── UsageError            bad command-line input (exit 2)
    ├── InputError            a file or value is wrong; names file, line and key (exit 2)
    │   ├── ConfigError       a configuration file or environment override
    │   └── CatalogueError    a targets file
    └── ServiceError          something the command needs is unavailable, e.g. the
                              collector's database (exit 1)
"""

from __future__ import annotations


class AccessProbeError(Exception):
    """Base of every error this library raises on purpose."""


class UsageError(AccessProbeError):
    pass


class InputError(AccessProbeError):
    """A problem in an input file, located precisely: `file:line: key: problem`."""

    def __init__(self, problem: str, *, file: str | None = None, line: int | None = None,
                 key: str | None = None) -> None:
        self.problem = problem
        self.file = file
        self.line = line
        self.key = key
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """One line, always: a problem quoting input (or a library's message) cannot break
        it across lines."""
        return " ".join(self._message().split())

    def _message(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where += f":{self.line}"
        if self.key:
            return f"{where}: {self.key}: {self.problem}"
        return f"{where}: {self.problem}"


class ServiceError(AccessProbeError):
    """The input was fine but a service the command needs did not answer."""


class ConfigError(InputError):
    pass


class CatalogueError(InputError):
    pass
