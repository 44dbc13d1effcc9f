"""`python -m access_probe`: the same command as the `access-probe` console script."""

import sys

from access_probe.cli import main

sys.exit(main())
