"""The failures the CLI tells apart: bad input (exit 2), a runtime failure (exit 1), a held promotion (exit 3)."""


class DrError(Exception):
    """A runtime failure: an unreachable API, a promotion that did not finish, a lock held by another controller."""


class UsageError(DrError):
    """Bad input: a config key, a notification body, a command-line value (exit status 2)."""


class LockHeldError(DrError):
    """Another controller holds the promotion lease; the message names it and when the lease ends."""
