"""Activations by name, computed in the scenario's dtype.

Frameworks disagree about some names (Keras 2's hard_sigmoid is 0.2x + 1/2,
Keras 3's is x/6 + 1/2), so each framework module picks its own table from the
pieces here; the engine only ever sees an `Activation` object.

An activation that is piecewise rational (linear, relu, hard_sigmoid, ...) also
has an `exact` form over Fractions, which `--exact` runs on object arrays; its
constants are Fractions too (Keras 2's 0.2 is 1/5).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from .exact import NotFinite, fraction

Array = np.ndarray


@dataclass(frozen=True)
class Activation:
    """A named elementwise function, with the formula shown to the reader.

    `into`, where given, writes the result into a preallocated array without
    temporaries; the engine uses it for the activations that every LSTM runs.
    `exact`, where given, computes over an object array of Fractions exactly;
    `apply` and calling use it whenever the array holds objects.
    """

    name: str
    formula: str
    fn: Callable[[Array], Array] = field(compare=False, repr=False)
    symbol: str = ""
    into: Callable[[Array, Array], None] | None = field(default=None, compare=False, repr=False)
    elementwise: bool = True  # softmax is not: it mixes the units of one gate
    exact: Callable[[Array], Array] | None = field(default=None, compare=False, repr=False)
    params: tuple[float, ...] = ()  # the constants of a family (hard_sigmoid's α, β): the page's engine needs them
    grad: Callable[[Array, Array], Array] | None = field(default=None, compare=False, repr=False)  # f′(x), given x, y

    def backward(self, x: Array, y: Array, dy: Array) -> Array:
        """dL/dx from dL/dy: the vector-Jacobian product, with the framework's own value at each kink.

        Elementwise it is dy ⊙ f′(x); softmax mixes a gate's units: y ⊙ (dy − Σ dy ⊙ y).
        """
        if not self.elementwise:  # softmax over the units of one gate block
            return y * (dy - (dy * y).sum(axis=-1, keepdims=True))
        if self.grad is None:
            raise TypeError(f"{self.name} has no derivative here")
        return dy * self.grad(x, y)

    @property
    def label(self) -> str:
        return self.symbol or self.name

    def __call__(self, x: Array) -> Array:
        if x.dtype == object:
            return self._exact(x)
        return self.fn(x)

    def apply(self, x: Array, out: Array) -> None:
        """out[...] = self(x), in place where the activation allows it."""
        if x.dtype == object:  # --exact: Fractions in, Fractions out
            out[...] = self._exact(x)
        elif self.into is not None:
            self.into(x, out)
        else:
            out[...] = self.fn(x)

    def _exact(self, x: Array) -> Array:
        if self.exact is None:
            raise TypeError(f"{self.name} cannot be computed with fractions")
        return self.exact(x)


def _erf(x: Array) -> Array:
    # numpy has no erf; math.erf is exact to double precision, which float64 traces need
    return np.asarray(np.frompyfunc(math.erf, 1, 1)(x.astype(np.float64)), dtype=np.float64)


def _sigmoid(x: Array) -> Array:
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


def _sigmoid_into(x: Array, out: Array) -> None:
    # e^-x overflows to inf for x < -88 in float32, and 1/inf is the right 0; trace() silences the warning
    np.negative(x, out=out)
    np.exp(out, out=out)
    out += 1
    np.reciprocal(out, out=out)


def _copy_into(x: Array, out: Array) -> None:
    out[...] = x


def _tanh_into(x: Array, out: Array) -> None:
    np.tanh(x, out=out)


def _softplus(x: Array) -> Array:
    return np.logaddexp(np.zeros((), x.dtype), x)


def _elu(x: Array, alpha: float = 1.0) -> Array:
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def _gelu(x: Array) -> Array:
    return (0.5 * x.astype(np.float64) * (1 + _erf(x / math.sqrt(2)))).astype(x.dtype)


def _softmax(x: Array) -> Array:
    shifted = x - x.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def _hard_sigmoid_k3(x: Array) -> Array:
    return np.clip(x / 6 + 0.5, 0, 1)


def _hard_sigmoid_k2(x: Array) -> Array:
    return np.clip(0.2 * x + 0.5, 0, 1)


_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


def _act(
    name: str,
    formula: str,
    fn: Callable[[Array], Array],
    symbol: str = "",
    exact: Callable[[Fraction], Fraction] | None = None,
    params: tuple[float, ...] = (),
    grad: Callable[[Array, Array], Array] | None = None,
) -> Activation:
    """An activation; `exact`, where given, is its value at one Fraction, applied to every element."""
    exact_fn = None if exact is None else _elementwise(exact)
    return Activation(name, formula, fn, symbol, exact=exact_fn, params=params, grad=grad)


# ---- exact forms: one Fraction in, one Fraction out, every constant a Fraction ----------------------

_ZERO, _ONE, _HALF = Fraction(0), Fraction(1), Fraction(1, 2)


def _elementwise(scalar: Callable[[Fraction], Fraction]) -> Callable[[Array], Array]:
    """An exact activation over an object array, one value at a time."""
    ufunc = np.frompyfunc(lambda v: scalar(Fraction(v)), 1, 1)  # a plain int 0 becomes Fraction(0): 0/6 stays exact

    def apply(x: Array) -> Array:
        out: Array = np.empty(x.shape, dtype=object)
        if out.size:
            ufunc(x, out=out)
        return out

    return apply


def _clip(v: Fraction, lo: Fraction, hi: Fraction) -> Fraction:
    return lo if v < lo else hi if v > hi else v


def _relu_exact(v: Fraction) -> Fraction:
    return v if v > 0 else _ZERO


def _hard_sigmoid_k3_exact(v: Fraction) -> Fraction:
    return _clip(v / 6 + _HALF, _ZERO, _ONE)


def _hard_sigmoid_k2_exact(v: Fraction) -> Fraction:
    return _clip(v * Fraction(1, 5) + _HALF, _ZERO, _ONE)  # Keras 2's 0.2 is 1/5


def _sparse_plus_exact(v: Fraction) -> Fraction:
    if v <= -1:
        return _ZERO
    return v if v >= 1 else (v + 1) ** 2 / 4


def _soft_shrink_exact(v: Fraction) -> Fraction:
    return v - _HALF if v > _HALF else v + _HALF if v < -_HALF else _ZERO


def _constants(*values: Any) -> tuple[Fraction, ...] | None:
    """Parameters as Fractions, as written; None where one has no fraction (NaN, inf)."""
    try:
        return tuple(fraction(v) for v in values)
    except (NotFinite, TypeError):
        return None


# ---- derivatives: f′(x) given x and y = f(x), in the array's dtype (Fractions for --exact) ------------
# At a kink each takes the value the frameworks' own gradients take: relu′(0) = 0; Keras 3's hard_sigmoid
# (relu6(x + 3)/6) has 0 at its corners, Keras 2's (a clip of 0.2·x + 1/2) has 0.2; a clip passes its bounds.


def _k(x: Array, value: float | Fraction) -> Any:
    """A constant in x's arithmetic: a Fraction for an exact (object) array, else the dtype's number."""
    return Fraction(value) if x.dtype == object else x.dtype.type(value)


def _where(mask: Array, x: Array, a: Any, b: Any) -> Array:
    out = np.where(mask, a, b)
    return out if x.dtype == object else out.astype(x.dtype)


def _one(x: Array, y: Array) -> Array:
    return _where(np.ones(x.shape, bool), x, _k(x, 1), _k(x, 0))


def _step(lo: float, hi: float, slope: float | Fraction, inclusive: bool) -> Callable[[Array, Array], Array]:
    """slope between lo and hi (bounds included or not), 0 outside: relu, the hard and clipped ones."""

    def grad(x: Array, y: Array) -> Array:
        inside = ((x >= lo) & (x <= hi)) if inclusive else ((x > lo) & (x < hi))
        return _where(inside, x, _k(x, slope), _k(x, 0))

    return grad


def _sigmoid_grad(x: Array, y: Array) -> Array:
    return y * (1 - y)


def _tanh_grad(x: Array, y: Array) -> Array:
    return 1 - y * y


def _elu_grad(alpha: float) -> Callable[[Array, Array], Array]:
    def grad(x: Array, y: Array) -> Array:
        with np.errstate(over="ignore"):
            return _where(x > 0, x, _k(x, 1), alpha * np.exp(np.minimum(x, 0)))

    return grad


def _gelu_grad(x: Array, y: Array) -> Array:
    wide = x.astype(np.float64)
    cdf = 0.5 * (1 + _erf(wide / math.sqrt(2)))
    return (cdf + wide * np.exp(-wide * wide / 2) / math.sqrt(2 * math.pi)).astype(x.dtype)


def _mish_grad(x: Array, y: Array) -> Array:
    t = np.tanh(_softplus(x))
    return t + x * (1 - t * t) * _sigmoid(x)


def _hard_silu_grad(x: Array, y: Array) -> Array:
    return _hard_sigmoid_k3(x) + x * _step(-3, 3, 1 / 6, False)(x, y)


def _sparse_plus_grad(x: Array, y: Array) -> Array:
    return _where(x <= -1, x, _k(x, 0), _where(x >= 1, x, _k(x, 1), (x + 1) / 2))


LINEAR = Activation("linear", "x", lambda x: x, into=_copy_into, exact=lambda x: x.copy(), grad=_one)
TANH = Activation("tanh", "tanh(x)", np.tanh, into=_tanh_into, grad=_tanh_grad)
SIGMOID = Activation("sigmoid", "1 / (1 + e^-x)", _sigmoid, "σ", into=_sigmoid_into, grad=_sigmoid_grad)
RELU = _act("relu", "max(x, 0)", lambda x: np.maximum(x, 0), exact=_relu_exact, grad=_step(0, math.inf, 1, False))
HARD_SIGMOID_K3 = _act(
    "hard_sigmoid",
    "clip(x/6 + 1/2, 0, 1)",
    _hard_sigmoid_k3,
    exact=_hard_sigmoid_k3_exact,
    params=(1 / 6, 0.5),
    grad=_step(-3, 3, Fraction(1, 6), False),
)
HARD_SIGMOID_K2 = _act(
    "hard_sigmoid",
    "clip(0.2·x + 1/2, 0, 1)",
    _hard_sigmoid_k2,
    exact=_hard_sigmoid_k2_exact,
    params=(0.2, 0.5),
    grad=_step(-2.5, 2.5, Fraction(1, 5), True),
)


def affine(alpha: float, beta: float) -> Activation:
    exact = None
    if (ab := _constants(alpha, beta)) is not None:
        a, b = ab
        exact = lambda v: a * v + b  # noqa: E731
    return _act(
        "affine",
        f"{alpha:g}·x + {beta:g}",
        lambda x: alpha * x + beta,
        exact=exact,
        params=(alpha, beta),
        grad=lambda x, y: _where(np.ones(x.shape, bool), x, _k(x, alpha), _k(x, 0)),
    )


def scaled_tanh(alpha: float, beta: float) -> Activation:
    return _act(
        "scaled_tanh",
        f"{alpha:g}·tanh({beta:g}·x)",
        lambda x: alpha * np.tanh(beta * x),
        params=(alpha, beta),
        grad=lambda x, y: alpha * beta * (1 - np.tanh(beta * x) ** 2),
    )


def hard_sigmoid(alpha: float, beta: float) -> Activation:
    """The general form; Keras 2 fixes it at 0.2·x + 1/2."""
    exact = None
    if (ab := _constants(alpha, beta)) is not None:
        a, b = ab
        exact = lambda v: _clip(a * v + b, _ZERO, _ONE)  # noqa: E731
    return _act(
        "hard_sigmoid",
        f"clip({alpha:g}·x + {beta:g}, 0, 1)",
        lambda x: np.clip(alpha * x + beta, 0, 1),
        exact=exact,
        params=(alpha, beta),
        grad=lambda x, y: _where((alpha * x + beta >= 0) & (alpha * x + beta <= 1), x, _k(x, alpha), _k(x, 0)),
    )


def leaky_relu(alpha: float) -> Activation:
    exact = None
    if (found := _constants(alpha)) is not None:
        a = found[0]
        exact = lambda v: v if v >= 0 else a * v  # noqa: E731
    return _act(
        "leaky_relu",
        f"x if x ≥ 0 else {alpha:g}·x",
        lambda x: np.where(x >= 0, x, alpha * x).astype(x.dtype),
        exact=exact,
        params=(alpha,),
        grad=lambda x, y: _where(x >= 0, x, _k(x, 1), _k(x, alpha)),
    )


def thresholded_relu(alpha: float) -> Activation:
    exact = None
    if (found := _constants(alpha)) is not None:
        a = found[0]
        exact = lambda v: v if v > a else _ZERO  # noqa: E731
    return _act(
        "thresholded_relu",
        f"x if x > {alpha:g} else 0",
        lambda x: np.where(x > alpha, x, 0).astype(x.dtype),
        exact=exact,
        params=(alpha,),
        grad=lambda x, y: _where(x > alpha, x, _k(x, 1), _k(x, 0)),
    )


def elu(alpha: float) -> Activation:
    return _act(
        "elu",
        f"x if x ≥ 0 else {alpha:g}·(e^x - 1)",
        lambda x: _elu(x, alpha).astype(x.dtype),
        params=(alpha,),
        grad=_elu_grad(alpha),
    )


COMMON: dict[str, Activation] = {
    a.name: a
    for a in [
        LINEAR,
        TANH,
        SIGMOID,
        RELU,
        _act(
            "relu6",
            "min(max(x, 0), 6)",
            lambda x: np.clip(x, 0, 6),
            exact=lambda v: _clip(v, _ZERO, Fraction(6)),
            grad=_step(0, 6, 1, False),
        ),
        _act("elu", "x if x > 0 else e^x - 1", _elu, params=(1.0,), grad=_elu_grad(1.0)),
        _act(
            "selu",
            "1.0507·(x if x > 0 else 1.6733·(e^x - 1))",
            lambda x: (_SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0)))).astype(x.dtype),
            grad=lambda x, y: (_SELU_SCALE * _elu_grad(_SELU_ALPHA)(x, y)).astype(x.dtype),
        ),
        _act("softplus", "log(1 + e^x)", _softplus, grad=lambda x, y: _sigmoid(x)),
        _act(
            "softsign",
            "x / (1 + |x|)",
            lambda x: x / (1 + np.abs(x)),
            exact=lambda v: v / (1 + abs(v)),
            grad=lambda x, y: 1 / ((1 + abs(x)) * (1 + abs(x))),
        ),
        _act("exponential", "e^x", np.exp, grad=lambda x, y: y),
        _act("silu", "x·σ(x)", lambda x: x * _sigmoid(x), grad=lambda x, y: _sigmoid(x) * (1 + x * (1 - _sigmoid(x)))),
        _act("gelu", "x·Φ(x) = x/2·(1 + erf(x/√2))", _gelu, grad=_gelu_grad),
        _act(
            "leaky_relu",
            "x if x > 0 else 0.2·x",
            lambda x: np.where(x > 0, x, 0.2 * x).astype(x.dtype),
            exact=lambda v: v if v > 0 else v * Fraction(1, 5),  # Keras's 0.2 is 1/5
            params=(0.2,),
            grad=lambda x, y: _where(x > 0, x, _k(x, 1), _k(x, Fraction(1, 5))),
        ),
        _act("mish", "x·tanh(log(1 + e^x))", lambda x: x * np.tanh(_softplus(x)), grad=_mish_grad),
        Activation("softmax", "e^x / Σ e^x over units", _softmax, elementwise=False),
    ]
}

KERAS3_ONLY: dict[str, Activation] = {
    a.name: a
    for a in [
        HARD_SIGMOID_K3,
        _act("log_sigmoid", "-log(1 + e^-x)", lambda x: -_softplus(-x), grad=lambda x, y: _sigmoid(-x)),
        _act(
            "hard_silu",
            "x·clip(x/6 + 1/2, 0, 1)",
            lambda x: x * _hard_sigmoid_k3(x),
            exact=lambda v: v * _hard_sigmoid_k3_exact(v),
            grad=_hard_silu_grad,
        ),
        _act(
            "hard_tanh",
            "clip(x, -1, 1)",
            lambda x: np.clip(x, -1, 1),
            exact=lambda v: _clip(v, -_ONE, _ONE),
            grad=_step(-1, 1, 1, False),
        ),
        _act("celu", "max(x, 0) + min(e^x - 1, 0)", _elu, grad=_elu_grad(1.0)),
        _act("tanh_shrink", "x - tanh(x)", lambda x: x - np.tanh(x), grad=lambda x, y: np.tanh(x) ** 2),
        _act(
            "squareplus",
            "(x + √(x² + 4)) / 2",
            lambda x: (x + np.sqrt(x * x + 4)) / 2,
            grad=lambda x, y: (1 + x / np.sqrt(x * x + 4)) / 2,
        ),
        _act(
            "soft_shrink",
            "x ∓ 0.5 beyond ±0.5, else 0",
            lambda x: np.sign(x) * np.maximum(np.abs(x) - 0.5, 0),
            exact=_soft_shrink_exact,
            grad=lambda x, y: _where(abs(x) > 0.5, x, _k(x, 1), _k(x, 0)),
        ),
        _act(
            "hard_shrink",
            "x beyond ±0.5, else 0",
            lambda x: np.where(np.abs(x) > 0.5, x, 0).astype(x.dtype),
            exact=lambda v: v if abs(v) > _HALF else _ZERO,
            grad=lambda x, y: _where(abs(x) > 0.5, x, _k(x, 1), _k(x, 0)),
        ),
        _act(
            "sparse_plus",
            "0 below -1, x above 1, else (x + 1)²/4",
            lambda x: np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4)).astype(x.dtype),
            exact=_sparse_plus_exact,
            grad=_sparse_plus_grad,
        ),
        _act(
            "sparse_sigmoid",
            "clip((x + 1)/2, 0, 1)",
            lambda x: np.clip((x + 1) / 2, 0, 1),
            exact=lambda v: _clip((v + 1) / 2, _ZERO, _ONE),
            grad=_step(-1, 1, Fraction(1, 2), False),
        ),
    ]
}
