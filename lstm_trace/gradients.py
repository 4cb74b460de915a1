"""The scenario's `backward` block, and gradients for the whole layer under the scenario's own names.

A loss (or upstream gradients) gives dL/d of what the framework returns. Where
each returned number came from (a run's h or c at some step) is known from
provenance.py, so these gradients land on the runs' states; each run is then
undone step by step (backward.py), top layer first, since a layer's inputs are
the outputs of the one below. The canonical weights' gradients go back to the
scenario's own names and shapes the same way the weights came in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from .arrays import to_array
from .backward import BackRun, back_run
from .errors import ScenarioError, Where, unknown_name
from .merge import merge_back
from .provenance import returned_from

if TYPE_CHECKING:
    from .trace import Trace

LOSSES = ("half_squared_error", "mean_squared_error", "sum")
LOSS_KEYS = ("loss", "of", "target")


@dataclass(frozen=True, eq=False)
class Backward:
    """A validated `backward` block: upstream gradients by output name, or a loss on one output."""

    upstream: Mapping[str, np.ndarray] | None = None
    loss: str | None = None
    of: str | None = None
    target: np.ndarray | None = None
    where: Where = field(default_factory=Where)

    def describe(self) -> str:
        if self.loss is None:
            return "upstream gradients given for " + ", ".join(self.upstream or {})
        return {
            "half_squared_error": f"L = ½ Σ ({self.of} − target)²",
            "mean_squared_error": f"L = mean(({self.of} − target)²)",
            "sum": f"L = Σ {self.of}",
        }[self.loss]


@dataclass(frozen=True, eq=False)
class Gradients:
    """dL/d everything: per run (`runs`, mirroring the trace's), and under the scenario's own names."""

    backward: Backward
    loss: Any  # L, a number (a Fraction in an exact trace)
    upstream: Mapping[str, np.ndarray]  # dL/d each returned output, zeros where not given
    runs: tuple[tuple[BackRun, ...], ...]
    weights: Mapping[str, np.ndarray]
    inputs: np.ndarray  # (B, T, F), input time
    initial_state: Mapping[str, np.ndarray]

    @property
    def first(self) -> BackRun:
        return self.runs[0][0]

    def per_step(self) -> dict[str, np.ndarray]:
        """Layer 1 forward's total dL/dh_t and dL/dc_t of the state after each step, (B, T, ·)."""
        first = self.first
        out = {"h": first.dh[1:].transpose(1, 0, 2)}
        if first.dc is not None:
            out["c"] = first.dc[1:].transpose(1, 0, 2)
        return out


def parse_backward(data: Any, where: Where, source_dir: Any, dtype: np.dtype[Any]) -> Backward:
    """The block's shape and arrays; output names are checked against what the layer returns, after it runs."""
    if not isinstance(data, Mapping) or not data:
        raise ScenarioError(
            "backward must be a mapping",
            where,
            expected="upstream gradients by output name ({h: [...]}) or {loss: half_squared_error, of: h, "
            "target: [...]}",
            found=repr(data)[:60],
        )
    lines = getattr(data, "line_of", lambda key: None)
    if "loss" in data:
        for key in data:
            if key not in LOSS_KEYS:
                raise unknown_name("key of a loss", str(key), LOSS_KEYS, where.child(key, lines(key)))
        loss = data["loss"]
        if loss not in LOSSES:
            raise unknown_name("loss", str(loss), LOSSES, where.child("loss", lines("loss")))
        if not isinstance(data.get("of"), str):
            raise ScenarioError(
                "a loss names the output it is taken of",
                where.child("of", lines("of")),
                expected="of: one of the outputs (h, sequence, ...)",
                found=repr(data.get("of")),
            )
        target = None
        if loss != "sum":
            if "target" not in data:
                raise ScenarioError(f"{loss} needs a target", where, expected="target: an array shaped like the output")
            target = _finite(data["target"], where.child("target", lines("target")), source_dir, dtype)
        return Backward(loss=str(loss), of=data["of"], target=target, where=where)
    upstream = {
        str(name): _finite(value, where.child(name, lines(name)), source_dir, dtype) for name, value in data.items()
    }
    return Backward(upstream=upstream, where=where)


def _finite(value: Any, where: Where, source_dir: Any, dtype: np.dtype[Any]) -> np.ndarray:
    """An array of the block: a NaN or inf here would make every gradient NaN, so it is refused."""
    array = to_array(value, where, source_dir, dtype)
    if array.dtype != object and not np.isfinite(array).all():
        raise ScenarioError("a target or gradient must be finite", where, expected="finite numbers", found="NaN or inf")
    return array


def _upstream(spec: Backward, outputs: Mapping[str, np.ndarray]) -> tuple[Any, dict[str, np.ndarray]]:
    """(L, dL/d each output) for the block and the outputs the layer returned."""
    names = tuple(outputs)
    given = {spec.of: None} if spec.of is not None else dict(spec.upstream or {})
    for name in given:
        if name not in outputs:
            raise unknown_name("output", name, names, spec.where.child(name, spec.where.line))
    grads = {name: np.zeros_like(value) for name, value in outputs.items()}
    if spec.loss is None:
        loss: Any = 0
        for name, value in (spec.upstream or {}).items():
            value = _shaped(value, outputs[name], f"the gradient of {name}", spec.where)
            grads[name] = value.astype(outputs[name].dtype)
            loss = loss + (value * outputs[name]).sum()
        return loss, grads
    out = outputs[spec.of]  # type: ignore[index]
    if spec.loss == "sum":
        grads[spec.of] = np.ones_like(out)  # type: ignore[index]
        return out.sum(), grads
    assert spec.target is not None
    target = _shaped(spec.target, out, f"the target for {spec.of}", spec.where)
    diff = out - target.astype(out.dtype)
    if spec.loss == "half_squared_error":
        grads[spec.of] = diff  # type: ignore[index]
        return (diff * diff).sum() / 2, grads
    count = Fraction(1, diff.size) if out.dtype == object else out.dtype.type(1 / diff.size)
    grads[spec.of] = 2 * diff * count  # type: ignore[index]
    return (diff * diff).sum() * count, grads


def _shaped(value: np.ndarray, output: np.ndarray, what: str, where: Where) -> np.ndarray:
    """`value` in the output's shape; for a batch of one its batch axis may be left out, as in `expect`."""
    if value.shape == output.shape:
        return value
    if output.ndim and output.shape[0] == 1 and value.shape == output.shape[1:]:
        return value.reshape(output.shape)
    raise ScenarioError(
        "wrong shape",
        where,
        expected=f"{what}: shape {output.shape}, as the output",
        found=f"shape {value.shape}",
    )


def gradients(tr: Trace, spec: Backward) -> Gradients:
    """The whole backward pass of a traced layer."""
    loss, upstream = _upstream(spec, tr.outputs)
    offsets, codes, merged = returned_from(tr)
    dtype = tr.first.pre.dtype
    total = 1 + sum(getattr(run, w).size for run in tr.all_runs() for w in ("h", "c") if getattr(run, w) is not None)
    pool = np.zeros(total, dtype)
    merges = {m.name: m for m in tr.merges}
    for name, grad in upstream.items():
        if name in merged:  # undo the merge first: each direction's part gets its share
            mode, forward, backward = merged[name]
            parts = merge_back(mode, merges[name].forward, merges[name].backward, grad)
            for where, part in zip((forward, backward), parts, strict=True):
                np.add.at(pool, where.ravel(), part.ravel())
        else:
            np.add.at(pool, codes[name].ravel(), grad.ravel())
    pool[0] = 0  # code 0: a returned constant (a masked row's zeros), which no state made

    def outside(layer: int, d: int, which: str, shape: tuple[int, ...]) -> np.ndarray:
        """A run's share of the pool: its own slice, so the layer above may add into it in place."""
        start = offsets[f"{layer}.{d}.{which}"]
        return pool[start : start + int(np.prod(shape))].reshape(shape)

    layers: list[tuple[BackRun, ...]] = []
    above: np.ndarray | None = None  # dL/d this layer's outputs in input time, (B, T, width), from the layer above
    for depth in reversed(range(len(tr.runs))):
        backs, layer = [], tr.runs[depth]
        shares: tuple[np.ndarray, ...] = ()  # dL/d each direction's outputs (B, T, ·), input time
        if above is not None:
            outs = [r.outputs_in_input_time() for r in layer]
            mode = tr.scenario.network.merge_mode(depth)
            shares = (above,) if len(layer) == 1 else merge_back(mode, outs[0], outs[1], above)
        for d, run in enumerate(layer):
            dh_out = outside(depth, d, "h", run.h.shape)
            dc_out = None if run.c is None else outside(depth, d, "c", run.c.shape)
            if shares:
                dh_out[1:] += shares[d][:, run.reads].transpose(1, 0, 2)
            backs.append(back_run(run, dh_out, dc_out))
        layers.append(tuple(backs))
        above = sum((_input_time(b) for b in backs), start=np.zeros_like(tr.runs[depth][0].x.transpose(1, 0, 2)))
    backward_runs = tuple(reversed(layers))
    assert above is not None
    weights, state = _named(tr, backward_runs, above)
    fed = tr.scenario.origin.codes.get("inputs")  # 0 where the layer read a constant, not x (a Masking layer's 0)
    if fed is not None and fed.size == above.size and not fed.all():
        above = np.where(fed.reshape(above.shape) > 0, above, np.zeros((), above.dtype))
    return Gradients(spec, loss, upstream, backward_runs, weights, above, state)


def _input_time(back: BackRun) -> np.ndarray:
    """A run's dL/dx, (T, B, F) in its processing order, as (B, T, F) in input time."""
    out = np.empty_like(back.dx)
    out[back.run.reads] = back.dx
    return out.transpose(1, 0, 2)


def _named(
    tr: Trace, runs: tuple[tuple[BackRun, ...], ...], inputs: np.ndarray
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Canonical gradients summed back onto the scenario's own arrays: (weights, initial_state) by name."""
    origin = tr.scenario.origin
    if origin.why_not is not None:
        raise ScenarioError(f"the gradients cannot be given under the scenario's names: {origin.why_not}")
    canonical: dict[str, np.ndarray] = {"inputs": inputs}
    for depth, layer in enumerate(runs):
        for d, back in enumerate(layer):
            for name, grad in back.grads.items():
                canonical[f"{depth}.{d}.{name}"] = grad
            canonical[f"{depth}.{d}.h0"] = back.dh[0]
            if back.dc is not None:
                canonical[f"{depth}.{d}.c0"] = back.dc[0]
    total = 1 + sum(int(np.prod(s.shape)) for s in origin.sources)
    pool = np.zeros(total, inputs.dtype)
    for ident, codes in origin.codes.items():
        if ident in canonical:
            np.add.at(pool, codes, np.asarray(canonical[ident]).ravel())
    weights: dict[str, np.ndarray] = {}
    state: dict[str, np.ndarray] = {}
    for source in origin.sources:
        size = int(np.prod(source.shape))
        value = pool[source.offset : source.offset + size].reshape(source.shape)
        if source.name == "inputs":
            continue
        (state if source.state else weights)[source.name] = value
    return weights, state
