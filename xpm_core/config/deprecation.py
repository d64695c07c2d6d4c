"""``@deprecate``: old configuration classes and parameters keep working and keep their identifiers."""

from __future__ import annotations

import inspect
import logging
from typing import Any, Callable

logger = logging.getLogger(__name__)


class DeprecatedAttribute:
    """A former parameter: setting it (keyword or attribute) calls the decorated method instead."""

    def __init__(self, setter: Callable[[Any, Any], None]) -> None:
        self.setter = setter
        self.name = setter.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        raise AttributeError(f"{self.name} is a deprecated parameter: it can be set, not read")

    def __set__(self, instance: Any, value: Any) -> None:
        logger.warning(
            "parameter %s of %s is deprecated", self.name, type(instance).__qualname__.split(".")[0]
        )
        self.setter(instance, value)


def _replacing_new(config_type: Any, **kwargs: Any) -> Any:
    # Build the deprecated configuration, then hand out what it converts to.
    instance: Any = object.__new__(config_type)
    instance.__init__(**kwargs)
    converted = instance.__convert__()
    # setting a parameter only the deprecated class had warns and is discarded (not an error)
    converted.__dict__["_deprecated_from"] = config_type.__xpmtype__.original_identifier
    converted.__dict__["_deprecated_arguments"] = frozenset(config_type.__xpmtype__.arguments)
    return converted


def _deprecate_type(cls: Any, target: Any, replace: bool) -> Any:
    from xpm_core.config.objects import Config, Task  # noqa: PLC0415

    xpmtype = cls.__getxpmtype__()
    if xpmtype.deprecated_to is not None:
        raise TypeError(f"{cls.__qualname__} is already deprecated")
    if target is None:
        bases = [b for b in cls.__bases__ if isinstance(b, type) and issubclass(b, Config)]
        if len(bases) != 1 or bases[0] in (Config, Task):
            raise TypeError(
                f"@deprecate without a target needs {cls.__qualname__} to have exactly one parent "
                "configuration (the new class); otherwise write @deprecate(NewClass) and define "
                "__convert__"
            )
        target = bases[0]
    if replace and "__convert__" not in vars(cls):
        raise TypeError(f"@deprecate(..., replace=True) needs {cls.__qualname__}.__convert__()")
    xpmtype.original_identifier = xpmtype.identifier
    target_type = target.__getxpmtype__()
    xpmtype.identifier = target_type.identifier
    xpmtype.identifier_bytes = target_type.identifier_bytes
    xpmtype.deprecated_to = target
    if replace:
        cls.C.__new__ = _replacing_new
    return cls


def deprecate(target: Any = None, *, replace: bool = False) -> Any:
    """Deprecate a configuration class, or a parameter.

    - ``@deprecate`` on ``class Old(New)``: ``Old`` has the identifier of ``New``;
    - ``@deprecate(New)`` on a class defining ``__convert__(self) -> New.C(...)``: its identifier
      is the identifier of the converted configuration; with ``replace=True``, ``Old.C(...)``
      directly returns the converted configuration;
    - ``@deprecate`` on a method ``def old(self, value)`` of a configuration: ``old=value`` (as a
      keyword or attribute) calls the method, which sets the new parameters.
    """
    from xpm_core.config.objects import Config, Task  # noqa: PLC0415

    if inspect.isfunction(target):
        return DeprecatedAttribute(target)
    if isinstance(target, type) and issubclass(target, Config):
        bases = [b for b in target.__bases__ if isinstance(b, type) and issubclass(b, Config)]
        legacy = len(target.__bases__) == 1 and len(bases) == 1 and bases[0] not in (Config, Task)
        if legacy and not replace:
            return _deprecate_type(target, None, False)  # bare @deprecate on ``class Old(New)``

        def decorator(cls: type) -> type:
            return _deprecate_type(cls, target, replace)

        return decorator
    if target is None:

        def legacy_decorator(cls: type) -> type:
            return _deprecate_type(cls, None, replace)

        return legacy_decorator
    raise TypeError(f"@deprecate expects a configuration class or a method, not {target!r}")
