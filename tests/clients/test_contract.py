"""The client's validation: what fits, what does not, and how each misfit is named."""

from __future__ import annotations

import pytest
from platform_outputs import CONTRACT_VERSION, ContractError, PlatformOutputs, RedisOutputs, StackOutputs
from platform_outputs.contract import check
from pydantic import SecretStr

from tests.clients import samples


def test_outputs_that_fit_parse_into_typed_models() -> None:
    parsed = PlatformOutputs.parse(samples.outputs())
    assert isinstance(parsed, PlatformOutputs)
    assert isinstance(parsed.redis, RedisOutputs)
    assert parsed.redis.port == 6379
    assert parsed.services["backend"].autoscaler == "keda"
    assert parsed.dr is None


def test_secret_strings_are_secretstr_and_never_printed() -> None:
    parsed = PlatformOutputs.parse(samples.outputs())
    assert parsed.redis is not None
    assert isinstance(parsed.redis.password, SecretStr)
    assert parsed.redis.password.get_secret_value() == samples.PASSWORD
    assert samples.PASSWORD not in repr(parsed)
    assert samples.PASSWORD not in parsed.model_dump_json()


def test_whole_floats_from_the_engine_are_integers_but_fractions_are_not() -> None:
    data = samples.outputs()
    data["redis"]["port"] = 6379.0
    parsed = PlatformOutputs.parse(data)
    assert parsed.redis is not None
    assert parsed.redis.port == 6379
    assert type(parsed.redis.port) is int
    data["redis"]["port"] = 6379.5
    with pytest.raises(ContractError, match=r"redis\.port: Input should be a valid integer"):
        PlatformOutputs.parse(data)


def test_nullable_fields_dropped_on_the_wire_read_as_null() -> None:
    data = samples.outputs()
    for key in ("sentinel_endpoint", "sentinel_port", "master_set"):
        del data["redis"][key]
    parsed = PlatformOutputs.parse(data)
    assert parsed.redis is not None
    assert parsed.redis.master_set is None


def test_a_missing_required_field_is_named_with_both_versions() -> None:
    data = samples.outputs()
    del data["redis"]["endpoint"]
    del data["services"]["frontend"]["port"]
    with pytest.raises(ContractError) as raised:
        PlatformOutputs.parse(data)
    message = str(raised.value)
    assert "redis.endpoint: missing" in message
    assert "services.frontend.port: missing" in message
    assert f"contract_version '{CONTRACT_VERSION}'" in message
    assert f"contract v{CONTRACT_VERSION} of this client" in message
    assert [p.path for p in raised.value.problems] == ["redis.endpoint", "services.frontend.port"]


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("redis", "port"), "6379", "Input should be a valid integer, got '6379' (str)"),
        (("redis", "mode"), "standalone", "Input should be 'cluster' or 'sentinel'"),
        (("redis", "node_endpoints"), "redis:6379", "Input should be a valid list"),
        (("namespace",), 7, "Input should be a valid string, got 7 (int)"),
        (("services", "backend", "port"), True, "Input should be a valid integer"),
    ],
)
def test_a_mistyped_field_is_named_with_what_it_got(path: tuple[str, ...], value: object, expected: str) -> None:
    data = samples.outputs()
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ContractError) as raised:
        PlatformOutputs.parse(data)
    (problem,) = raised.value.problems
    assert problem.path == ".".join(path)
    assert expected in problem.message


def test_a_list_item_is_named_by_index() -> None:
    data = samples.outputs()
    data["redis"]["node_endpoints"][2] = 6379
    with pytest.raises(ContractError, match=r"redis\.node_endpoints\[2\]: Input should be a valid string"):
        PlatformOutputs.parse(data)


def test_a_mistyped_secret_is_named_without_its_value() -> None:
    data = samples.outputs()
    data["redis"]["password"] = 123456789
    with pytest.raises(ContractError) as raised:
        PlatformOutputs.parse(data)
    assert "redis.password" in str(raised.value)
    assert "value not shown" in str(raised.value)
    assert "123456789" not in str(raised.value)


def test_another_major_version_is_one_problem_naming_both() -> None:
    data = samples.outputs()
    data["contract_version"] = "2"
    data["redis"] = {"renamed": True}
    with pytest.raises(ContractError) as raised:
        PlatformOutputs.parse(data)
    (problem,) = raised.value.problems
    assert problem.path == "contract_version"
    assert "the stack publishes contract v2, this client reads v1" in problem.message
    assert raised.value.stack_version == "2"
    assert raised.value.client_version == "1"


def test_fields_of_a_newer_minor_version_are_ignored_and_reported() -> None:
    data = samples.outputs()
    data["redis"]["tls_port"] = 6380
    data["message_queue"] = {"endpoint": "mq.platform.svc"}
    parsed = PlatformOutputs.parse(data)
    assert not hasattr(parsed, "message_queue")
    report = check(data, model=PlatformOutputs)
    assert report.ok
    assert report.unknown == ("redis.tls_port", "message_queue")
    assert "2 field(s) newer than this client ignored: redis.tls_port, message_queue" in report.summary()


def test_required_sections_must_be_present() -> None:
    with pytest.raises(ContractError, match="dr: absent, and this consumer requires it"):
        PlatformOutputs.parse(samples.outputs(), require=["dr"])
    assert PlatformOutputs.parse(samples.outputs(), require=["redis"]).redis is not None
    with pytest.raises(ValueError, match="cannot require nosuch: not in contract v1"):
        PlatformOutputs.parse(samples.outputs(), require=["nosuch"])


def test_not_an_object_is_a_problem_not_a_crash() -> None:
    report = check(["contract_version", "1"])
    assert not report.ok
    assert report.problems[0].path == "(top level)"


def test_redacted_secret_is_accepted_where_the_contract_marks_one() -> None:
    report = check(samples.redacted())
    assert report.ok, report.problems
    assert report.redacted == ("redis.password",)
    assert report.summary().startswith("fits contract v1: prod stack, namespace platform, 2 section(s)")


def test_a_whole_section_hidden_because_it_holds_a_secret_is_not_checked_but_noted() -> None:
    data = samples.redacted()
    data["redis"] = "[secret]"
    report = check(data)
    assert report.ok, report.problems
    assert report.hidden == ("redis",)
    assert "hidden as a whole, not checked: redis" in report.summary()


def test_a_placeholder_where_the_contract_publishes_plain_is_a_problem() -> None:
    data = samples.redacted()
    data["redis"]["endpoint"] = "[secret]"
    data["services"] = "[secret]"
    report = check(data)
    assert [p.path for p in report.problems] == ["redis.endpoint", "services"]
    assert "publishes it in plain" in report.problems[0].message


def test_placeholders_are_literal_values_when_parsing_resolved_outputs() -> None:
    data = samples.outputs()
    data["redis"]["port"] = "[secret]"
    with pytest.raises(ContractError, match=r"redis\.port"):
        PlatformOutputs.parse(data)


def test_the_generated_root_model_and_the_reader_agree() -> None:
    assert issubclass(PlatformOutputs, StackOutputs)
    assert StackOutputs.model_validate(samples.outputs()).namespace == "platform"
