"""``python -m coursetools.grading``: see :mod:`coursetools.grading.cli`."""

import sys

from coursetools.grading.cli import main

sys.exit(main())
