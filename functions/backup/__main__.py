"""``python -m functions.backup``: the CLI (also what Kubernetes Jobs and archive_command run)."""

import sys

from functions.backup.cli import main

sys.exit(main())
