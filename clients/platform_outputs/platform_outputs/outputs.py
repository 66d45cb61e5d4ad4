"""``PlatformOutputs``: the platform's stack outputs as one validated, typed object, from Pulumi or from JSON.

Pulumi has no typed ``StackReference``: ``get_output`` hands back an ``Output[Any]`` of nested dicts with every
number as a float. Here each output the contract names is read with ``get_output``, checked against the
contract when it resolves, and returned as the generated model, so a renamed field or a different major version
fails the consumer's ``pulumi preview`` with the field's name instead of a ``KeyError`` at some later apply.

Secrets: Pulumi tracks secretness per top-level output, and a section holding a secret field (``redis`` holds
the password) is secret as a whole. The Output returned here is secret when any output it read is, so read
only what you use: ``sections=`` for the whole model, :meth:`PlatformOutputs.section` for one section. Pulumi
is imported only when one of these is called; checking JSON needs pydantic alone.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any, Self, TypeVar

from platform_outputs import contract
from platform_outputs._base import Contract
from platform_outputs.models import CONTRACT_VERSION, SECTION_MODELS, StackOutputs

if TYPE_CHECKING:
    import pulumi

SectionT = TypeVar("SectionT", bound=Contract)

_VERSION = "contract_version"


class PlatformOutputs(StackOutputs):
    """Every output of the platform stack, validated against the contract these models were generated from."""

    @classmethod
    def parse(cls, outputs: Any, *, require: Collection[str] = ()) -> Self:
        """Validated outputs from a mapping of output name -> value (``pulumi stack output --json --show-secrets``).

        Raises :class:`~platform_outputs.contract.ContractError` naming each field that does not fit.
        """
        return contract.parse(outputs, require=require, model=cls)

    @classmethod
    def check(cls, outputs: Any, *, require: Collection[str] = ()) -> contract.Report:
        """A report on ``outputs`` that accepts ``"[secret]"`` where the contract marks a secret."""
        return contract.check(outputs, require=require, placeholders=True, model=cls)

    @classmethod
    def fields_to_read(cls, sections: Collection[str] | None = None) -> list[str]:
        """Top-level outputs ``from_stack_reference`` reads: the required ones, then the chosen sections."""
        names = list(cls.model_fields)
        required = [n for n in names if cls.model_fields[n].is_required()]
        if sections is None:
            return names
        unknown = sorted(set(sections) - set(names))
        if unknown:
            raise ValueError(
                f"not in contract v{CONTRACT_VERSION}: {', '.join(unknown)} (outputs: {', '.join(sorted(names))})"
            )
        return required + [n for n in names if n in sections and n not in required]

    @classmethod
    def from_stack_reference(
        cls,
        ref: pulumi.StackReference,
        *,
        sections: Collection[str] | None = None,
        require: Collection[str] = (),
    ) -> pulumi.Output[Self]:
        """The referenced stack's outputs as an ``Output`` of this model, validated when it resolves.

        ``sections`` limits which optional sections are read (the required fields are always read); sections not
        read are None. ``require`` names sections this program cannot do without (an error when absent). The
        Output is secret when any output read is secret. A different major version, or a missing or mistyped
        field, fails with a :class:`~platform_outputs.contract.ContractError` naming the field and both versions.
        """
        import pulumi

        names = cls.fields_to_read(sections)
        missing_requirements = sorted(set(require) - set(names))
        if missing_requirements:
            raise ValueError(f"required but not read (add them to sections): {', '.join(missing_requirements)}")
        outputs = [ref.get_output(name) for name in names]

        def build(values: list[Any]) -> Self:
            present = {name: value for name, value in zip(names, values, strict=True) if value is not None}
            return cls.parse(present, require=require)

        return pulumi.Output.all(*outputs).apply(build)

    @staticmethod
    def section(
        ref: pulumi.StackReference, model: type[SectionT], *, name: str | None = None
    ) -> pulumi.Output[SectionT]:
        """One section of the referenced stack as an ``Output`` of its model; an error when absent.

        Reads only that section and ``contract_version``, so the Output is secret only when the section is
        (``PlatformOutputs.section(ref, RedisOutputs)`` is: it holds the password). ``name`` is needed only
        when several sections share a model.
        """
        import pulumi

        section_name = name or _section_name(model)
        version = ref.get_output(_VERSION)
        value = ref.get_output(section_name)

        def build(values: list[Any]) -> SectionT:
            stack_version, data = values
            return contract.parse_section(stack_version, section_name, data, model)

        return pulumi.Output.all(version, value).apply(build)


def _section_name(model: type[Contract]) -> str:
    names = [name for name, section in SECTION_MODELS.items() if section is model]
    if len(names) != 1:
        choices = ", ".join(f"{n} ({m.__name__})" for n, m in sorted(SECTION_MODELS.items()))
        found = f"several sections ({', '.join(names)})" if names else "no section"
        raise ValueError(f"{model.__name__} is the model of {found}; pass name= (sections: {choices})")
    return names[0]
