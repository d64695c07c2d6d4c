"""User settings (``~/.config/xpm/settings.yaml``): workspaces, job environment, workspace selection.

An experimaestro settings file reads as it is: its ``server``, ``history`` and ``lock_mode``
keys are used; the keys xpm has no use for are dropped with a warning naming each
(``experimaestro_keys``).
"""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path
from typing import Any, Optional, Union

import attrs
import cattrs
import yaml
from cattrs.errors import ClassValidationError, IterableValidationError, IterableValidationNote
from cattrs.gen import make_dict_structure_fn, override

from xpm_core.settings.cattrs_hooks import (
    WrongValue,
    describe,
    problems,
    structure_integer,
    structure_string,
)
from xpm_core.settings.directory import CONFIG_DIR_ENV, SETTINGS_FILE, config_dir, settings_path  # noqa: F401
from xpm_core.settings.errors import SettingsError  # noqa: F401 - re-exported

DEFAULT_MAX_RETRIES = 3

# ${env:VAR}, ${env.VAR}, ${oc.env:VAR}, ${oc.env.VAR} (experimaestro's and OmegaConf's spellings)
_ENV_REFERENCE = re.compile(r"\$\{(?:oc\.)?env[:.]([A-Za-z_][A-Za-z0-9_]*)\}")


class UnknownWorkspaceError(LookupError):
    """A workspace id that the settings do not define, or no workspace at all."""


def _non_negative(instance: Any, attribute: attrs.Attribute, value: int) -> None:
    if value < 0:
        raise ValueError(f"must be 0 or more, got {value}")


def _port(instance: Any, attribute: attrs.Attribute, value: int) -> None:
    if not 0 <= value <= 65535:
        raise ValueError(f"expected a port from 0 (any free port) to 65535, found {value}")


@attrs.frozen(kw_only=True)
class HistorySettings:
    """How many finished runs of an experiment are kept (``history:``; pruning reads it)."""

    max_done: int = attrs.field(default=5, validator=_non_negative)
    max_failed: int = attrs.field(default=1, validator=_non_negative)


@attrs.frozen(kw_only=True)
class ServerSettings:
    """Defaults of the web monitor (``server:``): where it listens and the token of its URL."""

    port: Optional[int] = attrs.field(default=None, validator=attrs.validators.optional(_port))
    host: Optional[str] = None
    token: Optional[str] = None


@attrs.frozen(kw_only=True)
class WorkspaceSettings:
    """One workspace: where it is, what its jobs get in their environment, which experiments go there."""

    id: str
    path: Path  # ~ expanded; a relative path is relative to the settings file's directory
    env: dict[str, str] = attrs.field(factory=dict)
    triggers: list[str] = attrs.field(factory=list)  # fnmatch globs on experiment ids
    max_retries: int = attrs.field(default=DEFAULT_MAX_RETRIES, validator=_non_negative)
    #: Permissions of the lock files created in the workspace: inherit, umask or "0664" (None:
    #: the default, inherit); see xpm_core.lock_permissions.
    lock_mode: Optional[str] = None
    #: Runs kept per experiment; the top-level ``history`` unless the workspace sets its own.
    history: HistorySettings = attrs.field(factory=HistorySettings)

    def matches(self, experiment_id: str) -> bool:
        """Whether one of the triggers matches ``experiment_id``."""
        return any(fnmatch.fnmatchcase(experiment_id, pattern) for pattern in self.triggers)


@attrs.frozen(kw_only=True)
class Settings:
    """The whole settings file; ``source`` is the file it was read from (None: defaults)."""

    workspaces: list[WorkspaceSettings] = attrs.field(factory=list)
    env: dict[str, str] = attrs.field(factory=dict)  # given to the jobs of every workspace
    #: Options of each launcher type (``direct: {max_running: 4}``), checked when one is built.
    launchers: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    #: Named hosts per connector type (``ssh: {cluster: {host: login.example.org, user: me}}``):
    #: a connector made for the name takes these options (each connector checks its own).
    connectors: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    #: Runs kept per experiment, for workspaces that do not set their own.
    history: HistorySettings = attrs.field(factory=HistorySettings)
    server: ServerSettings = attrs.field(factory=ServerSettings)
    #: Days a driver's log (``WS/.scheduler/logs/``) is kept after its last line.
    driver_log_days: int = attrs.field(default=15, validator=_non_negative)
    source: Optional[Path] = attrs.field(default=None, metadata={"in_file": False})

    def workspace(self, workspace_id: str) -> WorkspaceSettings:
        """The workspace called ``workspace_id``; UnknownWorkspaceError listing the known ids otherwise."""
        for workspace in self.workspaces:
            if workspace.id == workspace_id:
                return workspace
        known = ", ".join(workspace.id for workspace in self.workspaces) or "none"
        where = self.source or settings_path()
        raise UnknownWorkspaceError(
            f"no workspace {workspace_id!r} in {where} (known workspaces: {known}); "
            f"add it to the workspaces list or give its path instead"
        )

    def find_workspace(
        self,
        workspace_id: Optional[str] = None,
        path: Union[str, os.PathLike, None] = None,
        experiment_id: Optional[str] = None,
    ) -> WorkspaceSettings:
        """The workspace to use: the one called ``workspace_id`` (at ``path`` if both are given),
        else the one at ``path`` (a configured one if its path matches, a new one otherwise),
        else the first whose triggers match ``experiment_id``, else the first configured one."""
        if workspace_id is not None:
            workspace = self.workspace(workspace_id)
            return workspace if path is None else attrs.evolve(workspace, path=_absolute(path))
        if path is not None:
            resolved = _absolute(path)
            for workspace in self.workspaces:
                if workspace.path == resolved:
                    return workspace
            return WorkspaceSettings(id=str(resolved), path=resolved, history=self.history)
        if experiment_id is not None:
            for workspace in self.workspaces:
                if workspace.matches(experiment_id):
                    return workspace
        if self.workspaces:
            return self.workspaces[0]
        raise UnknownWorkspaceError(
            f"no workspace given and none configured in {self.source or settings_path()}: "
            "give a workspace path, or list workspaces in that file (see docs/settings.md)"
        )


def settings_of_workspace(workdir: Union[WorkspaceSettings, str, os.PathLike]) -> WorkspaceSettings:
    """The settings that apply to a workspace given as ``experiment(workdir, ...)`` takes it.

    A ``WorkspaceSettings`` as it is; a path: the configured workspace at that path, else one
    with the defaults (and the top-level ``history``). The settings file is read only when it
    exists (reading YAML costs).
    """
    if isinstance(workdir, WorkspaceSettings):
        return workdir
    if settings_path().exists():
        return load_settings().find_workspace(path=workdir)
    resolved = _absolute(workdir)
    return WorkspaceSettings(id=str(resolved), path=resolved)


def _absolute(path: Union[str, os.PathLike], base: Optional[Path] = None) -> Path:
    path = Path(path).expanduser()
    if not path.is_absolute():
        path = (base or Path.cwd()) / path
    return Path(os.path.normpath(path))


def interpolate(value: Any) -> Any:
    """Replace ``${env:VAR}`` (also ``${env.VAR}``, ``${oc.env:VAR}``) in every string of ``value``;
    references to unset variables are left as they are."""
    if isinstance(value, str):
        return _ENV_REFERENCE.sub(lambda match: os.environ.get(match.group(1), match.group(0)), value)
    if isinstance(value, list):
        return [interpolate(item) for item in value]
    if isinstance(value, dict):
        return {key: interpolate(item) for key, item in value.items()}
    return value


def load_settings(path: Union[str, os.PathLike, None] = None) -> Settings:
    """Read the settings file (``settings_path()`` by default); a missing file gives the defaults."""
    path = Path(path) if path is not None else settings_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(f"{path}: cannot read the settings file: {error}") from None
    return parse_settings(text, path)


def parse_settings(text: str, source: Path) -> Settings:
    """Settings from YAML ``text``; ``source`` names the file in errors and anchors relative paths."""
    from xpm_core.strict_yaml import strict_load

    try:
        data = strict_load(text)
    except yaml.YAMLError as error:
        raise SettingsError(_yaml_error(source, error)) from None
    if data is None:
        return Settings(source=source)
    if not isinstance(data, dict):
        raise SettingsError(
            f"{source}: the settings must be a mapping (keys: {', '.join(_keys(Settings))}), "
            f"found {describe(data)}"
        )
    from xpm_core.settings.experimaestro_keys import drop_ignored_keys

    data = _inherit_history(drop_ignored_keys(data, source))
    try:
        settings = _converter().structure(interpolate(data), Settings)
    except (ClassValidationError, IterableValidationError) as error:
        problems = "; ".join(f"{where}: {what}" for where, what in _problems(error))
        raise SettingsError(f"{source}: invalid settings: {problems}") from None
    _check_unique_ids(settings, source)
    base = source.parent.absolute()
    workspaces = [attrs.evolve(ws, path=_absolute(ws.path, base)) for ws in settings.workspaces]
    return attrs.evolve(settings, workspaces=workspaces, source=source)


def _inherit_history(data: dict[str, Any]) -> dict[str, Any]:
    """Workspaces without ``history`` take the top-level one (so ``WorkspaceSettings.history`` is the one to use)."""
    workspaces, history = data.get("workspaces"), data.get("history")
    if not isinstance(history, dict) or not isinstance(workspaces, list):
        return data
    return {
        **data,
        "workspaces": [
            {**ws, "history": history} if isinstance(ws, dict) and "history" not in ws else ws for ws in workspaces
        ],
    }


def _yaml_error(source: Path, error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    if mark is None:
        return f"{source}: YAML syntax error: {problem}"
    detail = f"{problem} ({context})" if context else problem
    return f"{source}:{mark.line + 1}:{mark.column + 1}: YAML syntax error: {detail}"


def _check_unique_ids(settings: Settings, source: Path) -> None:
    seen: dict[str, int] = {}
    for position, workspace in enumerate(settings.workspaces):
        if workspace.id in seen:
            raise SettingsError(
                f"{source}: workspaces[{position}].id: {workspace.id!r} is already the id of "
                f"workspaces[{seen[workspace.id]}]; workspace ids must be unique"
            )
        seen[workspace.id] = position


# -- structuring with clear errors ------------------------------------------------------------


def _path(value: Any, _: type) -> Path:
    return Path(structure_string(value, str)).expanduser()


def _string_list(value: Any, _: type) -> list[str]:
    if not isinstance(value, list):
        raise WrongValue(f"expected a list of strings, found {describe(value)}")
    problems = []
    for position, item in enumerate(value):
        if not isinstance(item, str):
            problems.append(f"[{position}]: expected a string, found {describe(item)}")
    if problems:
        raise WrongValue("; ".join(problems))
    return list(value)


def _environment(value: Any, _: type) -> dict[str, str]:
    """An ``env`` map: names to strings; numbers become strings (``PORT: 8080`` -> "8080")."""
    if not isinstance(value, dict):
        raise WrongValue(f"expected a mapping of variable names to values, found {describe(value)}")
    env, problems = {}, []
    for name, item in value.items():
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            item = str(item)
        if not isinstance(name, str) or not isinstance(item, str):
            problems.append(f"{name}: expected a string or a number, found {describe(item)}")
        else:
            env[name] = item
    if problems:
        raise WrongValue("; ".join(problems))
    return env


def _launcher_options(value: Any, _: type) -> dict[str, dict[str, Any]]:
    """``launchers:`` (and ``connectors:``): names to their options (each component checks its own)."""
    if not isinstance(value, dict):
        raise WrongValue(f"expected a mapping of names to options, found {describe(value)}")
    problems = [
        f"{name}: expected a mapping of options, found {describe(options)}"
        for name, options in value.items()
        if not isinstance(options, dict)
    ]
    if problems:
        raise WrongValue("; ".join(problems))
    return {str(name): dict(options) for name, options in value.items()}


def _retries(value: Any, _: type) -> int:
    retries = structure_integer(value, int)
    if retries < 0:
        raise WrongValue(f"expected 0 or more, found {retries}")
    return retries


def _server_port(value: Any, _: type) -> Optional[int]:
    if value is None:
        return None
    port = structure_integer(value, int)
    try:
        _port(None, None, port)  # type: ignore[arg-type]
    except ValueError as error:
        raise WrongValue(str(error)) from None
    return port


def _lock_mode(value: Any, _: type) -> Optional[str]:
    from xpm_core.lock_permissions import check_lock_mode

    if value is None:
        return None
    if not isinstance(value, (str, int)):
        raise WrongValue(f"expected inherit, umask or an octal mode such as \"0664\", found {describe(value)}")
    try:
        return check_lock_mode(value)
    except ValueError as error:
        raise WrongValue(str(error)) from None


def _optional(hook: Any) -> Any:
    return lambda value, cls: None if value is None else hook(value, cls)


def _mapping(structure: Any, what: str) -> Any:
    """``structure`` (a generated attrs hook) preceded by a check that the value is a mapping."""

    def hook(value: Any, cls: type) -> Any:
        if not isinstance(value, dict):
            raise WrongValue(f"expected {what} (a mapping with keys {', '.join(_keys(cls))}), found {describe(value)}")
        return structure(value, cls)

    return hook


def _converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    converter.register_structure_hook(str, structure_string)
    converter.register_structure_hook(int, structure_integer)
    converter.register_structure_hook(Path, _path)
    converter.register_structure_hook_func(lambda cls: cls == list[str], _string_list)
    converter.register_structure_hook_func(lambda cls: cls == dict[str, str], _environment)
    converter.register_structure_hook(Optional[int], _optional(structure_integer))
    converter.register_structure_hook(Optional[str], _optional(structure_string))
    history = _mapping(
        make_dict_structure_fn(
            HistorySettings,
            converter,
            max_done=override(struct_hook=_retries),
            max_failed=override(struct_hook=_retries),
        ),
        "the runs kept",
    )
    converter.register_structure_hook(HistorySettings, history)
    converter.register_structure_hook(
        ServerSettings,
        _mapping(
            make_dict_structure_fn(ServerSettings, converter, port=override(struct_hook=_server_port)),
            "the web monitor's settings",
        ),
    )
    workspace = _mapping(
        make_dict_structure_fn(
            WorkspaceSettings,
            converter,
            max_retries=override(struct_hook=_retries),
            lock_mode=override(struct_hook=_lock_mode),
        ),
        "a workspace",
    )

    def workspaces(value: Any, _: type) -> list[WorkspaceSettings]:
        if not isinstance(value, list):
            raise WrongValue(f"expected a list of workspaces, found {describe(value)}")
        result, errors = [], []
        for position, item in enumerate(value):
            try:
                result.append(workspace(item, WorkspaceSettings))
            except Exception as error:  # collected, like cattrs does, to report every problem
                note = IterableValidationNote(f"workspaces @ index {position}", position, WorkspaceSettings)
                error.__notes__ = [*getattr(error, "__notes__", []), note]
                errors.append(error)
        if errors:
            raise IterableValidationError("invalid workspaces", errors, list[WorkspaceSettings])
        return result

    converter.register_structure_hook_func(lambda cls: cls == list[WorkspaceSettings], workspaces)
    converter.register_structure_hook_func(lambda cls: cls == dict[str, dict[str, Any]], _launcher_options)
    converter.register_structure_hook(
        Settings,
        _mapping(make_dict_structure_fn(Settings, converter, source=override(omit=True),
                                       driver_log_days=override(struct_hook=_retries)), "settings"),
    )
    return converter


def _keys(cls: type) -> list[str]:
    return [field.name for field in attrs.fields(cls) if field.metadata.get("in_file", True)]


def _problems(error: BaseException) -> list[tuple[str, str]]:
    """(location, message) of every problem in a cattrs error, e.g. ("workspaces[1].pathh", ...)."""
    return problems(error, valid_keys=_keys, root="settings")