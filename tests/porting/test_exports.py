"""Every public name of experimaestro 2.7.0 exists under the same path in xpm_core, or is listed here with why not."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

RECORD = json.loads((Path(__file__).parent / "experimaestro_2_7_0_names.json").read_text())

_INTERNAL = "experimaestro internals that user code does not import; xpm's design differs"

#: (experimaestro module, name) -> why xpm does not provide it
NOT_SUPPORTED: dict[tuple[str, str], str] = {
    ("experimaestro", "documentation"): "the mkdocs documentation plugin is not part of xpm",
    ("experimaestro", "ObjectStore"): _INTERNAL + " (instance() shares objects with a dict)",
    ("experimaestro.core.objects", "ObjectStore"): _INTERNAL + " (instance() shares objects with a dict)",
    **{
        ("experimaestro.core.objects", name): _INTERNAL
        for name in ("ConfigWalk", "ConfigWalkContext", "TaggedValue", "add_to_path", "getqualattr")
    },
    ("experimaestro.core.objects", "WatchedOutput"): "built by task.watch_output(cfg.method, callback); not public",
    **{
        ("experimaestro.annotations", name): "deprecated in experimaestro 2.7.0 (Choice, configmethod, deprecateClass)"
        for name in ("Choice", "configmethod", "deprecateClass")
    },
    **{
        ("experimaestro.core.arguments", name): _INTERNAL + " (Argument construction)"
        for name in ("ArgumentOptions", "ConstantHint")
    },
    **{
        ("experimaestro.core.identifier", name): _INTERNAL + " (identifier computation)"
        for name in ("ConfigPath", "IdentifierComputer", "is_ignored", "remove_meta")
    },
    **{
        ("experimaestro.core.serialization", name): _INTERNAL + " (save/load helpers)"
        for name in ("get_data_loader", "json_object", "save_definition")
    },
    **{
        ("experimaestro.exceptions", name): "never raised to user code by xpm"
        for name in ("ExperimentStopped", "HandledException")
    },
    **{
        ("experimaestro.connectors", name): "xpm's Connector API differs on purpose (plugin API, docs/plugin_hooks.md)"
        for name in (
            "Locator",
            "Process",
            "ProcessBuilder",
            "ProcessThreadError",
            "Redirect",
            "RedirectType",
            "parsepath",
        )
    },
    **{
        ("experimaestro.connectors.local", name): "xpm's local connector runs processes itself (no process builders)"
        for name in ("AsyncLock", "LocalProcess", "LocalProcessBuilder", "PsutilProcess", "getstream")
    },
    ("experimaestro.launchers", "ScriptBuilder"): "xpm's launchers write job scripts through the plugin API",
    **{
        ("experimaestro.launchers.direct", name): "helpers of `launchers direct generate`, which xpm has as a command only"
        for name in ("GPUInfo", "LauncherConfig", "SystemInfo", "detect_system_info")
    },
}


def _xpm_module(name: str) -> str:
    return "xpm_core" + name[len("experimaestro") :]


def test_record_is_from_2_7_0() -> None:
    assert RECORD["version"] == "2.7.0"
    assert "SubmitHook" in RECORD["modules"]["experimaestro"]


@pytest.mark.parametrize("module", sorted(RECORD["modules"]))
def test_every_public_name_is_exported(module: str) -> None:
    xpm = importlib.import_module(_xpm_module(module))
    missing = [
        name
        for name in RECORD["modules"][module]
        if (module, name) not in NOT_SUPPORTED and not hasattr(xpm, name)
    ]
    assert not missing, f"{_xpm_module(module)} lacks {missing}"


def test_not_supported_list_is_accurate() -> None:
    """A name listed as not supported is a 2.7.0 name xpm really lacks (the list shrinks as work lands)."""
    for (module, name), reason in NOT_SUPPORTED.items():
        assert name in RECORD["modules"][module], (module, name)
        xpm = importlib.import_module(_xpm_module(module))
        assert not hasattr(xpm, name), f"{module}.{name} is listed as not supported ({reason}) but exists"


def test_top_level_exports_are_lazy_and_listed() -> None:
    import xpm_core

    for name in RECORD["modules"]["experimaestro"]:
        if ("experimaestro", name) not in NOT_SUPPORTED:
            assert name in dir(xpm_core), name
