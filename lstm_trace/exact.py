"""`--exact`: the trace computed with fractions, every number taken as written (0.1 is 1/10).

The same engine runs, on numpy object arrays that hold `fractions.Fraction`s:
numpy's matmul, add, multiply and clip compute on them exactly. Numbers come
from their decimal text where there is one (YAML, .csv cells); a stored float
(.npy, .npz, a float passed to the Python API) counts as the shortest decimal
that reads back to it in its own dtype. Only activations that are piecewise
rational can be computed so (`Activation.exact`); a layer that uses any other
is refused before anything runs.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import ScenarioError, Where
from .yamlio import WrittenFloat

if TYPE_CHECKING:
    from .activations import Activation
    from .frameworks import Framework
    from .model import Cell, Network


class NotFinite(ValueError):
    """NaN or inf: no fraction is either."""


def fraction(value: Any) -> Fraction:
    """A number as an exact fraction: YAML's `0.1` is 1/10, a stored float its shortest decimal."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, WrittenFloat):
        return Fraction(value.text)
    if isinstance(value, (bool, np.bool_)):
        raise TypeError("a boolean is not a number")
    if isinstance(value, (int, np.integer)):
        return Fraction(int(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise NotFinite(str(value))
        return Fraction(value)
    if isinstance(value, np.floating):  # numpy prints the shortest digits that read back in the value's own dtype
        if not np.isfinite(value):
            raise NotFinite(str(value))
        return Fraction(str(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotFinite(repr(value))
        return Fraction(repr(value))
    raise TypeError(f"{type(value).__name__} {value!r} is not a number")


def fraction_array(array: np.ndarray) -> np.ndarray:
    """Any numeric array as an object array of Fractions, the same shape.

    Raises NotFinite (with `.index` set) at the first NaN or inf.
    """
    out = np.empty(array.shape, dtype=object)
    flat = out.reshape(-1)
    # a float array's values stay numpy scalars of its dtype, so a float32 0.1 reads as 0.1
    items = array.reshape(-1) if array.dtype.kind == "f" else array.reshape(-1).tolist()
    for k, value in enumerate(items):
        try:
            flat[k] = fraction(value)
        except NotFinite as exc:
            exc.index = tuple(int(i) for i in np.unravel_index(k, array.shape))  # type: ignore[attr-defined]
            raise
    return out


# ---- the network ---------------------------------------------------------------------------------


def exact_network(net: Network) -> Network:
    """The network with every array and number it computes with made Fractions (zeros included)."""

    def arr(array: np.ndarray | None) -> np.ndarray | None:
        return None if array is None else fraction_array(array)

    def num(value: Any) -> Fraction | None:
        return None if value is None else fraction(value)

    def cell(c: Cell) -> Cell:
        changes: dict[str, Any] = {
            "kernel": arr(c.kernel),
            "recurrent": arr(c.recurrent),
            **{name: arr(getattr(c, name)) for name in ("bias", "recurrent_bias", "runtime_bias")},
            **{name: arr(getattr(c, name)) for name in ("peepholes", "projection")},
            **{name: num(getattr(c, name)) for name in ("cell_clip", "proj_clip", "pre_clip")},
        }
        return dataclasses.replace(c, **changes)

    return dataclasses.replace(
        net,
        cells=tuple(tuple(cell(c) for c in layer) for layer in net.cells),
        inputs=fraction_array(net.inputs),
        h0=tuple(tuple(fraction_array(h) for h in layer) for layer in net.h0),
        c0=tuple(tuple(arr(c) for c in layer) for layer in net.c0),
    )


# ---- which layers can run exactly ----------------------------------------------------------------

WHY_NOT = {"squareplus": "a square root"}  # every other inexact activation involves e^x, tanh or erf


def used_activations(cell: Cell) -> Iterator[tuple[str, Activation]]:
    """(role, activation) for every activation the cell's steps apply: gates, candidate, cell output."""
    if cell.kind != "rnn":
        yield "recurrent", cell.recurrent_activation
    yield "activation", cell.activation
    if cell.kind == "lstm" and cell.output_activation is not None:
        yield "output", cell.output_activation


def computable(net: Network) -> bool:
    """Whether fractions can compute every activation the network applies."""
    return all(act.exact is not None for cells in net.cells for cell in cells for _, act in used_activations(cell))


def refuse_inexact(
    framework: Framework, layer: str, net: Network, config: Mapping[str, Any], where: Callable[[str], Where]
) -> None:
    """A ScenarioError (exit 2) naming the first activation the layer uses that fractions cannot compute."""
    for cells in net.cells:
        for cell in cells:
            for role, act in used_activations(cell):
                if act.exact is not None:
                    continue
                option = framework.activation_option(layer, cell.kind, role)
                why = WHY_NOT.get(act.name, "transcendental")
                if option.key is not None and option.key not in config:
                    why = f"the default; {why}"
                raise ScenarioError(
                    f"--exact needs activations computable with fractions; this layer's {option.field} is "
                    f"{act.name} ({why}). Exact activations: {', '.join(framework.exact_activations())}",
                    where("layer") if option.key is None else _config_where(config, option.key, where),
                    hint=option.hint,
                )


def _config_where(config: Mapping[str, Any], key: str, where: Callable[[str], Where]) -> Where:
    line_of = getattr(config, "line_of", None)
    line = line_of(key) if line_of is not None else None
    return where("config").child(key, line)


# ---- comparing -------------------------------------------------------------------------------------


def within(want: np.ndarray, got: np.ndarray, tolerance: float) -> np.ndarray:
    """|want − got| ≤ tolerance, computed exactly (tolerance 0: equal); the tolerance taken as written."""
    tol = fraction(tolerance)
    flat = [abs(fraction(w) - fraction(g)) <= tol for w, g in zip(want.reshape(-1), got.reshape(-1), strict=True)]
    return np.array(flat, dtype=bool).reshape(got.shape)
