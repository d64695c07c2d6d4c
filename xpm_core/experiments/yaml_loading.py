"""Reading run-experiment YAML files: imports, pre/post files and ``-c`` overrides, merged into one dict.

Files are merged in this order, later ones winning (nested mappings merged, lists replaced):
every ``--pre-yaml``, the main file, every ``--post-yaml``; each file's ``imports`` come just
before it. Then ``-c key.sub=value`` overrides apply (values are read as YAML: ``-c lr=0.1`` is a
number). Relative paths in ``file``, ``pre_experiment`` and ``pythonpath`` are relative to the
file that holds them; ``origins`` remembers which file set each key, for error messages.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

import attrs
import yaml

from xpm_core.experiments.errors import ExperimentSetupError
from xpm_core.strict_yaml import strict_load

logger = logging.getLogger("xpm.experiments")

#: Keys holding paths relative to their YAML file.
_PATH_KEYS = ("file",)


@attrs.define
class LoadedConfiguration:
    """The merged configuration and what the loading learnt on the way."""

    data: dict[str, Any] = attrs.field(factory=dict)
    #: Dotted key -> the file (or ``-c`` option) that set it last.
    origins: dict[str, str] = attrs.field(factory=dict)
    #: ``pythonpath`` entries of every file, absolute, in load order.
    python_path: list[Path] = attrs.field(factory=list)
    #: The file that set ``module`` (a module not on the path is looked for from there).
    module_file: Path | None = None
    #: Every file read, in load order.
    files: list[Path] = attrs.field(factory=list)
    #: The main YAML file.
    main_file: Path | None = None


def display(path: Path) -> str:
    """``path`` as a user most easily reads it: relative to the current directory when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _existing(name: str | os.PathLike, base: Path | None = None, what: str = "the YAML file ") -> Path:
    """The file ``name`` (relative to ``base``), trying ``name.yaml`` too, as experimaestro does.

    ``what`` starts the error message: ``"the YAML file "``, ``"xp.yaml: imports: "``.
    """
    path = Path(name).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    path = path.absolute()
    if not path.exists() and path.suffix not in (".yaml", ".yml"):
        with_suffix = path.with_name(path.name + ".yaml")
        if with_suffix.exists():
            return with_suffix
    if not path.is_file():
        problem = "is a directory" if path.is_dir() else "does not exist"
        raise ExperimentSetupError(f"{what}{display(path)} {problem}")
    return path


def parse_yaml(path: Path) -> dict[str, Any]:
    """The mapping in ``path``; errors name the file, line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ExperimentSetupError(f"cannot read {display(path)}: {error}") from None
    try:
        data = strict_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        context = getattr(error, "context", None)
        detail = f"{problem} ({context})" if context else problem
        where = display(path) if mark is None else f"{display(path)}:{mark.line + 1}:{mark.column + 1}"
        raise ExperimentSetupError(f"{where}: invalid YAML: {detail}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ExperimentSetupError(
            f"{display(path)}: an experiment file must be a mapping of keys to values, "
            f"found a {type(data).__name__}"
        )
    return data


def deep_merge(target: dict[str, Any], source: Mapping[str, Any], origins: dict[str, str], origin: str, prefix: str = "") -> None:
    """Merge ``source`` into ``target``: mappings merged key by key, anything else replaced."""
    for key, value in source.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            deep_merge(target[key], value, origins, origin, f"{path}.")
        else:
            target[key] = _copy(value)
            _set_origins(origins, path, value, origin)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _set_origins(origins: dict[str, str], path: str, value: Any, origin: str) -> None:
    origins[path] = origin
    if isinstance(value, dict):
        for key, item in value.items():
            _set_origins(origins, f"{path}.{key}", item, origin)


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"model.size=128"`` -> (["model", "size"], 128): the value is read as YAML."""
    key, equal, value = text.partition("=")
    if not equal or not key.strip():
        raise ExperimentSetupError(f"-c/--conf expects KEY=VALUE (for example -c model.size=128), got {text!r}")
    parts = [part.strip() for part in key.split(".")]
    if not all(parts):
        raise ExperimentSetupError(f"-c/--conf {text!r}: {key!r} is not a dotted key (like model.size)")
    try:
        parsed = strict_load(value) if value.strip() else ""
    except yaml.constructor.ConstructorError as error:  # duplicate keys, recursion: a mistake
        raise ExperimentSetupError(f"-c/--conf {text!r}: {error.problem}") from None
    except yaml.YAMLError:
        parsed = value  # "a: b" and other YAML-looking text: take it as the string it is
    return parts, parsed


class ConfigurationLoader:
    """Loads YAML files (and their imports) in order and merges them."""

    def __init__(self) -> None:
        self.result = LoadedConfiguration()
        self._loading: list[Path] = []

    def load(self, name: str | os.PathLike, base: Path | None = None, what: str = "the YAML file ") -> None:
        """Load the file ``name`` (relative to ``base``) after its imports, and merge it."""
        path = _existing(name, base, what)
        if path in self._loading:
            chain = " -> ".join(display(p) for p in [*self._loading, path])
            raise ExperimentSetupError(f"YAML files import each other in a cycle: {chain}")
        self._loading.append(path)
        try:
            data = parse_yaml(path)
            self._absolute_paths(data, path)
            for imported in self._imports(data, path):
                self.load(imported, path.parent, what=f"{display(path)}: imports: ")
            if "module" in data:
                self.result.module_file = path
            deep_merge(self.result.data, data, self.result.origins, display(path))
            self.result.files.append(path)
        finally:
            self._loading.pop()

    def _imports(self, data: dict[str, Any], path: Path) -> list[str]:
        imports = data.get("imports")
        parent = data.get("parent")
        if imports is not None and parent is not None:
            raise ExperimentSetupError(f"{display(path)}: 'parent' and 'imports' cannot both be given; use 'imports'")
        if parent is not None:
            logger.warning("%s: 'parent' is deprecated, use 'imports: [%s]'", display(path), parent)
            imports = [parent]
        if imports is None:
            return []
        if not isinstance(imports, list) or not all(isinstance(item, str) for item in imports):
            raise ExperimentSetupError(f"{display(path)}: imports: expected a list of YAML file names")
        return imports

    def _absolute_paths(self, data: dict[str, Any], path: Path) -> None:
        folder = path.parent
        for key in _PATH_KEYS:
            value = data.get(key)
            if isinstance(value, str) and not Path(value).expanduser().is_absolute():
                data[key] = str(folder / value)
        pre = data.get("pre_experiment")
        # A file when it looks like one; otherwise a module name (mypackage.setup).
        if isinstance(pre, str) and ("/" in pre or "\\" in pre or pre.endswith(".py")):
            if not Path(pre).expanduser().is_absolute():
                data["pre_experiment"] = str(folder / pre)
        entries = data.get("pythonpath")
        if entries is not None:
            if not isinstance(entries, list) or not all(isinstance(item, str) for item in entries):
                raise ExperimentSetupError(f"{display(path)}: pythonpath: expected a list of folders")
            absolute = [(folder / Path(entry).expanduser()).resolve() for entry in entries]
            self.result.python_path.extend(p for p in absolute if p not in self.result.python_path)
            data["pythonpath"] = [str(p) for p in absolute]

    def override(self, text: str) -> None:
        """Apply one ``-c key.sub=value``."""
        parts, value = parse_override(text)
        target = self.result.data
        for position, part in enumerate(parts[:-1]):
            current = target.get(part)
            if current is None:
                current = target[part] = {}
            if not isinstance(current, dict):
                where = ".".join(parts[: position + 1])
                raise ExperimentSetupError(f"-c/--conf {text!r}: {where} is not a mapping (it is {current!r})")
            target = current
        target[parts[-1]] = value
        _set_origins(self.result.origins, ".".join(parts), value, f"-c {text}")


def load_configuration(
    main: str | os.PathLike,
    pre: Iterable[str | os.PathLike] = (),
    post: Iterable[str | os.PathLike] = (),
    overrides: Iterable[str] = (),
) -> LoadedConfiguration:
    """Load ``pre`` files, then ``main``, then ``post`` files, then apply ``overrides``."""
    loader = ConfigurationLoader()
    for name in pre:
        loader.load(name, what="the --pre-yaml file ")
    loader.load(main)
    loader.result.main_file = loader.result.files[-1]
    for name in post:
        loader.load(name, what="the --post-yaml file ")
    for text in overrides:
        loader.override(text)
    return loader.result
