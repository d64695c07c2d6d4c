"""Finding the plan's ``run(helper, cfg)``: the Python path, ``pre_experiment``, the module, the schema.

``--module-name`` > ``--file`` > the YAML ``module`` > the YAML ``file`` (default ``experiment``,
next to the main YAML file). A file is imported as a module named after it (``experiment.py``
-> ``experiment``), from its folder, so that job processes import the tasks it defines.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import traceback
import typing
from pathlib import Path
from types import ModuleType

import attrs

from xpm_core.experiments.errors import ExperimentSetupError
from xpm_core.experiments.helper import ExperimentHelper
from xpm_core.experiments.schema import resolve_annotations
from xpm_core.experiments.yaml_loading import LoadedConfiguration, display


@attrs.frozen
class PlanLocation:
    """Where ``run`` is: a file or a module (exactly one is set)."""

    file: Path | None = None
    module: str | None = None

    @property
    def label(self) -> str:
        return display(self.file) if self.file is not None else f"module {self.module}"


@attrs.frozen
class RunFunction:
    """The plan's ``run`` wrapped in its helper, the configuration class it takes, and its module."""

    helper: ExperimentHelper
    schema: type
    module: ModuleType
    location: PlanLocation

    @property
    def project_path(self) -> Path | None:
        """The folder holding the plan's code (for the git state recorded with the run)."""
        source = getattr(self.module, "__file__", None)
        return Path(source).resolve().parent if source else None


def locate(loaded: LoadedConfiguration, file_option: str | None, module_option: str | None) -> PlanLocation:
    """Where ``run`` is, from the options and the merged YAML."""
    if file_option and module_option:
        raise ExperimentSetupError("--file and --module-name exclude each other: give one")
    if module_option:
        return PlanLocation(module=module_option)
    if file_option:
        return PlanLocation(file=_python_file(Path(file_option).expanduser().absolute(), "--file"))
    module, file = loaded.data.get("module"), loaded.data.get("file")
    if module is not None and file is not None:
        raise ExperimentSetupError(
            f"'module' ({loaded.origins.get('module')}) and 'file' ({loaded.origins.get('file')}) "
            "exclude each other: keep one"
        )
    if module is not None:
        if not isinstance(module, str):
            raise ExperimentSetupError(f"{loaded.origins.get('module')}: module: expected a module name")
        return PlanLocation(module=module)
    if file is None:
        assert loaded.main_file is not None
        return PlanLocation(file=_python_file(loaded.main_file.parent / "experiment", "the default 'file: experiment'"))
    if not isinstance(file, str):
        raise ExperimentSetupError(f"{loaded.origins.get('file')}: file: expected a file name")
    return PlanLocation(file=_python_file(Path(file), f"file: in {loaded.origins.get('file')}"))


def _python_file(path: Path, given_by: str) -> Path:
    if not path.exists() and path.suffix != ".py":
        path = path.with_name(path.name + ".py")
    if not path.is_file():
        raise ExperimentSetupError(f"the experiment file {display(path)} does not exist (given by {given_by})")
    return path


def extend_python_path(loaded: LoadedConfiguration, location: PlanLocation) -> list[Path]:
    """Put the plan's folders first on ``sys.path``: YAML ``pythonpath``, then the file's folder.

    Job processes get the same path: they import the tasks, which may be defined in the file.
    """
    folders = list(loaded.python_path)
    if location.file is not None and location.file.parent not in folders:
        folders.append(location.file.parent)
    for folder in reversed(folders):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    if location.module is not None and loaded.module_file is not None and importlib.util.find_spec(location.module.split(".")[0]) is None:
        # experimaestro's rule: the ancestor of the YAML file from which the dotted name resolves.
        folder = loaded.module_file.resolve().parent
        for _ in range(location.module.count(".")):
            folder = folder.parent
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
        folders.append(folder)
    return folders


def user_code_failure(what: str, error: BaseException) -> ExperimentSetupError:
    """An error of the user's code as one line, naming the file and line where it was raised."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return ExperimentSetupError(f"{what} failed: {type(error).__name__}: {error}{where}", usage=False)


def run_pre_experiment(value: str) -> None:
    """Execute ``pre_experiment``: a Python file (run as a script) or a module (imported)."""
    path = Path(value)
    if "/" in value or "\\" in value or value.endswith(".py"):
        if not path.is_file():
            raise ExperimentSetupError(f"the pre_experiment file {display(path)} does not exist")
        try:
            _load_file(path, "pre_experiment")
        except Exception as error:
            raise user_code_failure(f"pre_experiment {display(path)}", error) from error
        return
    try:
        importlib.import_module(value)
    except ModuleNotFoundError as error:
        if error.name == value or value.startswith(f"{error.name}."):
            raise ExperimentSetupError(f"pre_experiment: no file nor module named {value!r}") from None
        raise user_code_failure(f"pre_experiment module {value}", error) from error
    except Exception as error:
        raise user_code_failure(f"pre_experiment module {value}", error) from error


def _load_file(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # tasks defined there must be importable under this name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def import_plan(location: PlanLocation) -> ModuleType:
    """Import the plan's module; errors raised by its code name the file and line."""
    if location.file is not None:
        try:
            return _load_file(location.file, location.file.stem)
        except Exception as error:
            raise user_code_failure(f"importing {location.label}", error) from error
    assert location.module is not None
    try:
        return importlib.import_module(location.module)
    except ModuleNotFoundError as error:
        if error.name and (location.module == error.name or location.module.startswith(f"{error.name}.")):
            raise ExperimentSetupError(
                f"no module named {location.module!r} on the Python path (set pythonpath: in the YAML file)"
            ) from None
        raise user_code_failure(f"importing {location.label}", error) from error
    except Exception as error:
        raise user_code_failure(f"importing {location.label}", error) from error


def find_run(module: ModuleType, location: PlanLocation) -> RunFunction:
    """The ``run(helper, cfg)`` of ``module`` and the configuration class its ``cfg`` is annotated with."""
    run = getattr(module, "run", None)
    if run is None:
        raise ExperimentSetupError(f"{location.label} defines no run function: add def run(helper, cfg) to it")
    helper = run if isinstance(run, ExperimentHelper) else ExperimentHelper(run) if callable(run) else None
    if helper is None:
        raise ExperimentSetupError(f"{location.label}: run is not a function ({type(run).__name__})")
    parameters = list(inspect.signature(helper.callable).parameters.values())
    if len(parameters) != 2:
        raise ExperimentSetupError(
            f"{location.label}: run must take two parameters (helper, cfg), it takes {len(parameters)}"
        )
    name = parameters[1].name
    if parameters[1].annotation is inspect.Parameter.empty:
        raise ExperimentSetupError(
            f"{location.label}: annotate run's parameter {name!r} with the configuration class "
            f"(for example: def run(helper, {name}: Configuration))"
        )
    try:
        # String annotations (from __future__ import annotations) are resolved in run's module.
        schema = typing.get_type_hints(helper.callable).get(name, parameters[1].annotation)
    except Exception as error:
        raise ExperimentSetupError(
            f"{location.label}: cannot resolve the annotation {parameters[1].annotation!r} of run's "
            f"parameter {name!r}: {type(error).__name__}: {error}"
        ) from None
    if not (isinstance(schema, type) and attrs.has(schema)):
        raise ExperimentSetupError(
            f"{location.label}: run's parameter {name!r} is annotated with {schema!r}, which is not a "
            "@configuration class (subclass xpm_core.experiments.ConfigurationBase)"
        )
    if "id" not in attrs.fields_dict(schema):
        raise ExperimentSetupError(
            f"{location.label}: {schema.__name__} has no 'id' field: derive it from "
            "xpm_core.experiments.ConfigurationBase"
        )
    try:
        resolve_annotations(schema, vars(module))
    except Exception as error:
        raise ExperimentSetupError(
            f"{location.label}: cannot resolve the annotations of {schema.__name__}: {type(error).__name__}: {error}"
        ) from None
    return RunFunction(helper=helper, schema=schema, module=module, location=location)
