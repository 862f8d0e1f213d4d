"""Exceptions shared by the core and the app."""


class NanotwinError(ValueError):
    """Bad user input or an impossible request; the message names the file, line or value."""


class Cancelled(RuntimeError):  # noqa: N818 - reads better at the call site than CancelledError
    """A long computation was cancelled by its caller."""


class InputFileError(NanotwinError):
    """A file could not be read; the message names the file, the line (if any) and the problem."""

    def __init__(self, path, problem: str, line: int | None = None) -> None:
        where = f"{path}" if line is None else f"{path}, line {line}"
        super().__init__(f"{where}: {problem}")
        self.path = str(path)
        self.line = line
        self.problem = problem

    def __reduce__(self):
        # rebuilt from its own arguments (pickle's default passes the message alone), so the error
        # of a task on a Dask worker arrives whole
        return (type(self), (self.path, self.problem, self.line))
