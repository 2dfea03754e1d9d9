"""The one exception type the package raises for bad input, with a one-line message."""

from __future__ import annotations


class StudyInputError(ValueError):
    """Bad input (file, column, row, parameter). The message is one readable line.

    The CLI prints it and exits with status 2; library callers can catch it.
    """
