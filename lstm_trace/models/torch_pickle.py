"""The pickle inside a torch.save file, read as data: an allow-list that builds dicts, lists and tensor records.

`torch.save(model.state_dict())` pickles an OrderedDict whose values are tensors, each one a call
`torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)` where the storage
is a persistent id naming raw bytes stored beside the pickle. Unpickling anything else means running
whatever the pickle names (`os.system`, `builtins.exec`, a model's own class): that is how a pickle
attacks, so nothing else is admitted. `find_class` maps the few names a state_dict needs to functions
here that only record what they were given (`TensorRecord`, `StorageRecord`); every other name is
refused before it is looked up, so no module is imported and nothing runs.

This builds on the pure-Python `pickle._Unpickler` (the same machine as `pickle.Unpickler`, in Python),
because it lets each opcode be replaced: BUILD is allowed only for the `_metadata` torch attaches to a
state_dict (and ignored); the opcodes that instantiate classes (INST, OBJ, NEWOBJ), copyreg extensions
and out-of-band buffers are refused; every key that would be hashed is a plain value (hashing a tuple
nested a million deep crashes the interpreter); memo indexes live in a dict (the C unpickler grows an
array to the largest index a pickle names). Every opcode counts against a budget, so the objects a
pickle may make are bounded whatever it says. The bytes of a storage are never read here: a record
says where they are, and torch_file.py reads the few that the traced layers use.
"""

from __future__ import annotations

import io
import math
import pickle
from _compat_pickle import IMPORT_MAPPING
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

import numpy as np

from ..errors import Where, shown
from .found import ModelError

MAX_PICKLE_BYTES = 16 << 20
"""The size of a pickle read (data.pkl, or one section of a legacy file); a state_dict takes ~100 bytes an entry."""

MAX_PICKLE_OPS = 1_000_000
"""Opcodes run while reading one pickle (a state_dict takes about 25 per entry); each makes at most one object,
so this bounds their memory (about 65 MB at most)."""

MAX_DIMS = 32  # a tensor's dimensions; torch itself allows 64, no weight has more than a few
MAX_SIZE = 1 << 48  # any one size, stride, offset or element count: far past any file, small enough to multiply

ADVICE = (
    "save the weights as data: torch.save(model.state_dict(), path), or "
    "safetensors.torch.save_file(model.state_dict(), path); either is read without running anything"
)
EXPECTED = "a state_dict: tensors in (ordered) dicts, as torch.save(model.state_dict()) writes them"

# dtype name → (numpy type, bytes per element); bfloat16 is read as its raw 16 bits
DTYPES: dict[str, tuple[str, int]] = {
    "float64": ("f8", 8), "float32": ("f4", 4), "float16": ("f2", 2), "bfloat16": ("u2", 2),
    "int64": ("i8", 8), "int32": ("i4", 4), "int16": ("i2", 2), "int8": ("i1", 1),
    "uint8": ("u1", 1), "uint16": ("u2", 2), "uint32": ("u4", 4), "uint64": ("u8", 8), "bool": ("b1", 1),
    "complex64": ("c8", 8), "complex128": ("c16", 16),
}  # fmt: skip
STORAGES = {
    "DoubleStorage": "float64", "FloatStorage": "float32", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32", "ShortStorage": "int16",
    "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool",
    "ComplexFloatStorage": "complex64", "ComplexDoubleStorage": "complex128",
}  # fmt: skip
TORCH_DTYPES = {  # the names torch pickles a dtype by (torch.float32 is pickled as the global torch.float32)
    **{name: name for name in DTYPES},
    "float": "float32", "double": "float64", "half": "float16", "long": "int64", "int": "int32", "short": "int16",
    "cfloat": "complex64", "cdouble": "complex128",
}  # fmt: skip
PLAIN = (str, int, float, bool, bytes, type(None))  # what may be a dict key or a set member


@dataclass(frozen=True)
class StorageType:
    """What `torch.FloatStorage` (or another storage class) stands for: the dtype of its elements.

    `dtype` None is `torch.storage.UntypedStorage`: bytes, whose tensor names its own dtype (_rebuild_tensor_v3).
    """

    name: str
    dtype: str | None


@dataclass(frozen=True)
class TorchDtype:
    """What a global such as `torch.float32` stands for."""

    name: str


@dataclass(frozen=True)
class StorageRecord:
    """A storage a persistent id names: its key, where its bytes are, how many bytes it holds."""

    key: str
    dtype: str | None  # None: untyped (bytes)
    nbytes: int
    where: str  # "archive/data/3", for messages and sources


@dataclass(frozen=True, eq=False)
class TensorRecord:
    """A tensor as the pickle describes it: a view of a storage, checked to lie inside it."""

    storage: StorageRecord
    offset: int  # in elements of dtype
    shape: tuple[int, ...]
    stride: tuple[int, ...]
    dtype: str

    @property
    def span(self) -> tuple[int, int]:
        """The bytes of the storage it reads, first to last: all that has to be read for it."""
        itemsize = DTYPES[self.dtype][1]
        return self.offset * itemsize, extent(self.offset, self.shape, self.stride) * itemsize


def extent(offset: int, shape: tuple[int, ...], stride: tuple[int, ...]) -> int:
    """One past the last element a view reads (its offset, where it reads none)."""
    if not math.prod(shape):
        return offset
    return offset + 1 + sum((n - 1) * s for n, s in zip(shape, stride, strict=True))


class PickleSource(Protocol):
    """What the unpickler reads from: a file, a BytesIO, or a bounded part of a file."""

    def read(self, n: int = -1, /) -> bytes: ...
    def readline(self) -> bytes: ...
    def tell(self) -> int: ...


class StateDict(dict[Any, Any]):
    """What `collections.OrderedDict` builds: a dict (insertion-ordered), whose BUILD state is ignored."""


class Refused(Exception):
    """Why a pickle is not read; `unpickle` turns it into a ModelError that names the file."""

    def __init__(self, problem: str, found: str | None = None, *, path: str | None = None,
                 expected: str = EXPECTED, hint: str | None = ADVICE) -> None:  # fmt: skip
        super().__init__(problem)
        self.problem, self.found, self.path, self.expected, self.hint = problem, found, path, expected, hint

    def error(self, where: Where) -> ModelError:
        at = Where(where.file, None, self.path or where.path)
        return ModelError(self.problem, at, expected=self.expected, found=self.found, hint=self.hint)


def _counted(op: Callable[[Any], None]) -> Callable[[Any], None]:
    """An opcode that first counts against the budget: a pickle can make only so many objects."""

    def run(self: RestrictedUnpickler) -> None:
        self.ops += 1
        if self.ops > MAX_PICKLE_OPS:
            raise Refused("the pickle is larger than a state_dict's", f"over {MAX_PICKLE_OPS:,} opcodes")
        op(self)

    return run


class RestrictedUnpickler(pickle._Unpickler):
    """pickle.Unpickler that can build only dicts, lists, plain values and the records above.

    `storage(pid)` turns a persistent id into a StorageRecord: the file format decides where bytes are.
    """

    stack: list[Any]  # pickle._Unpickler's own state, undeclared in its stubs
    append: Callable[[Any], None]
    pop_mark: Callable[[], list[Any]]

    def __init__(self, file: PickleSource, storage: Callable[[Any], StorageRecord]) -> None:
        super().__init__(file, encoding="utf-8")
        self._storage = storage
        self._file = file
        self.ops = 0

    def find_class(self, module: str, name: str) -> Any:
        """The one place a pickle names code: only a state_dict's names, each mapped to a recorder here."""
        allowed = _ALLOWED.get((module, name))
        if allowed is not None:
            return allowed
        if module in ("torch", "torch.cuda") and name in STORAGES:
            return StorageType(name, STORAGES[name])
        if module == "torch" and name in TORCH_DTYPES:
            return TorchDtype(TORCH_DTYPES[name])
        what = "a class whose code" if name[:1].isupper() else "code that"
        named = f"{IMPORT_MAPPING.get(module, module)}.{name}"  # protocol 2 writes builtins as __builtin__
        problem = f"the pickle names {named}, {what} unpickling would run; a state_dict never needs it"
        raise Refused(f"{problem}, and nothing was run", f"{named}{self._at()}")

    def persistent_load(self, pid: Any) -> StorageRecord:
        return self._storage(pid)

    # ---- opcodes a state_dict never uses, or uses only one way ------------------------------
    def _build(self) -> None:
        state = self.stack.pop()
        inst = self.stack[-1]
        if type(inst) is StateDict and type(state) in (dict, StateDict) and set(state) <= {"_metadata"}:
            return  # state_dict._metadata holds module versions: nothing a trace needs
        raise Refused("the pickle sets an object's state, as a pickled class instance does",
                      f"BUILD of a {type(inst).__name__}{self._at()}")  # fmt: skip

    def _instance(self) -> NoReturn:
        raise Refused("the pickle builds an instance of a class", f"an object-building opcode{self._at()}")

    def _extension(self) -> NoReturn:
        raise Refused("the pickle names code through the copyreg extension registry", self._at().strip())

    def _buffer(self) -> NoReturn:
        raise Refused("the pickle uses out-of-band or preallocated buffers", self._at().strip())

    def _setitem(self) -> None:
        value = self.stack.pop()
        key = self.stack.pop()
        self._container()[self._key(key)] = value

    def _setitems(self) -> None:
        items = self.pop_mark()
        target = self._container()
        for i in range(0, len(items) - 1, 2):
            target[self._key(items[i])] = items[i + 1]

    def _dict(self) -> None:
        items = self.pop_mark()
        self.append({self._key(items[i]): items[i + 1] for i in range(0, len(items) - 1, 2)})

    def _additems(self) -> None:
        items = self.pop_mark()
        target = self.stack[-1]
        if type(target) is not set:
            raise Refused("the pickle adds items to something that is not a set", self._at().strip())
        target.update(self._key(item) for item in items)

    def _frozenset(self) -> None:
        self.append(frozenset(self._key(item) for item in self.pop_mark()))

    def _container(self) -> dict[Any, Any]:
        target = self.stack[-1]
        if type(target) not in (dict, StateDict):
            raise Refused("the pickle sets items of something that is not a dict", self._at().strip())
        return target  # type: ignore[no-any-return]

    def _key(self, key: Any) -> Any:
        """A dict key or set member: a plain value, or a flat tuple of them (nothing deep is ever hashed)."""
        if type(key) in PLAIN or (type(key) is tuple and all(type(k) in PLAIN for k in key)):
            return key
        raise Refused("the pickle uses a structured value as a dict key", f"a {type(key).__name__} key{self._at()}")

    def _at(self) -> str:
        try:
            return f" (byte {self._file.tell()} of the pickle)"
        except (OSError, ValueError, AttributeError):
            return ""


def _dispatch() -> dict[int, Callable[[Any], None]]:
    """pickle's opcode table with the replacements above, every opcode counted."""
    table: dict[int, Callable[[Any], None]] = dict(pickle._Unpickler.dispatch)
    cls = RestrictedUnpickler
    replaced = {
        pickle.BUILD: cls._build, pickle.SETITEM: cls._setitem, pickle.SETITEMS: cls._setitems,
        pickle.DICT: cls._dict, pickle.ADDITEMS: cls._additems, pickle.FROZENSET: cls._frozenset,
        **dict.fromkeys((pickle.INST, pickle.OBJ, pickle.NEWOBJ, pickle.NEWOBJ_EX), cls._instance),
        **dict.fromkeys((pickle.EXT1, pickle.EXT2, pickle.EXT4), cls._extension),
        **dict.fromkeys((pickle.NEXT_BUFFER, pickle.READONLY_BUFFER, pickle.BYTEARRAY8), cls._buffer),
    }  # fmt: skip
    table.update({op[0]: run for op, run in replaced.items()})
    return {code: _counted(run) for code, run in table.items()}


RestrictedUnpickler.dispatch = _dispatch()


def unpickle(file: PickleSource, storage: Callable[[Any], StorageRecord], where: Where) -> Any:
    """The object one pickle in `file` describes, built from the allow-list; a ModelError says why not.

    `where` names the pickle (the file, and data.pkl inside it) in every message.
    """
    try:
        return RestrictedUnpickler(file, storage).load()
    except Refused as refusal:
        raise refusal.error(where) from None
    except ModelError:
        raise
    except RecursionError:
        raise ModelError("the pickle is nested too deeply to read", where, hint=ADVICE) from None
    except MemoryError:
        raise ModelError("the pickle asks for more memory than a state_dict needs", where, hint=ADVICE) from None
    except Exception as exc:  # corruption surfaces as any of many exception types
        raise ModelError(
            "the pickle is corrupt or truncated",
            where,
            expected=EXPECTED,
            found=f"{type(exc).__name__}: {exc}",
        ) from None


def unpickle_bytes(data: bytes, storage: Callable[[Any], StorageRecord], where: Where) -> Any:
    """`unpickle` of a pickle held in memory (a zip archive's data.pkl)."""
    return unpickle(io.BytesIO(data), storage, where)


# ---- what the admitted names do: record, after checking ------------------------------------
def _integer(value: Any, what: str) -> int:
    if type(value) is not int or not 0 <= value <= MAX_SIZE:
        raise Refused(f"a tensor's {what} is not a size", short(value))
    return value


def _sizes(value: Any, what: str) -> tuple[int, ...]:
    if type(value) not in (tuple, list) or len(value) > MAX_DIMS:
        raise Refused(f"a tensor's {what} is not a tuple of sizes", short(value))
    return tuple(_integer(v, what) for v in value)


def short(value: Any) -> str:
    """A value from the pickle, for a message: a bounded repr of plain data, the type name of anything else."""
    return shown(value) if type(value) in (*PLAIN, tuple, list, dict) else type(value).__name__


def tensor(storage: Any, offset: Any, size: Any, stride: Any, dtype: str | None = None) -> TensorRecord:
    """A tensor record, after checking that every element it reads lies inside its storage."""
    if type(storage) is not StorageRecord:
        raise Refused("a tensor is rebuilt from something that is not a storage", type(storage).__name__)
    dtype = dtype or storage.dtype
    if dtype is None:
        raise Refused("an untyped storage is rebuilt without a dtype", storage.where)
    shape, strides, start = _sizes(size, "size"), _sizes(stride, "stride"), _integer(offset, "storage offset")
    if len(strides) != len(shape):
        raise Refused("a tensor's size and stride differ in length", f"size {shape}, stride {strides}",
                      path=storage.where)  # fmt: skip
    elements, end = math.prod(shape), extent(start, shape, strides)
    capacity = storage.nbytes // DTYPES[dtype][1]
    if end > capacity or elements > max(capacity, 1):
        raise Refused(
            "a tensor reaches past the end of its storage",
            f"offset {start}, size {shape}, stride {strides}: elements up to {max(end, elements)}",
            path=storage.where,
            expected=f"offset, sizes and strides within the storage's {capacity} elements",
            hint="the file is corrupt, or was made to mislead a reader",
        )
    return TensorRecord(storage, start, shape, strides, dtype)


def _plain_hooks(hooks: Any) -> None:
    if type(hooks) not in (dict, StateDict) or hooks:
        raise Refused("a tensor carries backward hooks, which are code", short(hooks))


def _rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any) -> TensorRecord:
    return tensor(storage, offset, size, stride)


def _rebuild_tensor_v2(
    storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any, hooks: Any, metadata: Any = None
) -> TensorRecord:
    _plain_hooks(hooks)
    if metadata:  # conjugate or negative view bits: the stored values are not the tensor's
        raise Refused("a tensor carries view metadata (a conjugate or negative bit)", short(metadata))
    return tensor(storage, offset, size, stride)


def _rebuild_tensor_v3(
    storage: Any,
    offset: Any,
    size: Any,
    stride: Any,
    requires_grad: Any,
    hooks: Any,
    dtype: Any,
    metadata: Any = None,
) -> TensorRecord:
    if type(dtype) is not TorchDtype:
        raise Refused("a tensor's dtype is not a torch dtype", short(dtype))
    if type(storage) is StorageRecord and storage.dtype is not None:
        raise Refused("_rebuild_tensor_v3 rebuilds from an untyped storage, not a typed one", storage.where)
    _plain_hooks(hooks)
    if metadata:
        raise Refused("a tensor carries view metadata (a conjugate or negative bit)", short(metadata))
    return tensor(storage, offset, size, stride, dtype.name)


def _rebuild_parameter(data: Any, requires_grad: Any, hooks: Any) -> TensorRecord:
    """An nn.Parameter saved as itself (not detached by state_dict()): its data."""
    _plain_hooks(hooks)
    if type(data) is not TensorRecord:
        raise Refused("a parameter is rebuilt from something that is not a tensor", type(data).__name__)
    return data


def _ordered_dict(*args: Any) -> StateDict:
    if args:  # torch pickles OrderedDict() empty and fills it by SETITEMS; arguments would be hashed unchecked
        raise Refused("OrderedDict is called with arguments", short(args))
    return StateDict()


_ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): _ordered_dict,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch.storage", "UntypedStorage"): StorageType("UntypedStorage", None),
}


def storage_type(value: Any) -> StorageType:
    """The storage class a persistent id names, as find_class mapped it."""
    if type(value) is not StorageType:
        raise Refused("a persistent id names something that is not a torch storage class", short(value))
    return value


def element_count(value: Any) -> int:
    """A storage's declared element count, a plain bounded integer."""
    if type(value) is not int or not 0 <= value <= MAX_SIZE:
        raise Refused("a storage's size is not a count", short(value))
    return value


def values(record: TensorRecord, data: bytes, little_endian: bool) -> np.ndarray:
    """The tensor's values as a new array, from the bytes of its span (bfloat16 widened exactly to float32).

    `tensor` checked the view against the storage's declared size; it is checked again against the bytes
    actually read, because as_strided trusts its arguments with memory.
    """
    code, itemsize = DTYPES[record.dtype]
    start, stop = record.span
    if len(data) != stop - start:
        raise ModelError("a tensor reaches past the bytes of its storage", Where(None, None, record.storage.where))
    flat = np.frombuffer(data, dtype=np.dtype(("<" if little_endian else ">") + code))
    view = np.lib.stride_tricks.as_strided(
        flat, shape=record.shape, strides=tuple(s * itemsize for s in record.stride), writeable=False
    )
    if record.dtype == "bfloat16":  # the high half of a float32: shifting it back is exact
        return (view.astype(np.uint32) << 16).view(np.float32)
    return view.astype(view.dtype.newbyteorder("="), copy=True)
