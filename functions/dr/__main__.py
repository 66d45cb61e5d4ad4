"""``python -m functions.dr``: the controller's CLI (also what the DR region's Deployment runs)."""

import sys

from functions.dr.cli import main

sys.exit(main())
