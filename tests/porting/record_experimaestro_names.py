"""Record experimaestro 2.7.0's public names per module (run once with experimaestro installed).

Usage: ``python tests/porting/record_experimaestro_names.py > tests/porting/experimaestro_2_7_0_names.json``
in a virtual environment holding experimaestro 2.7.0 (see benchmarks/experimaestro_venv.py).
A module's public names are its ``__all__`` when it has one, else the public classes and functions
it defines itself (re-imported helpers are not part of its face).
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys

#: the modules experimaestro's users import from (its documentation and examples)
MODULES = [
    "experimaestro",
    "experimaestro.annotations",
    "experimaestro.checkers",
    "experimaestro.generators",
    "experimaestro.xpmutils",
    "experimaestro.exceptions",
    "experimaestro.core.arguments",
    "experimaestro.core.context",
    "experimaestro.core.serializers",
    "experimaestro.core.serialization",
    "experimaestro.core.partial",
    "experimaestro.core.identifier",
    "experimaestro.core.objects",
    "experimaestro.scheduler",
    "experimaestro.scheduler.workspace",
    "experimaestro.scheduler.workspace_state_provider",
    "experimaestro.launchers",
    "experimaestro.launchers.direct",
    "experimaestro.connectors",
    "experimaestro.connectors.local",
]


def public_names(name: str) -> list[str]:
    module = importlib.import_module(name)
    explicit = getattr(module, "__all__", None)
    if explicit is not None:
        return sorted(set(explicit))
    return sorted(
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", None) == name
    )


def main() -> None:
    import importlib.metadata  # noqa: PLC0415

    record = {
        "version": importlib.metadata.version("experimaestro"),
        "modules": {name: public_names(name) for name in MODULES},
    }
    json.dump(record, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
