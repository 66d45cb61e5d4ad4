"""The two failures the CLI distinguishes: bad input (exit 2) and a runtime failure (exit 1)."""


class BackupError(Exception):
    """A runtime failure: unreachable source, refused credentials, a tampered chunk, a full disk."""


class UsageError(BackupError):
    """Bad input on the command line: unknown scheme, missing key file, bad value (exit status 2)."""


class IntegrityError(BackupError):
    """A backup failed verification; the message names the chunk (or manifest field) at fault."""
