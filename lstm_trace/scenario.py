"""A scenario file, validated into a `Scenario` that holds the canonical network.

Everything that can be wrong with a scenario is found here, before anything
runs, and reported as a `ScenarioError`; the framework module checks its own
names and shapes. An exact scenario (`--exact`) holds its network as object
arrays of Fractions, each number as written, and is refused here when the
layer uses an activation that fractions cannot compute.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import frameworks
from .arrays import npz_arrays, to_array
from .errors import ScenarioError, Where, printable, unknown_name
from .model import Network
from .yamlio import MarkedDict, parse_yaml, read_text

if TYPE_CHECKING:
    from .expect import Expect
    from .gradients import Backward
    from .provenance import Origin

TOP_KEYS = (
    "title",
    "description",
    "framework",
    "layer",
    "config",
    "units",
    "activation",
    "recurrent_activation",
    "weights",
    "kernel",
    "recurrent_kernel",
    "bias",
    "initial_state",
    "inputs",
    "dtype",
    "expect",
    "backward",
    "module",
    "mask",
    "masking",
    "layers",
)
EXTRAS = ("mask", "masking", "layers")  # read by the frameworks that name them in their `extras` (Keras)
CONFIG_SHORTCUTS = ("units", "activation", "recurrent_activation")
WEIGHT_SHORTCUTS = ("kernel", "recurrent_kernel", "bias")
DTYPES = ("float32", "float64")


@dataclass(frozen=True, eq=False)
class Scenario:
    """A validated scenario: the user's words, the network they describe, and what the layer returns."""

    framework: str
    layer: str
    dtype: str
    config: Mapping[str, Any]
    network: Network
    header: str
    returns: frameworks.Returns  # the engine's runs → what the framework returns, for the validated options
    notes: tuple[str, ...] = ()
    inert: tuple[tuple[str, str], ...] = ()
    title: str | None = None
    description: str | None = None
    expect: Expect | None = None
    backward: Backward | None = None  # the loss or upstream gradients to take the backward pass from
    source: Path | None = None
    warnings: tuple[str, ...] = ()
    exact: bool = False  # the network holds Fractions: every number as written, computed exactly
    data: Any = None  # the mapping it was read from, kept for views that rebuild the layer with other numbers
    pinned: Mapping[str, Any] = field(default_factory=dict)  # what its numbers decided (frameworks.Built.pinned)

    @cached_property
    def origin(self) -> Origin:
        """Where each number of the scenario lands in the network (provenance.py), worked out when first asked:
        the page edits by it and the backward pass names its gradients by it."""
        from .provenance import sources_of

        return sources_of(self)

    @classmethod
    def from_dict(cls, data: Any, source: Path | None = None, exact: bool = False) -> Scenario:
        """Validate a mapping (parsed YAML, or built in Python with numpy arrays); `source` anchors file paths.

        With `exact`, the network's arrays are object arrays of Fractions: numbers parsed with
        `parse_yaml(..., exact=True)` as written, other floats by their shortest decimal.
        """
        return _build(data, source, exact)

    def with_numbers(self, data: Any) -> Scenario:
        """The same layer read from `data`, other numbers in the same places, keeping what this scenario's own
        numbers decided (a Keras Masking layer's mask): provenance.py follows numbers through it."""
        return _build(data, self.source, pinned=self.pinned)


def load(path: str | Path, exact: bool = False) -> Scenario:
    """Read and validate a scenario file; `exact` reads every number as the fraction it writes (0.1 is 1/10)."""
    file = Path(path)
    data = parse_yaml(read_text(file), file, exact=exact)
    return Scenario.from_dict(data, source=file, exact=exact)


def _build(data: Any, source: Path | None, exact: bool = False, pinned: Mapping[str, Any] | None = None) -> Scenario:
    top = Where(source, getattr(data, "line", None))
    if data is None:
        raise ScenarioError("the scenario is empty", top, expected="a YAML mapping with at least weights and inputs")
    if not isinstance(data, Mapping):
        raise ScenarioError("a scenario is a YAML mapping of keys", top, found=f"a {_kind(data)}")
    lines = data.line_of if isinstance(data, MarkedDict) else (lambda key: None)

    def where(key: str) -> Where:
        return Where(source, lines(key), key)

    for key in data:
        if key not in TOP_KEYS:
            raise unknown_name("key", str(key), TOP_KEYS, where(str(key)))
    framework = _choice(data.get("framework", "keras"), frameworks.NAMES, "framework", where("framework"))
    fw = frameworks.get(framework)
    module = _module(data, framework, where)
    data = _whole_npz(data, source, where)
    extras = _extras(data, fw, where, pinned)
    layer = "Sequential" if "layers" in extras else _layer(data.get("layer", "LSTM"), fw.layers, where("layer"))
    config = _merged(data, "config", CONFIG_SHORTCUTS, where)
    weights = {} if "layers" in extras else _weights(data, where)
    dtype = _dtype(data, fw.dtype_of(config), where)
    if "inputs" not in data:
        raise ScenarioError("missing key 'inputs'", top, expected="inputs: (T, F) or (B, T, F) nested lists")
    numbers = np.dtype(object) if exact else np.dtype(dtype)  # object: Fractions
    inputs = _inputs(data["inputs"], where("inputs"), source, numbers)
    state = data.get("initial_state")
    state = {} if state is None else state  # [] or false is not "no initial state": refused below
    if not isinstance(state, Mapping):
        raise ScenarioError("initial_state must be a mapping", where("initial_state"), found=f"a {_kind(state)}")
    raw = frameworks.Raw(
        layer=layer,
        config=config,
        weights=weights,
        initial_state=state,
        inputs=inputs,
        dtype=numbers,
        file=source,
        lines={key: lines(key) for key in TOP_KEYS},
        module=module,
        extras=extras,
    )
    raw.check_finite(inputs, where("inputs"))
    built = fw.build(raw)
    network = built.network
    if exact:
        from .exact import exact_network, refuse_inexact

        refuse_inexact(fw, layer, network, config, where)
        network = exact_network(network)
    expect = None
    if data.get("expect") is not None:
        from .expect import parse_expect  # only scenarios with an expect block pay for it

        expect = parse_expect(data["expect"], network, where("expect"))
    backward = None
    if data.get("backward") is not None:
        from .gradients import parse_backward

        backward = parse_backward(data["backward"], where("backward"), source.parent if source else None, numbers)
    return Scenario(
        framework=framework,
        layer=layer,
        dtype=dtype,
        config=built.config,
        network=network,
        header=built.header,
        returns=built.returns,
        notes=built.notes,
        inert=built.inert,
        title=_text(data, "title", where),
        description=_text(data, "description", where),
        expect=expect,
        backward=backward,
        source=source,
        warnings=tuple(raw.warnings),
        exact=exact,
        data=data,
        pinned=built.pinned,
    )


def _extras(data: Mapping[str, Any], fw: Any, where: Any, pinned: Mapping[str, Any] | None) -> dict[str, Any]:
    """The top-level keys only some frameworks read (Keras's mask, masking and layers), refused elsewhere."""
    extras = {key: data[key] for key in EXTRAS if key in data}
    for key in extras:
        if key not in getattr(fw, "extras", ()):
            raise ScenarioError(
                f"{key} is not read by framework {fw.name}", where(key), hint=f"{key} is Keras's: framework: keras"
            )
    if "layers" in extras:  # a stack: each entry holds its own layer, config, weights and initial state
        for key in ("layer", "config", "weights", "initial_state", *CONFIG_SHORTCUTS, *WEIGHT_SHORTCUTS):
            if key in data:
                raise ScenarioError(
                    f"{key} belongs in an entry of layers", where(key), hint="each entry of layers has its own"
                )
    return {**extras, "pinned": pinned} if pinned else extras


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, list):
        return "list"
    return "string" if isinstance(value, str) else type(value).__name__


def _text(data: Mapping[str, Any], key: str, where: Any) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return printable(value)
    raise ScenarioError("must be text", where(key), found=repr(value))


def _choice(value: Any, valid: tuple[str, ...], what: str, where: Where) -> str:
    if not isinstance(value, str):
        raise ScenarioError(f"{what} must be a name", where, expected="one of " + ", ".join(valid), found=repr(value))
    name = value.strip().lower()
    name = frameworks.ALIASES.get(name, name)
    if name in valid:
        return name
    if name in frameworks.PLANNED:
        raise ScenarioError(
            f"the {what} {value!r} is part of the scenario format but not available in this version",
            where,
            expected="one of " + ", ".join(valid),
        )
    raise unknown_name(what, value, valid, where)


def _layer(value: Any, valid: tuple[str, ...], where: Where) -> str:
    if not isinstance(value, str):
        raise ScenarioError("layer must be a name", where, expected="one of " + ", ".join(valid), found=repr(value))
    short = value.strip().rsplit(".", 1)[-1]
    for name in valid:
        if name.lower() == short.lower():
            return name
    raise unknown_name("layer", value, valid, where)


def _merged(data: Mapping[str, Any], section: str, shortcuts: tuple[str, ...], where: Any) -> MarkedDict:
    """A section with its top-level shortcuts folded in; the same key twice must agree."""
    given = data.get(section)
    if given is None:
        given = {}
    if not isinstance(given, Mapping):
        raise ScenarioError(f"{section} must be a mapping", where(section), found=f"a {_kind(given)}")
    out = MarkedDict(given)
    out.line = getattr(given, "line", None)
    out.key_lines = dict(getattr(given, "key_lines", {}))
    for key in shortcuts:
        if key in data:
            if key in out and out[key] != data[key]:
                raise ScenarioError(
                    f"{key} is given twice with different values",
                    where(key),
                    found=f"{key}: {data[key]!r} at the top, {key}: {out[key]!r} in {section}",
                )
            out[key] = data[key]
            line = where(key).line
            if line is not None:
                out.key_lines[key] = line
    return out


def _weights(data: Mapping[str, Any], where: Any) -> Any:
    weights = data.get("weights")
    if isinstance(weights, list):  # a get_weights() list; shortcuts cannot be mixed in
        mixed = [key for key in WEIGHT_SHORTCUTS if key in data]
        if mixed:
            raise ScenarioError(
                f"{mixed[0]} at the top cannot be added to a get_weights() list",
                where(mixed[0]),
                expected="the weights once: the list, or weights by name with the top-level shortcuts",
                hint="the list already holds every weight in order; leave out the top-level " + " and ".join(mixed),
            )
        return weights
    if weights is None and not any(k in data for k in WEIGHT_SHORTCUTS):
        raise ScenarioError(
            "missing key 'weights'",
            Where(where("weights").file, None, ""),
            expected="weights: {kernel: ..., recurrent_kernel: ..., bias: ...} in the framework's names",
        )
    return _merged(data, "weights", WEIGHT_SHORTCUTS, where)


def _module(data: Mapping[str, Any], framework: str, where: Any) -> str | None:
    """`module:` names the torch module whose entries of a whole state_dict are traced (`lstm` for `lstm.*`)."""
    value = data.get("module")
    if value is None:
        return None
    if framework != "torch":
        raise ScenarioError(
            f"module picks a module of a torch state_dict; framework {framework} has none",
            where("module"),
            hint="leave module out, or set framework: torch",
        )
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # nn.Sequential names its modules 0, 1, ...
    if not isinstance(value, str) or not value.strip(". "):
        raise ScenarioError(
            "module must be a module's name", where("module"), expected="its state_dict prefix, e.g. lstm",
            found=repr(value),
        )  # fmt: skip
    return value.strip().rstrip(".")


def _whole_npz(data: Mapping[str, Any], source: Path | None, where: Any) -> Mapping[str, Any]:
    """`weights: {npz: file}` read into the mapping it stands for: every array of the file by its key.

    The scenario keeps that mapping, so that each array is one of its numbers' sources (provenance.py).
    """
    weights = data.get("weights")
    if not (isinstance(weights, Mapping) and "npz" in weights and "key" not in weights):
        return data
    arrays = npz_arrays(weights, where("weights"), source.parent if source else None)
    expanded = MarkedDict(arrays)
    expanded.line = getattr(weights, "line", None)
    expanded.key_lines = {key: expanded.line for key in arrays}
    out = MarkedDict(data)
    out.line = getattr(data, "line", None)
    out.key_lines = dict(getattr(data, "key_lines", {}))
    out["weights"] = expanded
    return out


def _dtype(data: Mapping[str, Any], from_config: str | None, where: Any) -> str:
    top = data.get("dtype")
    if top is not None and top not in DTYPES:
        raise unknown_name("dtype", str(top), DTYPES, where("dtype"))
    if from_config is not None:
        name = from_config
        if name not in DTYPES:
            raise ScenarioError(
                "unsupported dtype policy",
                Where(where("config").file, where("config").line, "config.dtype"),
                expected="float32 or float64",
                found=name,
                hint="mixed precision computes in float16; trace the float32 or float64 layer",
            )
        if top is not None and top != name:
            raise ScenarioError(
                "dtype disagrees with config.dtype", where("dtype"), found=f"dtype: {top}, config.dtype: {name}"
            )
        return name
    return str(top or "float32")


def _inputs(value: Any, where: Where, source: Path | None, dtype: np.dtype) -> np.ndarray:  # type: ignore[type-arg]
    array = to_array(value, where, source.parent if source else None, dtype)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or 0 in array.shape:
        raise ScenarioError(
            "inputs must be one sequence or a batch of them",
            where,
            expected="(T, F): T steps of F features, or (B, T, F), with every size at least 1",
            found=f"shape {array.shape}",
        )
    return array
