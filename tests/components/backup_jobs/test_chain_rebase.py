"""The chain job rebases as often as the vault lifecycle assumes: ``--max-chain-days`` is
``backup.classes.<class>.full_interval_days``, parsed by the backup function's own CLI, and an incremental class
without a full-backup interval is a config error naming both keys."""

from __future__ import annotations

import pytest

from components.backup_jobs.manifests import JobsContext, Vaults, backup_argv
from components.platform.config import ConfigError, parse_config
from functions.backup.cli import build_parser
from tests.plans import STACKS, deep_merge, stack_values


@pytest.mark.parametrize("stack", STACKS)
def test_chain_job_passes_the_full_interval_the_lifecycle_adds(stack: str) -> None:
    config = parse_config(stack_values(stack))
    assert config.backup_jobs is not None
    ctx = JobsContext(
        config.backup_jobs,
        config.backup,
        "platform",
        Vaults(targets={"chain": ["s3://vault"]}, kms_key_id="arn:aws:kms:us-east-1:123456789012:key/k"),
    )
    argv = [str(a) for a in backup_argv(ctx, "chain")]
    parsed = build_parser().parse_args(argv)
    chain = config.backup.classes["chain"]
    assert parsed.command == "incremental" and parsed.max_chain_days == chain.full_interval_days >= 1
    assert chain.expiry_days == chain.retention_days + chain.full_interval_days


def test_incremental_class_without_a_full_interval_is_a_config_error() -> None:
    values = deep_merge(
        stack_values("prod"),
        {"backup": {"classes": {"chain": {"full_interval_days": 0}}}},
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(values)
    assert "classes.chain.incremental: needs backup.classes.chain.full_interval_days >= 1" in str(caught.value)
