"""Identifiers: SHA-256 over experimaestro 2.7.0's typed byte encoding (reference §2), computed iteratively.

Each configuration being digested is a frame holding a generator that writes its encoding into a
buffer; when it meets a nested configuration whose digest is unknown it yields it, the driver
pushes a frame for it and sends the digest back. The nesting depth thus costs heap, not stack.

xpm extensions (docs/identifiers.md) use tags from 0x40, which 2.7.0 never writes, for values
2.7.0 cannot hash: tuples, paths inside containers, integers beyond 64 bits.
"""

from __future__ import annotations

import hashlib
import struct
import sys
from array import array as _int64_array
from enum import Enum
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Generator, Optional

from xpm_core.config.errors import MissingParameterError, UnhashableValueError, format_location
from xpm_core.config.objects import ConfigMixin, InstanceConfig

if TYPE_CHECKING:
    from xpm_core.config.partial import Partial

OBJECT_ID = b"\x00"
INT_ID = b"\x01"
FLOAT_ID = b"\x02"
STR_ID = b"\x03"
NAME_ID = b"\x05"
NONE_ID = b"\x06"
LIST_ID = b"\x07"
TASK_ID = b"\x08"
DICT_ID = b"\x09"
ENUM_ID = b"\x0a"
CYCLE_REFERENCE = b"\x0b"
INIT_TASKS = b"\x0c"
INSTANCE_ID = b"\x0d"
SET_ID = b"\x0e"
# xpm extensions: never written by experimaestro 2.7.0 (which raises for these values)
TUPLE_ID = b"\x40"
PATH_ID = b"\x41"
BIGINT_ID = b"\x42"

_pack_q = struct.Struct(">q").pack
_pack_d = struct.Struct(">d").pack
_sha256 = hashlib.sha256
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_LITTLE_ENDIAN = sys.byteorder == "little"


class Identifier:
    """A configuration identifier: ``all`` (= ``main``) holds the 32 bytes of the SHA-256 digest."""

    __slots__ = ("main", "has_loops")

    def __init__(self, main: bytes, has_loops: bool = False) -> None:
        self.main = main
        self.has_loops = has_loops

    @property
    def all(self) -> bytes:
        """The 32-byte digest (its ``.hex()`` names the job directory)."""
        return self.main

    def hex(self) -> str:
        return self.main.hex()

    def state_dict(self) -> str:
        return self.main.hex()

    @staticmethod
    def from_state_dict(data: Any) -> Identifier:
        if isinstance(data, str):
            return Identifier(bytes.fromhex(data))
        return Identifier(bytes.fromhex(data["main"]))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Identifier) and self.main == other.main

    def __hash__(self) -> int:
        return hash(self.main)

    def __repr__(self) -> str:
        return self.main.hex()


class _Unhashable(Exception):
    def __init__(self, value: Any) -> None:
        super().__init__(value)
        self.value = value


class _State:
    """One top-level computation: the path of configurations being digested, loops, instances, memo."""

    __slots__ = ("index", "loops", "instance_order", "memo", "shared", "instance_events", "tainted")

    def __init__(self, shared: Optional[dict[int, bytes]] = None) -> None:
        self.index: dict[int, int] = {}  # id(config) -> position on the current path
        self.loops: list[bool] = []  # per path position: a cycle went through it
        self.instance_order: dict[bytes, list[int]] = {}
        # digests of configurations without cycles through them: a shared sub-configuration is
        # encoded identically wherever it appears, so computing it once is enough
        self.memo: dict[int, bytes] = {}
        #: standalone digests kept across computations by the caller (see compute_identifier)
        self.shared = shared
        #: InstanceConfig occurrences so far: a sub-tree without any is encoded as when alone
        self.instance_events = 0
        #: memoized configurations whose sub-tree holds InstanceConfigs (reusing them counts as an event)
        self.tainted: set[int] = set()


Encoder = Generator[ConfigMixin, bytes, None]


def _is_meta_config(value: Any) -> bool:
    return isinstance(value, ConfigMixin) and bool(value.__xpm__._meta)


def _remove_meta(value: Any) -> Any:
    if isinstance(value, list):
        return [v for v in value if not _is_meta_config(v)]
    if isinstance(value, set):
        return {v for v in value if not _is_meta_config(v)}
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if not _is_meta_config(v)}
    return value


def _encode_int(value: int, buf: bytearray) -> None:
    if _INT64_MIN <= value <= _INT64_MAX:
        buf += INT_ID
        buf += _pack_q(value)
    else:
        data = value.to_bytes((value.bit_length() + 8) // 8, "big", signed=True)
        buf += BIGINT_ID
        buf += _pack_q(len(data))
        buf += data


def _encode_int_list(values: list, buf: bytearray) -> bool:
    """``07 count (01 int64)*`` for a list of integers, in C loops; False unless all are int64 integers."""
    count = len(values)
    if not count or type(values[0]) is not int:
        return False
    try:
        array = _int64_array("q", values)
    except (TypeError, OverflowError):
        return False
    if _LITTLE_ENDIAN:
        array.byteswap()
    packed = array.tobytes()
    out = bytearray(9 * count)
    out[0::9] = INT_ID * count
    for k in range(8):
        out[k + 1 :: 9] = packed[k::8]
    buf += LIST_ID
    buf += _pack_d(count)
    buf += out
    return True


def _encode(state: _State, value: Any, buf: bytearray) -> Encoder:
    """Append the encoding of a value (§2.2; type checks in 2.7.0's order, configurations first
    since a configuration is none of the other types)."""
    if isinstance(value, ConfigMixin):
        if _encode_reference(state, value, buf):
            return
        digest = yield value
        buf += digest
        _instance_marker(state, value, digest, buf)
    elif value is None:
        buf += NONE_ID
    elif isinstance(value, float):
        buf += FLOAT_ID
        buf += _pack_d(value)
    elif isinstance(value, int):
        _encode_int(int(value), buf)
    elif isinstance(value, str):
        buf += STR_ID
        buf += value.encode("utf-8")
    elif isinstance(value, list):
        if _encode_int_list(value, buf):
            return
        items = value
        if any(issubclass(kind, ConfigMixin) for kind in set(map(type, value))):
            items = [v for v in value if not _is_meta_config(v)]
        buf += LIST_ID
        buf += _pack_d(len(items))
        for item in items:
            if type(item) is int:
                _encode_int(item, buf)
            else:
                yield from _encode(state, item, buf)
    elif isinstance(value, (set, frozenset)):
        items = [v for v in value if not _is_meta_config(v)]
        buf += SET_ID
        buf += _pack_d(len(items))
        for item in sorted(items, key=_set_sort_key):
            yield from _encode(state, item, buf)
    elif isinstance(value, Enum):
        cls = value.__class__
        buf += ENUM_ID
        buf += f"{cls.__module__}.{cls.__qualname__}:{value.name}".encode("utf-8")
    elif isinstance(value, dict):
        buf += DICT_ID
        for key, item in sorted(
            ((k, v) for k, v in value.items() if not _is_meta_config(v)), key=lambda kv: kv[0]
        ):
            yield from _encode(state, key, buf)
            yield from _encode(state, item, buf)
    elif isinstance(value, tuple):
        buf += TUPLE_ID
        buf += _pack_q(len(value))
        for item in value:
            yield from _encode(state, item, buf)
    elif hasattr(type(value), "__index__"):
        # integer-like objects (numpy integers) hash as the integer
        _encode_int(value.__index__(), buf)
    elif isinstance(value, PurePath):
        data = value.as_posix().encode("utf-8")
        buf += PATH_ID
        buf += _pack_q(len(data))
        buf += data
    else:
        raise _Unhashable(value)


def _encode_reference(state: _State, config: ConfigMixin, buf: bytearray) -> bool:
    """Append ``00`` and a cycle marker or a known digest of a nested configuration.

    Returns False when the digest must be computed first: the caller yields the configuration,
    appends the digest and calls :func:`_instance_marker`.
    """
    buf += OBJECT_ID
    position = state.index.get(id(config))
    if position is not None:
        loops = state.loops
        for i in range(position, len(loops)):
            loops[i] = True
        buf += CYCLE_REFERENCE
        buf += _pack_q(len(loops) - position)
        return True
    digest = _known_digest(state, config)
    if digest is None:
        digest = _leaf_digest(config, None)
        if digest is None:
            return False
    buf += digest
    _instance_marker(state, config, digest, buf)
    return True


def _instance_marker(state: _State, config: ConfigMixin, digest: bytes, buf: bytearray) -> None:
    """``0d rank`` after a second distinct InstanceConfig with the same digest (§2.5)."""
    if not isinstance(config, InstanceConfig):
        return
    state.instance_events += 1
    order = state.instance_order.get(digest)
    if order is None:
        state.instance_order[digest] = [id(config)]
        return
    if id(config) not in order:
        order.append(id(config))
    rank = order.index(id(config))
    if rank > 0:
        buf += INSTANCE_ID
        buf += _pack_q(rank)


def _known_digest(state: _State, config: ConfigMixin) -> Optional[bytes]:
    info = config.__xpm__
    if info._sealed:
        cached = info._identifier
        if cached is not None and not cached.has_loops:
            return cached.main
    digest = state.memo.get(id(config))
    if digest is not None and id(config) in state.tainted:
        state.instance_events += 1
    if digest is None and state.shared is not None:
        digest = state.shared.get(id(config))
    return digest


def _hashed_arguments(info: Any, partial: Optional[Partial]) -> list:
    """(argument, value) pairs that enter the identifier, in order, after the skip rules of §2.3."""
    xpmtype = info.xpmtype
    values = info.values
    result = []
    for argument in xpmtype.hash_plan:
        if partial is not None and partial.is_excluded(argument.groups):
            continue
        name = argument.name
        if argument.ignored:
            value = values.get(name)
            if (
                value is None
                or not isinstance(value, ConfigMixin)
                or value.__xpm__._meta is not False
            ):
                continue
        if argument.is_path_generator:
            continue
        if name in values:
            value = values[name]
        elif argument.required:
            raise MissingParameterError(
                f"cannot compute the identifier of {xpmtype.display_name} (created at "
                f"{format_location(info.initlocation)}): required parameter {name!r} is not set"
            )
        else:
            value = None
        if value is None and argument.generator is not None and argument.default is not None:
            value = argument.default
        if not argument.constant:
            if value is None and not argument.required and argument.default is None:
                continue
            if (
                argument.ignore_default
                and argument.default is not None
                and argument.default == _remove_meta(value)
            ):
                continue
        if _is_meta_config(value):
            continue
        result.append((argument, value))
    return result


_LEAF_TYPES = frozenset((int, str, float, bool, type(None)))


_MISSING = object()


def _leaf_plan(xpmtype: Any) -> tuple:
    """Per class: (arguments that can enter the identifier of a configuration holding only scalars,
    names of Meta arguments, whose value matters only when it is a configuration)."""
    plan = xpmtype._leaf_plan
    if plan is None:
        entries = tuple(
            (
                a.name,
                a.hash_prefix,
                a.required,
                a.default,
                a.generator is not None,
                a.constant,
                a.ignore_default,
            )
            for a in xpmtype.hash_plan
            if not a.ignored and not a.is_path_generator
        )
        ignored = tuple(a.name for a in xpmtype.hash_plan if a.ignored)
        plan = xpmtype._leaf_plan = (entries, ignored)
    return plan


def _leaf_digest(config: ConfigMixin, partial: Optional[Partial]) -> Optional[bytes]:
    """The digest of a configuration holding only scalars (no task, no init task), else None.

    Such a configuration contains no reference, so it is digested directly, without a frame;
    this follows the rules of :func:`_hashed_arguments` for scalar values.
    """
    info = config.__dict__["__xpm__"]
    if partial is not None or info.task is not None or info.init_tasks:
        return None
    xpmtype = info.xpmtype
    if xpmtype.deprecated_to is not None:
        return None
    plan = xpmtype._leaf_plan
    entries, ignored = plan if plan is not None else _leaf_plan(xpmtype)
    values = info.values
    for name in ignored:
        if isinstance(values.get(name), ConfigMixin):
            return None  # a Meta configuration may be kept (setmeta(..., False))
    buf = bytearray(OBJECT_ID)
    buf += xpmtype.identifier_bytes
    for name, prefix, required, default, generated, constant, ignore_default in entries:
        value = values.get(name, _MISSING)
        if value is _MISSING:
            if required:
                return None  # the general path reports the missing parameter
            value = None
        kind = type(value)
        if kind not in _LEAF_TYPES:
            return None
        if value is None and generated and default is not None:
            value = default
            kind = type(value)
            if kind not in _LEAF_TYPES:
                return None
        if not constant:
            if value is None and not required and default is None:
                continue
            if ignore_default and default is not None and default == value:
                continue
        buf += prefix
        if kind is str:
            buf += STR_ID
            buf += value.encode("utf-8")
        elif kind is float:
            buf += FLOAT_ID
            buf += _pack_d(value)
        elif value is None:
            buf += NONE_ID
        elif _INT64_MIN <= value <= _INT64_MAX:
            buf += INT_ID
            buf += _pack_q(value)
        else:
            _encode_int(value, buf)
    return _sha256(buf).digest()


def _encode_config(
    state: _State, config: ConfigMixin, partial: Optional[Partial], buf: bytearray
) -> Encoder:
    """Append the encoding of the configuration being digested (§2.3)."""
    info = config.__xpm__
    target = _converted(config)
    if target is not config:
        info = target.__xpm__
    buf += OBJECT_ID
    task = info.task
    if task is not None and task is not target:
        buf += TASK_ID
        yield from _encode(state, task, buf)
    xpmtype = info.xpmtype
    buf += xpmtype.identifier_bytes
    for argument, value in _hashed_arguments(info, partial):
        buf += argument.hash_prefix
        kind = type(value)
        if kind is int:
            _encode_int(value, buf)
        elif kind is str:
            buf += STR_ID
            buf += value.encode("utf-8")
        elif kind is float:
            buf += FLOAT_ID
            buf += _pack_d(value)
        elif isinstance(value, ConfigMixin):
            if not _encode_reference(state, value, buf):
                digest = yield value
                buf += digest
                _instance_marker(state, value, digest, buf)
        else:
            try:
                yield from _encode(state, value, buf)
            except _Unhashable as e:
                raise UnhashableValueError(
                    f"cannot compute the identifier of {xpmtype.display_name}: parameter {argument.name!r} (set at "
                    f"{format_location(info.location_of(argument.name))}) holds {type(e.value).__qualname__} value "
                    f"{e.value!r}, which has no identifier encoding; declare it Meta[...] to leave it out of "
                    "the identifier, or wrap it in a Config"
                ) from None
    if info.init_tasks:
        buf += INIT_TASKS
        for init_task in info.init_tasks:
            yield from _encode(state, init_task, buf)


def _converted(config: ConfigMixin) -> ConfigMixin:
    """A deprecated configuration with ``__convert__`` is digested as what it converts to."""
    if config.__xpmtype__.deprecated_to is not None and hasattr(config, "__convert__"):
        return config.__convert__()
    return config


def _run(
    state: _State, root: Optional[ConfigMixin], encoder: Encoder, buf: bytearray
) -> tuple[bytes, bool]:
    """Drive encoders until the root one finishes; returns (digest, root had a cycle through it)."""
    # frame: (configuration, buffer, encoder, InstanceConfig occurrences before it started)
    frames: list[tuple[Optional[ConfigMixin], bytearray, Encoder, int]] = [
        (root, buf, encoder, state.instance_events)
    ]
    index, loops, memo, shared = state.index, state.loops, state.memo, state.shared
    if root is not None:
        index[id(root)] = len(loops)
        loops.append(False)
    sent: Optional[bytes] = None
    while True:
        config, data, gen, events = frames[-1]
        try:
            child = gen.send(sent)  # type: ignore[arg-type] # None only starts the generator
        except StopIteration:
            frames.pop()
            has_loop = False
            if config is not None:
                has_loop = loops.pop()
                del index[id(config)]
            digest = _sha256(data).digest()
            clean = state.instance_events == events
            if shared is not None and config is not None and not has_loop and clean:
                shared[id(config)] = digest
            if not frames:
                return digest, has_loop
            if not has_loop:
                memo[id(config)] = digest
                if not clean:
                    state.tainted.add(id(config))
            sent = digest
            continue
        index[id(child)] = len(loops)
        loops.append(False)
        child_buf = bytearray()
        frames.append(
            (child, child_buf, _encode_config(state, child, None, child_buf), state.instance_events)
        )
        sent = None


def _set_sort_key(value: Any) -> bytes:
    """Sort key of a set element: the digest of its encoding, computed in a fresh context."""
    state = _State()
    buf = bytearray()
    digest, _ = _run(state, None, _encode(state, value, buf), buf)
    return digest


def compute_identifier(
    config: ConfigMixin,
    *,
    partial: Optional[Partial] = None,
    cache: Optional[dict[int, bytes]] = None,
) -> Identifier:
    """The identifier of ``config`` (or its partial identifier), never from its own cache.

    ``cache`` (id of configuration -> digest), shared between calls on configurations that do not
    change meanwhile, keeps the digests of sub-trees that are encoded the same wherever they
    appear (no cycle through them, no InstanceConfig in them): identifying every node of a
    tree then costs linear time.
    """
    digest = _leaf_digest(config, partial)
    if digest is not None:
        return Identifier(digest)
    if partial is not None:
        cache = None  # a partial digest is not the configuration's identifier
    state = _State(cache)
    buf = bytearray()
    digest, has_loop = _run(state, config, _encode_config(state, config, partial, buf), buf)
    return Identifier(digest, has_loop)


def encode_value(value: Any) -> bytes:
    """The identifier encoding of a single value (as a parameter value inside a configuration)."""
    state = _State()
    buf = bytearray()
    _run(state, None, _encode(state, value, buf), buf)
    return bytes(buf)
