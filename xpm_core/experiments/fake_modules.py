"""``mock_modules([...])``: import heavy libraries as fake modules while planning (in a ``pre_experiment`` file).

(Not named ``mock_modules.py``: ``from xpm_core.experiments import mock_modules`` must give the function.)

A plan module often imports its tasks' libraries (``torch``, ``transformers``) only to define
classes and decorate functions that run in the jobs, not in the driver. Called before the plan
is imported, ``mock_modules(["torch"])`` puts a finder first in ``sys.meta_path`` that answers
``import torch`` (and ``torch.nn``, ...) with a fake module, so that planning does not pay for
loading them. Everything read from a fake module is a fake object that can be

- called (``torch.zeros(3)``; and as a decorator: ``@torch.compile``, ``@torch.no_grad()``),
- read further (``torch.nn.functional.relu``),
- subscripted (``torch.Tensor[int]``, as in annotations),
- subclassed (``class Net(torch.nn.Module)``: the subclass is a real class, instantiable with any
  arguments; ``class Wrapper(Net, Generic[T])`` works too).

Modules imported before the call are not replaced. Jobs never run a ``pre_experiment`` file: they
import the real libraries.
"""

from __future__ import annotations

import sys
import warnings
from importlib.abc import Loader, MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any, Iterable, Optional, Sequence


def noop_decorator(function: Any = None, *args: Any, **kwargs: Any) -> Any:
    """A decorator that changes nothing, used bare (``@d``) or with arguments (``@d(x=1)``)."""
    if function is not None and callable(function):
        return function
    return lambda target: target


class FakeBase:
    """What a subclass of a fake object really inherits from: accepts any constructor arguments."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __class_getitem__(cls, item: Any) -> Any:
        return cls  # a generic-looking subclass: MyDataset[str]

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """``torch.autograd.Function.apply``-style class methods exist and do nothing."""
        return None


class Fake:
    """Anything read from a fake module: callable, decorator-compatible, subscriptable, subclassable."""

    __slots__ = ("_xpm_path",)

    def __init__(self, path: str) -> None:
        object.__setattr__(self, "_xpm_path", path)

    def __getattr__(self, name: str) -> Fake:
        if name.startswith("__"):
            raise AttributeError(name)  # copy, pickle and inspect probe dunders: be honest
        return Fake(f"{self._xpm_path}.{name}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # @fake on a function or class: leave it as it is.
        if len(args) == 1 and not kwargs and callable(args[0]) and not isinstance(args[0], Fake):
            return args[0]
        return Fake(f"{self._xpm_path}()")  # a result, or a decorator made by @fake(...)

    def __getitem__(self, item: Any) -> Fake:
        return self

    def __mro_entries__(self, bases: tuple[Any, ...]) -> tuple[type, ...]:
        # One FakeBase per class: none when another base already brings it.
        for base in bases:
            if base is self:
                break
            if isinstance(base, Fake):
                return ()
        if any(isinstance(base, type) and issubclass(base, FakeBase) for base in bases):
            return ()
        return (FakeBase,)

    def __repr__(self) -> str:
        return f"<mocked {self._xpm_path}>"


class FakeModule(ModuleType):
    """A module whose every public attribute is a :class:`Fake` (submodules import too)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__path__: list[str] = []  # a package: ``import torch.nn`` goes through the finder
        self._xpm_fakes: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in self._xpm_fakes:
            self._xpm_fakes[name] = Fake(f"{self.__name__}.{name}")
        return self._xpm_fakes[name]


class FakeModuleFinder(MetaPathFinder, Loader):
    """Answers the import of the given modules (and their submodules) with :class:`FakeModule` objects."""

    def __init__(self, modules: Iterable[str], decorators: Optional[Iterable[str]] = None) -> None:
        self.modules = set(modules)
        #: Kept for experimaestro's signature: every fake object is already a decorator.
        self.decorators = set(decorators or ())

    def mocks(self, fullname: str) -> bool:
        """Whether importing ``fullname`` gives a fake module."""
        return any(fullname == name or fullname.startswith(name + ".") for name in self.modules)

    def find_spec(self, fullname: str, path: Optional[Sequence[str]], target: Any = None) -> Optional[ModuleSpec]:
        return ModuleSpec(fullname, self, is_package=True) if self.mocks(fullname) else None

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        return FakeModule(spec.name)

    def exec_module(self, module: ModuleType) -> None:
        pass  # nothing to run: every attribute is made when read

    def __repr__(self) -> str:
        return f"FakeModuleFinder({sorted(self.modules)})"


def mock_modules(modules: Iterable[str], decorators: Optional[Iterable[str]] = None) -> FakeModuleFinder:
    """Make ``import NAME`` (and ``NAME.sub``) give fake modules from now on, for each name of ``modules``.

    ``decorators`` is deprecated (experimaestro's): every fake object works as a decorator.
    Returns the finder; ``sys.meta_path.remove(finder)`` undoes it for later imports.
    """
    if isinstance(modules, str):
        raise TypeError(f"mock_modules() takes a list of module names, not a string: mock_modules([{modules!r}])")
    if decorators is not None:
        warnings.warn("mock_modules(decorators=...) is deprecated: every mocked object is already a decorator",
                      DeprecationWarning, stacklevel=2)
    finder = FakeModuleFinder(modules, decorators)
    sys.meta_path.insert(0, finder)
    return finder
