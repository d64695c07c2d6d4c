"""Configuration objects: ``Config``, its proxy class ``X.C`` and the per-object state ``__xpm__``."""

from __future__ import annotations

import logging
import sys
from types import FrameType, MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Dict, Iterator, List, Mapping, Optional, TypeVar, Union

import attrs

from xpm_core.config.argument import Argument, clone
from xpm_core.config.errors import (
    ConstantParameterError,
    InvalidParameterError,
    Location,
    SealedError,
    UnknownParameterError,
    caller_location,
    format_location,
)
from xpm_core.config.tags import ConfigWrapper, TagDict, collect_tags
from xpm_core.config.validation import GenericMismatch, InvalidValue, short_repr
from xpm_core.config.xpmtype import ObjectType, register_base_classes

if TYPE_CHECKING:
    from xpm_core.config.generators import GenerationContext
    from xpm_core.config.identifier import Identifier
    from xpm_core.config.partial import Partial

T = TypeVar("T")

logger = logging.getLogger("xpm")

#: The type of ``dep`` in ``task_outputs(self, dep)``: marks a configuration as an output of the task.
DependentMarker = Callable[["ConfigMixin"], "ConfigMixin"]


@attrs.frozen
class SetInfo:
    """How and where a parameter or tag was set (debug information: never hashed nor serialized)."""

    #: ``/abs/file.py:12``, or a marker such as ``<generated>``
    location: str
    #: ``explicit``, ``default``, ``generated``, ``deserialized`` or ``composed``
    kind: str


_MARKER_KINDS = {"<generated>": "generated", "<loaded>": "deserialized"}


class ConfigInformation:
    """Per-configuration state (``cfg.__xpm__``): values, tags, task links, sealing, cached identifier."""

    # No __slots__: rarely-used state lives in class-level defaults and is created on first write,
    # which keeps building a configuration cheap.
    task: Optional[ConfigMixin] = None
    job: Any = None
    taskoutput: Any = None
    loaded = False
    is_dynamic_task = False
    _identifier: Optional[Identifier] = None
    _validated = False
    _sealed = False
    _meta: Optional[bool] = None
    init_tasks: List[ConfigMixin] = []  # replaced, never mutated in place
    stop_tags_init_tasks: Union[frozenset, set] = frozenset()
    # Read-only empty defaults; the writers below give the object its own dict first.
    #: where parameters were set after creation (error messages only; never hashed or serialized)
    locations: Mapping[str, Location | None] = MappingProxyType({})
    #: own tags: name -> (value, where it was set)
    tags_: Mapping[str, tuple[Any, Location | None]] = MappingProxyType({})
    #: per-parameter flags (``stop_tags``)
    args_properties: Mapping[str, set[str]] = MappingProxyType({})
    #: names given to ``X.C(...)`` (the keyword dict's keys: no copy on the hot path)
    init_names: Any = ()
    #: parameters set by composition (``outer @ inner``)
    composed: Mapping[str, bool] = MappingProxyType({})
    #: TypeVar -> (bound type, "Class.param" that bound it), for generic configurations
    typevar_bindings: Mapping[Any, tuple[type, str]] = MappingProxyType({})

    def __init__(
        self,
        pyobject: ConfigMixin,
        xpmtype: ObjectType,
        location: Location | None,
        values: Dict[str, Any] | None = None,
    ) -> None:
        self.pyobject = pyobject
        self.xpmtype = xpmtype
        self.values: Dict[str, Any] = {} if values is None else values
        self.initlocation = location

    def own(self, attribute: str) -> dict:
        """The object's own (writable) dict for ``locations``, ``tags_`` or ``args_properties``."""
        mine = self.__dict__.get(attribute)
        if mine is None:
            mine = self.__dict__[attribute] = {}
        return mine

    @property
    def dependencies(self) -> List[Any]:
        """Explicit dependencies (tokens, ...) added with ``add_dependencies``."""
        deps = self.__dict__.get("_dependencies")
        if deps is None:
            deps = self.__dict__["_dependencies"] = []
        return deps

    @property
    def generated_values(self) -> List[str]:
        """Names of parameters holding values generated for a job (paths)."""
        generated = self.__dict__.get("_generated_values")
        if generated is None:
            generated = self.__dict__["_generated_values"] = []
        return generated

    @property
    def _partial_identifiers(self) -> Dict[str, Identifier]:
        cache = self.__dict__.get("_partial_cache")
        if cache is None:
            cache = self.__dict__["_partial_cache"] = {}
        return cache

    def location_of(self, name: str) -> Location | None:
        """Where parameter ``name`` was set (the creation site unless set later)."""
        return self.locations.get(name, self.initlocation)

    def provenance_of(self, name: str) -> SetInfo | None:
        """How and where parameter ``name`` got its value (None when it has none)."""
        if name not in self.values:
            return None
        location = self.locations.get(name)
        if location is not None and location[0] in _MARKER_KINDS:
            return SetInfo(location[0], _MARKER_KINDS[location[0]])
        if name in self.composed:
            return SetInfo(format_location(location), "composed")
        if name in self.locations or name in self.init_names:
            return SetInfo(format_location(self.location_of(name)), "explicit")
        if self.loaded:
            return SetInfo("<loaded>", "deserialized")
        return SetInfo(format_location(self.initlocation), "default")

    def tag_provenance(self) -> Dict[str, SetInfo]:
        """Where each tag of this configuration (not its children) was set."""
        return {name: SetInfo(format_location(where), "explicit") for name, (_, where) in self.tags_.items()}

    # --- meta flag and state

    @property
    def meta(self) -> Optional[bool]:
        """``setmeta`` flag: True (left out of the parent's identifier), False (kept), None (default)."""
        return self._meta

    def set_meta(self, value: Optional[bool]) -> None:
        if self._sealed:
            raise SealedError(
                f"cannot change the meta flag of {self.xpmtype.display_name}: it is sealed"
            )
        self._meta = value

    @property
    def sealed(self) -> bool:
        """Whether the configuration is read-only."""
        return self._sealed

    # --- values

    def get(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            if name in self.xpmtype.arguments:
                raise AttributeError(
                    f"parameter {name!r} of {self.xpmtype.display_name} is not set "
                    f"(configuration created at {format_location(self.initlocation)})"
                ) from None
            raise AttributeError(f"{self.xpmtype.display_name} has no parameter {name!r}") from None

    def set(
        self, name: str, value: Any, *, bypass: bool = False, location: Location | None = None
    ) -> None:
        """Validate and set a parameter; ``bypass`` allows constants, generated values and sealed objects."""
        argument = self.xpmtype.arguments.get(name)
        if argument is None:
            raise unknown_parameter(self.xpmtype, name, location)
        if self._sealed and not bypass:
            raise SealedError(
                f"cannot set {self.xpmtype.display_name}.{name} at {format_location(location)}: the configuration "
                "is sealed (read-only since it was submitted or sealed); use copyconfig(cfg, ...) to derive a new one"
            )
        if not bypass and (argument.constant or argument.is_path_generator):
            what = "a Constant" if argument.constant else "generated when the task is submitted"
            raise ConstantParameterError(
                f"cannot set {self.xpmtype.display_name}.{name} at {format_location(location)}: the parameter is "
                f"{what} (value {short_repr(self.values.get(name))}); remove this assignment"
            )
        if isinstance(value, ConfigMixin) and is_generated_value(argument, value):
            raise InvalidParameterError(
                f"cannot set {self.xpmtype.display_name}.{name} at {format_location(location)}: the configuration holds "
                f"generated values ({', '.join(generated_paths(value, [name]))}) of another task; use a fresh "
                "configuration or copyconfig(...)"
            )
        if value is None:
            if argument.required:
                raise InvalidParameterError(
                    f"cannot set the required parameter {self.xpmtype.display_name}.{name} to None "
                    f"(at {format_location(location)})"
                )
            self.values[name] = None
        else:
            try:
                checked = argument.spec.check(value)
                if self.xpmtype.generic:
                    from xpm_core.config.generics import GenericTypeError, check_set  # noqa: PLC0415

                    try:
                        check_set(self, name, checked)
                    except GenericTypeError as e:
                        raise GenericTypeError(f"{e} (set at {format_location(location)})") from None
                self.values[name] = checked
            except GenericMismatch as e:
                from xpm_core.config.generics import GenericTypeError  # noqa: PLC0415

                raise GenericTypeError(
                    f"invalid value for parameter {name!r} of {self.xpmtype.display_name} "
                    f"(set at {format_location(location)}): {e.describe()}"
                ) from None
            except InvalidValue as e:
                raise InvalidParameterError(
                    f"invalid value for parameter {name!r} of {self.xpmtype.display_name} "
                    f"(set at {format_location(location)}): {e.describe()}"
                ) from None
        if location is not self.initlocation:
            self.own("locations")[name] = location

    def xpmvalues(self, generated: bool = False) -> Iterator[tuple[Argument, Any]]:
        """(argument, value) for every set argument, in declaration order."""
        values = self.values
        for name, argument in self.xpmtype.arguments.items():
            if name in values:
                yield argument, values[name]

    # --- tags

    def addtag(self, name: str, value: Any, location: Location | None = None) -> None:
        self.own("tags_")[name] = (value, location)

    def tags(self) -> Dict[str, Any]:
        return collect_tags(self.pyobject)

    # --- init tasks and outputs

    def set_init_tasks(self, init_tasks: List[Any]) -> None:
        """Set the initialization tasks, unwrapping ``stop_tags(...)``."""
        self.init_tasks = []
        stop_tags_init_tasks: set[int] = set()
        self.stop_tags_init_tasks = stop_tags_init_tasks
        for init_task in init_tasks:
            if isinstance(init_task, ConfigWrapper):
                if init_task.tagged:
                    raise ValueError(
                        "an initialization task cannot be tagged: tag(...) needs a parameter name"
                    )
                if init_task.stop_tags:
                    stop_tags_init_tasks.add(id(init_task.value))
                init_task = init_task.value
            if not isinstance(init_task, LightweightTask) or not isinstance(init_task, ConfigMixin):
                raise TypeError(
                    f"init_tasks must hold LightweightTask configurations (X.C(...)), not {short_repr(init_task)}"
                )
            self.init_tasks.append(init_task)

    def mark_output(self, config: ConfigMixin, *, dynamic: bool = False) -> ConfigMixin:
        """``dep(config)``: ``config`` is an output of this task (its identifier then includes the task)."""
        if isinstance(config, Task):
            raise TypeError("dep(...) marks configurations produced by a task, not tasks")
        if not isinstance(config, ConfigMixin):
            raise TypeError(
                f"dep(...) expects a configuration (X.C(...)), not {short_repr(config)}"
            )
        info = config.__xpm__
        if info.task is self.pyobject:
            return config
        if info.task is not None:
            raise ValueError(f"{info.xpmtype.display_name} is already the output of another task")
        info.task = self.pyobject
        if dynamic:
            info.is_dynamic_task = True
        return config

    def add_dependencies(self, *dependencies: Any) -> None:
        self.dependencies.extend(dependencies)

    # --- identifiers

    @property
    def identifier(self) -> Identifier:
        """The identifier, cached once sealed."""
        if self._identifier is not None:
            return self._identifier
        identifier = _compute_identifier(self.pyobject)
        if self._sealed:
            self._identifier = identifier
        return identifier

    def get_partial_identifier(self, partial: Partial) -> Identifier:
        """The identifier without the parameters ``partial`` excludes (top level only)."""
        name = partial.name or ""
        cached = self._partial_identifiers.get(name)
        if cached is not None:
            return cached
        from xpm_core.config.identifier import compute_identifier  # noqa: PLC0415

        identifier = compute_identifier(self.pyobject, partial=partial)
        if self._sealed:
            self._partial_identifiers[name] = identifier
        return identifier

    # --- lifecycle

    def validate(self) -> None:
        """Check required parameters in the whole tree and call ``__validate__`` (once)."""
        from xpm_core.config.sealing import validate_tree  # noqa: PLC0415

        validate_tree(self.pyobject)

    def seal(self, context: GenerationContext | None = None) -> None:
        """Generate values and make the tree read-only."""
        from xpm_core.config.sealing import seal_tree  # noqa: PLC0415

        seal_tree(self.pyobject, context)

    def validate_and_seal(self, context: GenerationContext | None = None) -> None:
        self.validate()
        self.seal(context)


def unknown_parameter(
    xpmtype: ObjectType, name: str, location: Location | None, *, assignment: bool = False
) -> UnknownParameterError:
    """The error for a keyword (or attribute) that is not a parameter: names it and lists the valid ones."""
    import difflib  # noqa: PLC0415 - only on errors

    valid = sorted(xpmtype.arguments)
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    what = (
        f"cannot set {xpmtype.display_name}.{name}: no such parameter"
        if assignment
        else f"{xpmtype.display_name}.C() got an unknown parameter {name!r}"
    )
    return UnknownParameterError(
        f"{what} at {format_location(location)}. "
        f"Valid parameters of {xpmtype.display_name}: {', '.join(valid) if valid else '(none)'}{hint}"
    )


def _set_deprecated_attribute(
    config: ConfigMixin, xpmtype: ObjectType, name: str, value: Any, location: Location
) -> None:
    """A keyword that is not a parameter: a deprecated one (``@deprecate`` on a method), or an error."""
    from xpm_core.config.deprecation import DeprecatedAttribute  # noqa: PLC0415 - rare

    if not isinstance(getattr(type(config), name, None), DeprecatedAttribute):
        raise unknown_parameter(xpmtype, name, location)
    setattr(config, name, value)


def is_generated_value(argument: Argument, value: Any) -> bool:
    """Whether ``value`` holds paths generated for another task (and thus cannot be reused)."""
    if argument.ignore_generated or value is None:
        return False
    if isinstance(value, ConfigMixin):
        info = value.__xpm__
        return bool(info.__dict__.get("_generated_values")) and info.task is None
    if isinstance(value, list):
        return any(is_generated_value(argument, v) for v in value)
    if isinstance(value, dict):
        return any(is_generated_value(argument, v) for v in value.values())
    return False


def generated_paths(config: ConfigMixin, path: list[str]) -> list[str]:
    """Dotted paths of the generated values inside ``config`` (for error messages)."""
    result = []
    for name in config.__xpm__.generated_values:
        value = config.__xpm__.values.get(name)
        if isinstance(value, ConfigMixin):
            result.extend(generated_paths(value, [*path, name]))
        else:
            result.append(".".join([*path, name]))
    return result


class ParameterDescriptor:
    """Reads and writes one parameter of a configuration (defined on the ``X.C`` class)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return owner.__xpmtype__.arguments[self.name] if owner is not None else self
        try:
            return obj.__dict__["__xpm__"].values[self.name]
        except KeyError:
            return obj.__dict__["__xpm__"].get(self.name)

    def __set__(self, obj: Any, value: Any) -> None:
        location = caller_location(2)
        info = obj.__dict__["__xpm__"]
        if isinstance(value, ConfigWrapper):
            value.apply(info, self.name, location)
            value = value.value
        info.set(self.name, value, location=location)


class _ClassProperty:
    def __init__(self, fget: Any) -> None:
        self.fget = fget

    def __get__(self, obj: Any, owner: type) -> Any:
        return self.fget(owner)


class _ConfigClassProperty:
    """``X.C``: the configuration class, built on first access (a hot path: one dict lookup then)."""

    def __get__(self, obj: Any, owner: Any) -> Any:
        xpmtype = owner.__dict__.get("__xpmtype__")
        if xpmtype is not None:
            config_type = xpmtype._config_type
            if config_type is not None:
                return config_type
        return owner.__getxpmtype__().config_type


def _compute_identifier(config: ConfigMixin) -> Identifier:
    global _compute_identifier
    from xpm_core.config.identifier import (
        compute_identifier,
    )  # noqa: PLC0415 - identifier imports objects

    _compute_identifier = compute_identifier
    return compute_identifier(config)


class Config:
    """Base class of configurations: declare parameters with ``Param``/``Meta``/``Constant`` annotations.

    ``X.C(**kwargs)`` builds a configuration; ``X()`` is a plain value object (what ``instance()``
    and the job process build).
    """

    __xpmtype__: ClassVar[ObjectType]
    __xpmid__: ClassVar[Optional[str]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__xpmtype__" not in cls.__dict__:
            xpmtype = ObjectType(cls)
            # A class defined in a function may refer to other local classes in its annotations.
            frame: Optional[FrameType] = sys._getframe(1)
            while frame is not None and frame.f_code.co_name == "__init_subclass__":
                frame = frame.f_back
            if (
                frame is not None
                and frame.f_code.co_name != "<module>"
                and frame.f_locals is not frame.f_globals
            ):
                xpmtype.localns = dict(frame.f_locals)

    @classmethod
    def __getxpmtype__(cls) -> ObjectType:
        """The class's :class:`ObjectType`."""
        xpmtype = cls.__dict__.get("__xpmtype__")
        return xpmtype if xpmtype is not None else ObjectType(cls)

    #: The configuration class: ``X.C(x=1)`` builds a configuration (``X.XPMConfig`` is an alias).
    C = _ConfigClassProperty()
    XPMConfig = C

    @_ClassProperty
    def XPMValue(cls) -> Any:  # noqa: N802
        """The class ``instance()`` builds (the value class)."""
        return cls.__getxpmtype__().value_type

    @classmethod
    def value_class(cls) -> Any:
        """Decorator registering a subclass of ``X`` that ``instance()`` and jobs build instead of ``X``."""

        def decorator(value_class: type) -> type:
            if not issubclass(value_class, cls):
                raise TypeError(
                    f"value class {value_class.__qualname__} must be a subclass of {cls.__qualname__}"
                )
            cls.__getxpmtype__().value_type = value_class
            return value_class

        return decorator

    @property
    def xpmconfig(self) -> Any:
        """The configuration an instance was built from (``instance(keep=True)``)."""
        if isinstance(self, ConfigMixin):
            return self
        try:
            return self.__dict__["__config__"]
        except KeyError:
            raise AttributeError(
                f"{type(self).__qualname__} object has no configuration tracked: "
                "build it with cfg.instance(keep=True)"
            ) from None

    def __post_init__(self) -> None:
        """Called by ``instance()`` once the parameters are set."""

    def register_task_output(self, method: Any, *args: Any, **kwargs: Any) -> None:
        """In a running task: announce the output ``method(dep, *args, **kwargs)`` of this configuration
        (a dynamic output; the driver builds it and calls the callbacks of ``task.watch_output``)."""
        from xpm_core.runtime.dynamic_outputs import register_task_output  # noqa: PLC0415

        register_task_output(self, method, *args, **kwargs)

    def __xpm_serialize__(self, context: Any) -> Dict[str, Any]:
        """``{name: SerializedPath}`` for ``save``: by default every ``DataPath`` parameter, copied
        through ``context.serialize(...)``; override to save other files."""
        from xpm_core.serialization.context import default_xpm_serialize  # noqa: PLC0415

        return default_xpm_serialize(self, context)

    def __validate__(self) -> None:
        """Override to check the parameters; called once before sealing (submit, ``instance()``)."""


# experimaestro 2.7.0 exposes the proxy mixin under this name
class ConfigMixin:
    """Behaviour of configuration objects (the ``X.C`` classes); never instantiated directly."""

    __xpmtype__: ClassVar[ObjectType]
    __xpm__: ConfigInformation

    def __init__(self, **kwargs: Any) -> None:
        frame = sys._getframe(1)
        location = (frame.f_code.co_filename, frame.f_lineno)
        xpmtype = self.__xpmtype__
        # the plans exist: the X.C class is built after them
        init_values, mutable_defaults = xpmtype._init_plan  # type: ignore[misc]
        values = init_values.copy()
        for name, default in mutable_defaults:
            values[name] = clone(default)
        info = ConfigInformation(self, xpmtype, location, values)
        if kwargs:
            info.init_names = kwargs.keys()
        self.__dict__["__xpm__"] = info
        arguments: Dict[str, Argument] = xpmtype._arguments  # type: ignore[assignment]
        for name, value in kwargs.items():
            argument = arguments.get(name)
            if argument is None:
                _set_deprecated_attribute(self, xpmtype, name, value, location)
                continue
            if (
                argument.plain
                and value is not None
                and not isinstance(value, (ConfigMixin, ConfigWrapper))
            ):
                # fast path; errors are reported by info.set below
                try:
                    values[name] = argument.check(value)
                    continue
                except InvalidValue:
                    pass
            elif isinstance(value, ConfigWrapper):
                value.apply(info, name, location)
                value = value.value
            info.set(name, value, location=location)

    def __setattr__(self, name: str, value: Any) -> None:
        # Parameters have data descriptors; any other public name is a typo of a parameter, which
        # would otherwise be silently ignored (and left out of the identifier).
        if name[0] != "_" and not hasattr(type(self), name):
            if name in self.__dict__.get("_deprecated_arguments", ()):
                logger.warning(
                    "Attribute '%s' was in deprecated config %s but is not in %s. The value is being discarded.",
                    name,
                    self.__dict__["_deprecated_from"],
                    self.__xpmtype__.identifier,
                )
                return
            raise unknown_parameter(self.__xpmtype__, name, caller_location(2), assignment=True)
        object.__setattr__(self, name, value)

    # --- display

    def __repr__(self) -> str:
        return f"Config[{self.__xpmtype__.identifier}]"

    def __str__(self) -> str:
        return self.to_str()

    def to_str(self, max_depth: int = 3, _visited: set[int] | None = None) -> str:
        """``module.Qualname(k=v, ...)``, nested configurations down to ``max_depth``."""
        visited = set() if _visited is None else _visited
        xpmtype = self.__xpmtype__
        if id(self) in visited:
            return "..."
        if max_depth <= 0:
            return f"{xpmtype.display_name}(...)"
        visited.add(id(self))
        try:

            def fmt(value: Any) -> str:
                if isinstance(value, ConfigMixin):
                    return value.to_str(max_depth - 1, visited)
                if isinstance(value, list):
                    return "[" + ", ".join(fmt(v) for v in value) + "]"
                if isinstance(value, tuple):
                    return "(" + ", ".join(fmt(v) for v in value) + ")"
                if isinstance(value, dict):
                    return "{" + ", ".join(f"{k}: {fmt(v)}" for k, v in value.items()) + "}"
                return str(value)

            params = ", ".join(f"{k}={fmt(v)}" for k, v in self.__xpm__.values.items())
            return f"{xpmtype.module}.{xpmtype.display_name}({params})"
        finally:
            visited.discard(id(self))

    # --- equality

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConfigMixin):
            return NotImplemented
        if self.__class__ is not other.__class__:
            return False
        mine, theirs = self.__xpm__, other.__xpm__
        if mine._sealed and theirs._sealed:
            return mine.identifier == theirs.identifier
        for name, value in mine.values.items():
            if value != theirs.values.get(name):
                return False
        return True

    def __hash__(self) -> int:
        info = self.__xpm__
        if not info._sealed:
            raise TypeError(
                f"unhashable configuration {info.xpmtype.display_name} (created at {format_location(info.initlocation)}): "
                "it is not sealed, and only sealed configurations can go in sets or dict keys; "
                "call cfg.seal() or use sealed_set(...)"
            )
        return hash(info.identifier)

    # --- API

    def __identifier__(self) -> Identifier:
        """The identifier (``.all`` holds the 32 bytes, ``.all.hex()`` the job directory name)."""
        info = self.__dict__["__xpm__"]
        identifier = info._identifier
        if identifier is not None:
            return identifier
        identifier = _compute_identifier(self)
        if info._sealed:
            info._identifier = identifier
        return identifier

    def __arguments__(self) -> Dict[str, Any]:
        return {argument.name: value for argument, value in self.__xpm__.xpmvalues()}

    def seal(self) -> ConfigMixin:
        """Make the configuration tree read-only (and hashable); returns ``self``."""
        if not self.__xpm__._sealed:
            self.__xpm__.seal(None)
        return self

    def tag(self, name: str, value: Any) -> ConfigMixin:
        """Add the tag ``name=value``; returns ``self``."""
        self.__xpm__.addtag(name, value, caller_location(2))
        return self

    def tags(self) -> TagDict:
        """Tags of this configuration and everything below it."""
        return TagDict(self.__xpm__.tags())

    def add_dependencies(self, *dependencies: Any) -> ConfigMixin:
        self.__xpm__.add_dependencies(*dependencies)
        return self

    def instance(
        self, context: GenerationContext | None = None, *, objects: Any = None, keep: bool = True
    ) -> Any:
        """Plain objects built from this configuration; sub-configurations shared here stay shared."""
        from xpm_core.config.instance import build_instance  # noqa: PLC0415

        return build_instance(self, context, objects=objects, keep=keep)

    def copy(self) -> ConfigMixin:
        """An unsealed deep copy (generated and constant values left out)."""
        kwargs = {
            argument.name: clone(value)
            for argument, value in self.__xpm__.xpmvalues()
            if argument.generator is None and not argument.constant
        }
        return type(self)(**kwargs)

    def copy_dependencies(self, other: ConfigMixin) -> None:
        """Depend on whatever ``other`` depends on (its task, its explicit dependencies)."""
        if other.__xpm__.task is not None:
            if self.__xpm__.task is not None:
                raise ValueError("this configuration is already the output of a task")
            self.__xpm__.task = other.__xpm__.task
        self.__xpm__.add_dependencies(*other.__xpm__.dependencies)

    def __rmatmul__(self, other: Any) -> Any:
        """``outer @ inner`` sets the one parameter of ``outer`` whose Config type accepts ``inner``."""
        if not isinstance(other, ConfigMixin):
            return NotImplemented
        own_type = self.__xpmtype__.original_type
        matching = [
            name
            for name, argument in other.__xpmtype__.arguments.items()
            if argument.spec.config_class is not None
            and issubclass(own_type, argument.spec.config_class)
        ]
        if not matching:
            raise ValueError(
                f"no parameter of {other.__xpmtype__.display_name} accepts a {own_type.__qualname__}"
            )
        if len(matching) > 1:
            raise ValueError(
                f"ambiguous composition: parameters {', '.join(matching)} of {other.__xpmtype__.display_name} "
                f"all accept a {own_type.__qualname__}"
            )
        other.__xpm__.set(matching[0], self, location=caller_location(2))
        other.__xpm__.own("composed")[matching[0]] = True
        return other

    # --- tasks

    def submit(
        self,
        *,
        workspace: Any = None,
        launcher: Any = None,
        run_mode: Any = None,
        init_tasks: List[Any] = (),  # type: ignore[assignment]
        max_retries: Optional[int] = None,
        transient: Any = None,
    ) -> Any:
        """Submit this task to the running experiment; returns its output (``task_outputs``) or itself."""
        from xpm_core.config.submission import submit_task  # noqa: PLC0415

        return submit_task(
            self,
            workspace=workspace,
            launcher=launcher,
            run_mode=run_mode,
            init_tasks=list(init_tasks),
            max_retries=max_retries,
            transient=transient,
        )

    @property
    def job(self) -> Any:
        """The runtime's job (None until submitted)."""
        return self.__xpm__.job

    @property
    def jobpath(self) -> Any:
        job = self.__xpm__.job
        if job is None:
            raise AttributeError("this task was not submitted: it has no job directory yet")
        return job.jobpath

    def stdout(self) -> Any:
        return self.__xpm__.job.stdout

    def stderr(self) -> Any:
        return self.__xpm__.job.stderr

    def wait(self) -> Any:
        return self.__xpm__.job.wait()

    def on_completed(self, callback: Any) -> None:
        """Call ``callback()`` once, on the driver's callback thread, when this task's job is done."""
        from xpm_core.runtime.callbacks import on_completed  # noqa: PLC0415

        on_completed(self, callback)

    def watch_output(self, method: Any, callback: Any) -> None:
        """Call ``callback(output)`` for each output ``method`` of a configuration of this (resumable)
        task that the running task registers with ``register_task_output``."""
        from xpm_core.runtime.dynamic_outputs import watch_output  # noqa: PLC0415

        watch_output(self, method, callback)


class InstanceConfig(Config):
    """A configuration whose object identity matters: two distinct objects with equal parameters get
    different identifiers inside one tree (reference §2.5)."""


class LightweightTask(Config):
    """A task run inside another task's process before it (``submit(init_tasks=[...])``)."""

    def execute(self) -> None:
        raise NotImplementedError(f"{type(self).__qualname__} must define execute()")


class Task(LightweightTask):
    """A unit of work with its own job directory; ``execute()`` runs in the job process."""

    def submit(self, *args: Any, **kwargs: Any) -> Any:  # overridden by ConfigMixin on X.C objects
        raise AssertionError(
            "submit() is a configuration method: call it on X.C(...), not on a plain object"
        )


class ResumableTask(Task):
    """A task whose job directory is kept between attempts (restarted after a timeout)."""

    def remaining_time(self) -> Optional[float]:
        """Seconds left before the launcher's time limit, or None when unknown (set by the runtime)."""
        provider = getattr(self, "__xpm_remaining_time__", None)
        return provider() if provider is not None else None


register_base_classes(Config, InstanceConfig, LightweightTask, Task, ResumableTask)


# --- utilities


def copyconfig(config: ConfigMixin, **kwargs: Any) -> ConfigMixin:
    """An unsealed shallow copy of ``config`` with some parameters changed (generated values dropped)."""
    location = caller_location(2)
    copy = type(config).__new__(type(config))
    info = ConfigInformation(copy, config.__xpmtype__, location)
    copy.__dict__["__xpm__"] = info
    for name, value in {**config.__xpm__.values, **kwargs}.items():
        if isinstance(value, ConfigWrapper):
            value.apply(info, name, location)
            value = value.value
        info.set(name, value, bypass=True, location=location)
    for argument in config.__xpmtype__.arguments.values():
        if argument.generator is not None and argument.is_path_generator:
            info.values.pop(argument.name, None)
    return copy


def setmeta(config: ConfigMixin, flag: Optional[bool]) -> ConfigMixin:
    """Force a sub-configuration out of (True) or into (False) its parent's identifier."""
    config.__xpm__.set_meta(flag)
    return config


def sealed_set(*elements: Any) -> set:
    """A set of configurations, sealed first so that they are hashable."""
    result = set()
    for element in elements:
        if isinstance(element, ConfigMixin):
            element.seal()
        result.add(element)
    return result
