"""SerializerContract: the behaviour every value serializer shows, through the registry and params.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar, Sequence

from xpm_core.config.objects import Task
from xpm_core.config.params import Meta
from xpm_core.plugin.value_serializer import DeserializationContext, SerializationContext
from xpm_core.testing.contract_base import Contract


class ValuesHolder(Task):
    """A task whose parameter holds the contract's examples (importable, so params.json loads it)."""

    values: Meta[list]  # serialized, but out of the identifier: plugin types need not be hashable

    def execute(self) -> None:  # never run: the contract only writes and reads its parameters
        pass


class SerializerContract(Contract):
    """Subclass as ``TestTensorSerializer(SerializerContract)``; set ``serializer_name`` and ``examples``.

    ``examples`` are values of the types the serializer declares; each must come back equal
    (override :meth:`same` for types without a useful ``==``) from JSON text, through the
    serializer alone and through ``params.json`` as a task parameter.
    """

    serializer_name: ClassVar[str]
    examples: ClassVar[Sequence[Any]] = ()

    def same(self, original: Any, restored: Any) -> bool:
        """Whether ``restored`` stands for ``original`` (default: equality and the same type)."""
        return type(restored) is type(original) and restored == original

    def _component(self) -> Any:
        return self.registry.serializers()[self.serializer_name]

    def test_is_registered_with_types_and_tags(self) -> None:
        serializers = self.registry.serializers()
        assert self.serializer_name in serializers, f"no serializer {self.serializer_name!r}: {sorted(serializers)}"
        component = serializers[self.serializer_name]
        assert component.python_types, "a serializer declares the Python types it writes ('module:QualName')"
        assert self.examples, "give the contract a few example values (the class attribute 'examples')"

    def test_is_chosen_for_its_values_and_tags(self) -> None:
        component = self._component()
        for value in self.examples:
            chosen = self.registry.serializer_for_type(type(value))
            assert chosen is not None and chosen.name == self.serializer_name, (
                f"values of type {type(value).__qualname__} are written by {chosen and chosen.name!r}"
            )
        for tag in component.tags:
            chosen_tag = self.registry.serializer_for_tag(tag)
            assert chosen_tag is not None and chosen_tag.name == self.serializer_name

    def test_round_trip_through_json_text(self, tmp_path: Path) -> None:
        serializer = self._component().create()
        write = SerializationContext(job_path=tmp_path, workspace_path=tmp_path.parent)
        read = DeserializationContext(job_path=tmp_path, workspace_path=tmp_path.parent)
        for value in self.examples:
            data = serializer.serialize(value, write)
            assert isinstance(data, dict) and data.get("type") in self._component().tags, (
                f"serialize({value!r}) must give a JSON object whose 'type' is one of {self._component().tags}"
            )
            text = json.dumps(data, allow_nan=False)  # JSON-native values only
            restored = serializer.deserialize(json.loads(text), read)
            assert self.same(value, restored), f"{value!r} came back as {restored!r}"

    def test_round_trip_as_a_task_parameter(self, tmp_path: Path) -> None:
        from xpm_core.serialization.params import from_task_dir, write_params
        from xpm_core.serialization.values import reset_serializer_cache

        reset_serializer_cache()  # choose through the registry installed for this test
        task = ValuesHolder.C(values=list(self.examples))
        with open(tmp_path / "params.json", "w") as out:
            write_params(task, out, workspace_path=tmp_path.parent, job_path=tmp_path)
        restored = from_task_dir(tmp_path)
        assert len(restored.values) == len(self.examples)
        for value, back in zip(self.examples, restored.values):
            assert self.same(value, back), f"{value!r} came back from params.json as {back!r}"
