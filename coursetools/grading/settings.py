"""The limits a grading run applies, in one object."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_LIMITS", "Limits"]


@dataclass(frozen=True)
class Limits:
    """Time, memory and size limits for grading one submission.

    ``timeout`` bounds the notebook's execution (wall clock), ``test_timeout`` the
    hidden tests with the calls they make into the notebook's kernel. ``memory_gb`` is
    ``RLIMIT_DATA`` for every process of a sandbox (a runaway allocation raises
    ``MemoryError`` inside the notebook; see :mod:`coursetools.grading.sandbox`).
    """

    timeout: float = 600.0
    test_timeout: float = 300.0
    memory_gb: float = 4.0
    max_submission_bytes: int = 50 * 2**20
    max_file_bytes: int = 2**30
    max_answers_bytes: int = 256 * 2**20
    max_processes: int = 1024

    def __post_init__(self):
        for name in ("timeout", "test_timeout", "memory_gb"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"{name} must be positive, got {value!r}")

    @property
    def memory_bytes(self) -> int:
        """``memory_gb`` in bytes."""
        return int(self.memory_gb * 2**30)


DEFAULT_LIMITS = Limits()
"""The limits ``make grade`` uses unless told otherwise."""
