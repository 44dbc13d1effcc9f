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

from typing import Any


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

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled whole (the agent's check child hands errors back this way); the default
        # would rebuild it from the message alone and lose the file, line and key.
        return (_rebuild_input_error, (type(self), self.problem, self.file, self.line, self.key))

    @property
    def message(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where += f":{self.line}"
        if self.key:
            return f"{where}: {self.key}: {self.problem}"
        return f"{where}: {self.problem}"


def _rebuild_input_error(cls: type[InputError], problem: str, file: str | None,
                         line: int | None, key: str | None) -> InputError:
    return cls(problem, file=file, line=line, key=key)


class ServiceError(AccessProbeError):
    """The input was fine but a service the command needs did not answer."""


class ConfigError(InputError):
    pass


class CatalogueError(InputError):
    pass
