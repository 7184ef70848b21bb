"""Where a key of a suite file is: ``file:line`` for its errors, since tomllib keeps
no positions."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path


class SuiteError(ValueError):
    """A suite file that cannot be run; the message names the file, key and line."""


class Locator:
    """Finds the line of a key in the raw text, since tomllib keeps no positions."""

    def __init__(self, path: Path, text: str):
        self.path, self.lines = path, text.splitlines()

    def line_of(self, key: str, table: str | None = None) -> int | None:
        """Line of ``key = ...`` (or of a table header naming ``key``), searched from the
        header of ``table`` when given."""
        start = 0
        if table is not None:
            header = re.compile(rf"^\s*\[\s*{re.escape(table)}\s*\]")
            start = next((n for n, line in enumerate(self.lines) if header.search(line)), 0)
        escaped = re.escape(key)
        pattern = re.compile(rf'^\s*(\[[^\]]*\b{escaped}\b[^\]]*\]|"?{escaped}"?\s*=)')
        for number in range(start, len(self.lines)):
            if pattern.search(self.lines[number]):
                return number + 1
        return None

    @contextlib.contextmanager
    def refusing(self, table: str) -> Iterator[None]:
        """Turn a check's ``ValueError(key, message)`` into a SuiteError at the key's line
        within ``table``."""
        try:
            yield
        except ValueError as error:
            if len(error.args) != 2:
                raise
            key, message = error.args
            raise self.error(key, message, table) from None

    def at(self, key: str, table: str | None = None) -> str:
        """``file:line`` of ``key`` (the file alone when the line is not found)."""
        line = self.line_of(key, table)
        return f"{self.path}:{line}" if line else str(self.path)

    def error(self, key: str, message: str, table: str | None = None) -> SuiteError:
        return SuiteError(f"{self.at(key, table)}: {message} (key {key!r}).")
