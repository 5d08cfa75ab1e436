"""`python -m benchmark.cli ...` is `commitbench ...`."""

import sys

from . import main

sys.exit(main())
