"""The real servers the standby test shares with the backup and controller tests (session fixtures)."""

from tests.functions.backup.conftest import azurite, gcs_emulator, seaweedfs  # noqa: F401
from tests.functions.dr.conftest import moto_server  # noqa: F401
