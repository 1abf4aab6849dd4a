"""The one error type routes raise: an HTTP status and a message for the user."""

from __future__ import annotations


class ApiError(Exception):
    """A request the API refuses, with its HTTP status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
