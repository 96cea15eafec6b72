"""``python -m benchmarks.testbed``: see :mod:`benchmarks.testbed.run`."""

import sys

from benchmarks.testbed.run import main

sys.exit(main())
