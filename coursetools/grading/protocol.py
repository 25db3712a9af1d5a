"""The line protocol between the grader and its two sandboxed processes.

Each process talks to the grader over its original stdin and stdout, one JSON object
per line. :func:`open_channel` takes those two descriptors away from everything else
(the process's own output and any child, such as the notebook's kernel, goes to
stderr; stdin reads nothing), so that only the protocol travels on them.
"""

from __future__ import annotations

import json
import os
from typing import Any, TextIO

__all__ = ["Channel", "open_channel"]


class Channel:
    """Send and receive JSON messages, one per line."""

    def __init__(self, incoming: TextIO, outgoing: TextIO):
        self._incoming = incoming
        self._outgoing = outgoing

    def send(self, message: dict[str, Any]) -> None:
        """Write one message."""
        self._outgoing.write(json.dumps(message) + "\n")
        self._outgoing.flush()

    def receive(self) -> dict[str, Any] | None:
        """The next message, or ``None`` when the other side has closed the channel."""
        line = self._incoming.readline()
        return json.loads(line) if line else None


def open_channel() -> Channel:
    """Move stdin/stdout to private, non-inheritable descriptors; return the channel."""
    incoming = os.fdopen(os.dup(0), "r", encoding="utf-8")
    outgoing = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    return Channel(incoming, outgoing)
