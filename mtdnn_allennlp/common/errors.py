"""Errors for bad input: each names where the problem is and how to fix it."""

from typing import Optional

from allennlp.common.checks import ConfigurationError


class DataError(ConfigurationError):
    """A problem in a data file: names the file, line, task and field, and how to fix it.

    A ConfigurationError, so the allennlp CLI prints the message without a long traceback.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: Optional[str] = None,
        line: Optional[int] = None,
        task: Optional[str] = None,
        field: Optional[str] = None,
        fix: Optional[str] = None,
    ) -> None:
        where = []
        if file is not None:
            where.append(f"{file}:{line}" if line is not None else str(file))
        if task is not None:
            where.append(f"task '{task}'")
        if field is not None:
            where.append(f"field '{field}'")
        message = (", ".join(where) + ": " if where else "") + problem
        if fix:
            message += f"\n  How to fix: {fix}"
        super().__init__(message)
        self.file, self.line, self.task, self.field = file, line, task, field
        self.problem, self.fix = problem, fix
