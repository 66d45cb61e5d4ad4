"""Content optimizer: responsive image variants, video renditions and precompressed text.

Entry points: ``python -m functions.optimizer`` (CLI and Kubernetes Job), ``handler.lambda_handler``
(S3 upload events) and ``package`` (reproducible Lambda zip). See README.md beside this file.
"""
