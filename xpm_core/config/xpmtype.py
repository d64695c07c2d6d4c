"""Class-level information of a configuration class: type identifier, arguments, proxy class."""

from __future__ import annotations

import sys
import typing
import warnings
from types import FrameType
from typing import TYPE_CHECKING, Any, Dict, Optional

from xpm_core.config.argument import Argument
from xpm_core.config.params import PARAM_HINT, ParamHint, field
from xpm_core.config.params import help as help_annotation
from xpm_core.config.validation import InvalidValue, compile_type

if TYPE_CHECKING:
    from xpm_core.config.partial import Partial

# Modules that already got their bare-default warning (one per module, not one per parameter)
_warned_modules: set[str] = set()


class ObjectType:
    """What xpm knows about a configuration class (``X.__getxpmtype__()``); built on first use.

    Built lazily so that annotations may refer to classes defined later in the module.
    """

    #: filled by the identifier module on first use
    _leaf_plan: tuple | None = None
    #: names visible where the class was defined, when inside a function (resolve annotations)
    localns: dict | None = None
    #: a generic configuration (TypeVar parameters, or Generic[...] in its bases)
    generic = False
    generic_arguments: tuple = ()

    def __init__(self, tp: type) -> None:
        self.value_type = tp
        self.original_type = tp
        setattr(tp, "__xpmtype__", self)  # per class: looked up in ``__dict__`` only
        self.identifier = _type_identifier(tp)
        self.identifier_bytes = self.identifier.encode("utf-8")
        self._arguments: Dict[str, Argument] | None = None
        self._config_type: type | None = None
        self._partials: Dict[str, Partial] = {}
        self._hash_plan: tuple[Argument, ...] | None = None
        self._init_plan: tuple[dict[str, Any], list[tuple[str, Any]]] | None = None
        self._docs_parsed = False
        #: set by ``@deprecate(Target)``: the class whose identifier this one takes
        self.deprecated_to: type | None = None

    # --- names

    @property
    def module(self) -> str:
        """The Python module that defines the class."""
        return self.original_type.__module__

    @property
    def qualname(self) -> str:
        """The qualified name of the class in its module."""
        return self.original_type.__qualname__

    @property
    def display_name(self) -> str:
        """The qualified name without the ``f.<locals>.`` part, for messages."""
        return self.qualname.rsplit("<locals>.", 1)[-1]

    def name(self) -> str:
        """``module.QualName`` (the ``typename`` of serialized objects)."""
        return f"{self.module}.{self.qualname}"

    @property
    def task(self) -> bool:
        """Whether the class is a task (can be submitted)."""
        from xpm_core.config.objects import Task  # noqa: PLC0415

        return issubclass(self.original_type, Task)

    @property
    def is_lightweight_task(self) -> bool:
        """Whether the class is a task or a lightweight (init) task."""
        from xpm_core.config.objects import LightweightTask  # noqa: PLC0415

        return issubclass(self.original_type, LightweightTask)

    def __repr__(self) -> str:
        return f"Type({self.identifier})"

    def __str__(self) -> str:
        return self.identifier

    # --- arguments

    @property
    def arguments(self) -> Dict[str, Argument]:
        """Arguments by name: the parents' first, then the class's own (declaration order)."""
        if self._arguments is None:
            self._arguments = self._collect_arguments()
        return self._arguments

    @property
    def partials(self) -> Dict[str, Partial]:
        """Partial identifier specifications declared as class attributes."""
        self.arguments  # noqa: B018 - collected with the arguments
        return self._partials

    @property
    def hash_plan(self) -> tuple[Argument, ...]:
        """Arguments sorted by name: the order in which they enter the identifier."""
        if self._hash_plan is None:
            self._hash_plan = tuple(sorted(self.arguments.values(), key=lambda a: a.name))
        return self._hash_plan

    @property
    def init_plan(self) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
        """Initial values of a new configuration: immutable defaults (and None for optional
        parameters) to copy, and mutable defaults to clone."""
        if self._init_plan is None:
            from xpm_core.config.argument import _IMMUTABLE  # noqa: PLC0415

            initial: dict[str, Any] = {}
            mutable: list[tuple[str, Any]] = []
            for name, argument in self.arguments.items():
                if argument.has_default:
                    default = argument.validated_default
                    if isinstance(default, _IMMUTABLE):
                        initial[name] = default
                    else:
                        mutable.append((name, default))
                elif not argument.required:
                    initial[name] = None
            self._init_plan = (initial, mutable)
        return self._init_plan

    def parents(self) -> list[ObjectType]:
        from xpm_core.config.objects import Config  # noqa: PLC0415

        return [
            base.__getxpmtype__()
            for base in self.original_type.__bases__
            if isinstance(base, type) and issubclass(base, Config) and base not in _BASE_CLASSES
        ]

    def _collect_arguments(self) -> Dict[str, Argument]:
        from xpm_core.config.partial import Partial  # noqa: PLC0415

        arguments: Dict[str, Argument] = {}
        parents = self.parents()
        for parent in reversed(parents):
            arguments.update(parent.arguments)

        tp = self.original_type
        own = tp.__dict__.get("__annotations__", {})
        if own:
            try:
                localns = None if self.localns is None else {**self.localns, **vars(tp)}
                hints = typing.get_type_hints(tp, localns=localns, include_extras=True)
            except NameError as e:
                raise TypeError(
                    f"cannot resolve the annotations of {tp.__qualname__} ({e}): "
                    "define the classes it refers to before using it"
                ) from None
            for name in own:
                hint = hints.get(name)
                argument = self._make_argument(name, hint)
                if argument is None:
                    continue
                parent_argument = arguments.get(name)
                if parent_argument is not None:
                    self._check_override(argument, parent_argument)
                arguments[name] = argument
                argument.objecttype = self

        if getattr(tp, "__parameters__", ()) or any(a.typevars for a in arguments.values()):
            # a generic configuration: every value may bind TypeVars (directly or through a
            # sub-configuration), so none takes the unchecked fast path
            from xpm_core.config import generics  # noqa: PLC0415

            self.generic = True
            generics.ANY_GENERIC = True
            self.generic_arguments = tuple(arguments)
            for argument in arguments.values():
                argument.plain = False
        for name, value in tp.__dict__.items():
            if isinstance(value, Partial):
                if value.name is None:
                    value.name = name
                self._partials[name] = value
        return arguments

    def _make_argument(self, name: str, hint: Any) -> Argument | None:
        if typing.get_origin(hint) is not typing.Annotated:
            return None
        from xpm_core.config.checkers import Checker  # noqa: PLC0415
        from xpm_core.config.generators import pathgenerator  # noqa: PLC0415
        from xpm_core.config.generics import typevar_shapes  # noqa: PLC0415

        kind: ParamHint | None = None
        help_text = None
        checkers: list[Checker] = []
        annotated_generator = None
        experimaestro_style = False  # metadata that alone declares a parameter (experimaestro)
        for meta in hint.__metadata__:
            if isinstance(meta, ParamHint):
                kind = meta
            elif isinstance(meta, help_annotation):
                help_text = meta.text
                experimaestro_style = True
            elif isinstance(meta, Checker):
                checkers.append(meta)
                experimaestro_style = True
            elif isinstance(meta, pathgenerator):
                annotated_generator = meta.generator
                experimaestro_style = True
        if kind is None:
            if not experimaestro_style:
                return None
            kind = PARAM_HINT
        tp = self.original_type
        where = f"{tp.__module__}.{self.display_name}.{name}"
        if kind.deprecated_alias:
            warnings.warn(
                f"{where}: {kind.deprecated_alias}[...] is deprecated, use Meta[...] instead",
                DeprecationWarning,
                stacklevel=_user_stacklevel(),
            )
        value_hint = hint.__origin__
        origin = typing.get_origin(value_hint)
        args = typing.get_args(value_hint)
        optional = (origin is typing.Union or _is_union_type(origin)) and type(None) in args
        try:
            spec = compile_type(value_hint)
        except TypeError as e:
            raise TypeError(f"{where}: {e}") from None

        declared = getattr(tp, name, None)
        default = None
        generator = None
        ignore_default = False
        ignore_generated = False
        overrides = False
        groups: frozenset = frozenset()
        has_field = declared is not None
        if isinstance(declared, field):
            ignore_generated = declared.ignore_generated
            overrides = declared.overrides
            groups = declared.groups
            if declared.default is not None:
                default = declared.default
                ignore_default = declared.ignore_default
            elif declared.default_factory is not None:
                generator = declared.default_factory
                if not kind.ignored and not _is_generator(generator):
                    # Param factories run once, now: the default is hashed like any default
                    default = generator()
                    ignore_default = declared.ignore_default
        elif declared is not None:
            default = declared
            ignore_default = True
            if not kind.constant and tp.__module__ not in _warned_modules:
                _warned_modules.add(tp.__module__)
                warnings.warn(
                    f"{where} has a bare default ({declared!r}), which is left out of the identifier "
                    "when equal to the value: write field(default=..., ignore_default=True) to keep "
                    "this behaviour or field(default=...) to always hash it "
                    "(this warning is shown once per module)",
                    DeprecationWarning,
                    stacklevel=_user_stacklevel(),
                )
        if annotated_generator is not None:
            if generator is not None:
                raise TypeError(f"{where}: pathgenerator(...) and default_factory both give the value; keep one")
            generator = annotated_generator
            has_field = True
        if checkers:
            spec = _checked(spec, checkers)
        if kind.constant and default is None:
            raise TypeError(f"{where}: a Constant needs a default value (x: Constant[int] = 1)")
        argument = Argument(
            name,
            spec,
            required=not optional and not has_field,
            ignored=kind.ignored or spec.ignored,
            constant=kind.constant,
            default=default,
            generator=generator,
            ignore_default=ignore_default,
            ignore_generated=ignore_generated,
            overrides=overrides,
            groups=groups,
            help=help_text or kind.help,
            is_data=kind.data,
            typevars=typevar_shapes(value_hint),
        )
        if default is not None:
            try:
                argument.validated_default = spec.check(default)
            except InvalidValue as e:
                raise TypeError(f"{where}: invalid default value: {e.describe()}") from None
        return argument

    def _check_override(self, argument: Argument, parent: Argument) -> None:
        where = f"{self.display_name}.{argument.name}"
        child_cls, parent_cls = argument.spec.config_class, parent.spec.config_class
        if child_cls is not None and parent_cls is not None:
            if not issubclass(child_cls, parent_cls):
                raise TypeError(
                    f"{where} overrides a parameter of type {parent_cls.__qualname__} with "
                    f"{child_cls.__qualname__}, which is not a subclass of it"
                )
        elif argument.spec.name != parent.spec.name:
            raise TypeError(
                f"{where} overrides a parameter of type {parent.spec.name} with {argument.spec.name}: "
                "an override keeps the type (or a Config subclass)"
            )
        if not argument.overrides:
            warnings.warn(
                f"{where} overrides the parameter of {parent.objecttype.qualname if parent.objecttype else '?'}: "
                "use field(overrides=True) if this is intended",
                UserWarning,
                stacklevel=_user_stacklevel(),
            )

    # --- proxy class

    @property
    def config_type(self) -> type:
        """The configuration class ``X.C``: the value class plus parameter descriptors."""
        if self._config_type is None:
            self._config_type = self._make_config_type()
        return self._config_type

    def _make_config_type(self) -> type:
        from xpm_core.config.objects import (
            Config,
            ConfigMixin,
            ParameterDescriptor,
        )  # noqa: PLC0415

        self.init_plan  # noqa: B018 - configurations read the plan without checking it exists

        tp = self.original_type
        bases = tuple(
            base.__getxpmtype__().config_type
            for base in tp.__bases__
            if isinstance(base, type) and issubclass(base, Config) and base is not Config
        ) or (ConfigMixin,)
        namespace: dict[str, Any] = {name: ParameterDescriptor(name) for name in self.arguments}
        namespace["__xpmtype__"] = self
        namespace["__module__"] = tp.__module__
        *qual, name = tp.__qualname__.split(".")
        config_type = type(f"{name}.XPMConfig", bases + (tp,), namespace)
        config_type.__qualname__ = ".".join([*qual, config_type.__name__])
        return config_type

    # --- documentation

    def parse_docs(self) -> None:
        """Fill the arguments' help from the class docstring and attribute docstrings (once)."""
        if self._docs_parsed:
            return
        self._docs_parsed = True
        from xpm_core.config.docs import (
            parameter_help,
        )  # noqa: PLC0415 - ast/inspect only when asked

        for name, text in parameter_help(self.original_type).items():
            argument = self.arguments.get(name)
            if argument is not None and argument._help is None:
                argument._help = text

    @property
    def description(self) -> str | None:
        """The class docstring."""
        return self.original_type.__dict__.get("__doc__")


def _checked(spec: Any, checkers: list) -> Any:
    """``spec`` whose check also runs the checker annotations (``Choices``...)."""
    from xpm_core.config.validation import TypeSpec  # noqa: PLC0415

    check = spec.check

    def checked(value: Any) -> Any:
        value = check(value)
        for checker in checkers:
            if not checker.check(value):
                raise InvalidValue(f"{spec.name} with {checker}", value)
        return value

    return TypeSpec(
        spec.name,
        checked,
        ignored=spec.ignored,
        config_class=spec.config_class,
        is_set=spec.is_set,
    )


def _is_union_type(origin: Any) -> bool:
    import types  # noqa: PLC0415

    return origin is types.UnionType


def _is_generator(factory: Any) -> bool:
    from xpm_core.config.generators import Generator  # noqa: PLC0415

    return isinstance(factory, Generator)


#: Set on a module that is a driver's ``__main__`` script imported under another name (so that
#: its ``if __name__ == "__main__"`` block does not run again in a job process).
MAIN_SCRIPT_FLAG = "__xpm_main_script__"


def _type_identifier(tp: type) -> str:
    xpmid = tp.__dict__.get("__xpmid__")
    if xpmid is None:
        inherited = getattr(tp, "__xpmid__", None)
        if callable(inherited):
            xpmid = inherited()
    elif isinstance(xpmid, classmethod):
        xpmid = xpmid.__func__(tp)
    if xpmid is None:
        module = tp.__module__
        if getattr(sys.modules.get(module), MAIN_SCRIPT_FLAG, False):
            module = "__main__"  # a plan script re-imported in a job: same ids as in the driver
        xpmid = f"{module}.{tp.__qualname__}"
    return str(xpmid).lower()


def _user_stacklevel() -> int:
    """Stack level of the first frame outside xpm_core.config, for warnings pointing at user code."""
    frame: Optional[FrameType] = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith(
        ("xpm_core.config", "typing")
    ):
        frame = frame.f_back
        level += 1
    return level


_BASE_CLASSES: tuple[type, ...] = ()


def register_base_classes(*classes: type) -> None:
    """The framework's own base classes (Config, Task, ...): they declare no parameter."""
    global _BASE_CLASSES
    _BASE_CLASSES = classes
