"""Grading (transitional: the otter-run grader is being replaced)."""

from coursetools.grading_legacy import *  # noqa: F403
from coursetools.grading_legacy import __all__  # noqa: F401
