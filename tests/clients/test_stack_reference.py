"""``PlatformOutputs`` on a ``StackReference`` served by Pulumi's mock engine: types, validation, secrecy."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from platform_outputs import ContractError, MaintenanceOutputs, PlatformOutputs, RedisOutputs
from platform_outputs.models import BackupAwsOutputs
from pydantic import SecretStr

from tests.clients import samples
from tests.clients.pulumi_mocks import ReferenceMocks, install, resolve

STACK = "my-org/platform/prod"


def reference(outputs: dict[str, Any] | None = None, secret_paths: tuple[str, ...] = ("redis.password",)) -> Any:
    install(ReferenceMocks({STACK: outputs if outputs is not None else samples.outputs()}, secret_paths))
    return pulumi.StackReference("platform", stack_name=STACK)


def test_the_whole_model_resolves_typed_and_secret_because_redis_holds_a_secret() -> None:
    value, secret = resolve(PlatformOutputs.from_stack_reference(reference()))
    assert isinstance(value, PlatformOutputs)
    assert value.redis is not None
    assert value.redis.port == 6379  # the engine carried it as 6379.0
    assert type(value.redis.port) is int
    assert value.redis.master_set is None  # the SDK dropped the null on the way in
    assert isinstance(value.redis.password, SecretStr)
    assert value.redis.password.get_secret_value() == samples.PASSWORD
    assert secret


def test_reading_only_plain_sections_gives_a_plain_output() -> None:
    value, secret = resolve(PlatformOutputs.from_stack_reference(reference(), sections=["maintenance"]))
    assert value.redis is None  # not read
    assert value.maintenance is not None
    assert value.namespace == "platform"
    assert not secret


def test_a_secret_output_outside_the_contract_does_not_taint_what_is_read() -> None:
    data = samples.outputs()
    data["admin_token"] = "not-for-consumers"
    ref = reference(data, secret_paths=("redis.password", "admin_token"))
    _, secret = resolve(PlatformOutputs.from_stack_reference(ref, sections=()))
    assert not secret


def test_one_section_is_typed_and_secret_only_when_it_holds_a_secret() -> None:
    ref = reference()
    redis, redis_secret = resolve(PlatformOutputs.section(ref, RedisOutputs))
    assert isinstance(redis, RedisOutputs)
    assert redis.endpoint == "redis.platform.svc.cluster.local"
    assert redis_secret
    maintenance, maintenance_secret = resolve(PlatformOutputs.section(ref, MaintenanceOutputs))
    assert maintenance.cronjobs == {"redis-bgrewriteaof": "0 3 * * 0"}
    assert not maintenance_secret


def test_another_major_version_fails_when_the_output_resolves() -> None:
    data = samples.outputs()
    data["contract_version"] = "2"
    ref = reference(data)
    for output in (PlatformOutputs.from_stack_reference(ref), PlatformOutputs.section(ref, RedisOutputs)):
        with pytest.raises(ContractError) as raised:
            resolve(output)
        assert "contract_version: the stack publishes contract v2, this client reads v1" in str(raised.value)


def test_a_missing_or_mistyped_field_fails_naming_it() -> None:
    data = samples.outputs()
    del data["redis"]["secret_name"]
    data["redis"]["port"] = "6379"
    ref = reference(data)
    with pytest.raises(ContractError) as raised:
        resolve(PlatformOutputs.from_stack_reference(ref))
    assert [p.path for p in raised.value.problems] == ["redis.port", "redis.secret_name"]
    with pytest.raises(ContractError) as raised_section:
        resolve(PlatformOutputs.section(ref, RedisOutputs))
    assert [p.path for p in raised_section.value.problems] == ["redis.port", "redis.secret_name"]


def test_an_absent_section_is_an_error_where_it_is_required() -> None:
    data = samples.outputs()
    del data["redis"]
    ref = reference(data, secret_paths=())
    with pytest.raises(ContractError, match="redis: absent, and this consumer requires it"):
        resolve(PlatformOutputs.section(ref, RedisOutputs))
    with pytest.raises(ContractError, match="redis: absent"):
        resolve(PlatformOutputs.from_stack_reference(ref, require=["redis"]))
    value, _ = resolve(PlatformOutputs.from_stack_reference(ref))
    assert value.redis is None


def test_a_stack_without_a_contract_version_is_named_as_such() -> None:
    data = samples.outputs()
    del data["contract_version"]
    ref = reference(data)
    with pytest.raises(ContractError, match="contract_version: missing"):
        resolve(PlatformOutputs.section(ref, RedisOutputs))
    with pytest.raises(ContractError, match="contract_version: missing"):
        resolve(PlatformOutputs.from_stack_reference(ref))


def test_programming_mistakes_fail_at_the_call_naming_the_choices() -> None:
    ref = reference()
    with pytest.raises(ValueError, match="not in contract v1: nosuch"):
        PlatformOutputs.from_stack_reference(ref, sections=["nosuch"])
    with pytest.raises(ValueError, match="required but not read"):
        PlatformOutputs.from_stack_reference(ref, sections=["maintenance"], require=["redis"])
    with pytest.raises(ValueError, match="BackupAwsOutputs is the model of no section; pass name="):
        PlatformOutputs.section(ref, BackupAwsOutputs)
