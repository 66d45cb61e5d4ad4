"""Errors the optimizer reports per file, so one bad upload never stops a batch."""


class OptimizeError(Exception):
    """A file could not be optimized; the message names the file and the reason, for on-call."""


class StorageError(Exception):
    """Reading or writing an object failed (transient or configuration): worth a retry, unlike OptimizeError."""
