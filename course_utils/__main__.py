"""``python -m course_utils``: see :mod:`course_utils.tools.cli`."""

import sys

from course_utils.tools.cli import main

sys.exit(main())
