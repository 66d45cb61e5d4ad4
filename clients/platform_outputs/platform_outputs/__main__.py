"""``python -m platform_outputs``: see :mod:`platform_outputs.cli`."""

import sys

from platform_outputs.cli import main

sys.exit(main())
