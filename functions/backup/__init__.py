"""Streaming, encrypted, multi-cloud backups.

``python -m functions.backup --help`` is the CLI; ``functions.backup.handler.lambda_handler`` maps a
Lambda event onto the same commands. See README.md beside this file for the format specification.
"""
