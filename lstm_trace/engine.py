"""Canonical LSTM, GRU and RNN cells stepped over time, recording everything into `Run`s.

The engine knows no framework: it reads a `Network` and writes arrays. The
input products x·W for all steps are one matrix product; each step then adds
h·U and the biases, applies the activations block by block, and updates the
state, writing into preallocated arrays.
"""

from __future__ import annotations

import numpy as np

from .model import Cell, Network
from .prefault import prefault
from .trace import Run


def run_network(net: Network) -> tuple[tuple[Run, ...], ...]:
    """Every layer and direction, each layer reading the one below (directions concatenated)."""
    layers: list[tuple[Run, ...]] = []
    seq = net.inputs
    for depth, cells in enumerate(net.cells):
        runs = tuple(
            run_cell(
                cell,
                seq,
                net.h0[depth][d],
                net.c0[depth][d],
                backwards=net.backwards[d],
                lengths=net.lengths,
                layer=depth + 1,
                direction="reverse" if d == 1 else "forward",
            )
            for d, cell in enumerate(cells)
        )
        layers.append(runs)
        if depth + 1 < len(net.cells):
            seq = np.concatenate([r.outputs_in_input_time() for r in runs], axis=-1)
    return tuple(layers)


def run_cell(
    cell: Cell,
    inputs: np.ndarray,
    h0: np.ndarray,
    c0: np.ndarray | None,
    *,
    backwards: bool = False,
    lengths: np.ndarray | None = None,
    layer: int = 1,
    direction: str = "forward",
) -> Run:
    """One direction over a (B, T, F) sequence."""
    batch, steps, _ = inputs.shape
    reads = np.arange(steps)[::-1].copy() if backwards else np.arange(steps)
    x = np.ascontiguousarray(inputs[:, reads, :].transpose(1, 0, 2))
    dtype = inputs.dtype
    width = len(cell.gates) * cell.units
    xw = np.empty((steps, batch, width), dtype)
    hu = np.empty_like(xw)
    pre = np.empty_like(xw)
    act = np.empty_like(xw)
    h = np.empty((steps + 1, batch, h0.shape[-1]), dtype)
    step = _STEPPERS[cell.kind]
    extra = step.allocate(cell, steps, batch, dtype, c0)
    helper = prefault([xw, hu, pre, act, h, *extra.values()])
    np.matmul(x, cell.kernel, out=xw)
    h[0] = h0
    active = None
    if lengths is not None:
        active = reads[:, None] < lengths[None, :]
    bias = cell.total_bias()
    for s in range(steps):
        step(cell, s, xw, hu, pre, act, h, bias, extra)
        if active is not None:
            _hold(s, active[s], h, extra)
    if helper is not None:
        helper.join()
    extra.pop("scratch", None)
    return Run(layer, direction, cell, reads, x, xw, hu, pre, act, h, active=active, **extra)


def _hold(s: int, active: np.ndarray, h: np.ndarray, extra: dict[str, np.ndarray]) -> None:
    """Masked rows keep their state: the step was not taken for them."""
    keep = ~active
    if keep.any():
        h[s + 1][keep] = h[s][keep]
        c = extra.get("c")
        if c is not None:
            c[s + 1][keep] = c[s][keep]


class _Stepper:
    """One kind of cell: what it records besides the common arrays, and one step of it."""

    def allocate(
        self,
        cell: Cell,
        steps: int,
        batch: int,
        dtype: np.dtype,
        c0: np.ndarray | None,  # type: ignore[type-arg]
    ) -> dict[str, np.ndarray]:
        return {}

    def __call__(
        self,
        cell: Cell,
        s: int,
        xw: np.ndarray,
        hu: np.ndarray,
        pre: np.ndarray,
        act: np.ndarray,
        h: np.ndarray,
        bias: np.ndarray,
        extra: dict[str, np.ndarray],
    ) -> None:
        raise NotImplementedError


class _LSTM(_Stepper):
    def allocate(self, cell, steps, batch, dtype, c0):  # type: ignore[no-untyped-def]
        shape = (steps, batch, cell.units)
        c = np.empty((steps + 1, batch, cell.units), dtype)
        c[0] = c0 if c0 is not None else 0
        extra = {"c": c, "c_act": np.empty(shape, dtype), "scratch": np.empty((batch, cell.units), dtype)}
        if cell.peepholes is not None:
            extra["peep"] = np.empty((steps, batch, 3 * cell.units), dtype)
        if cell.projection is not None:
            extra["m"] = np.empty(shape, dtype)
        if cell.cell_clip is not None:
            extra["c_unclipped"] = np.empty(shape, dtype)
        return extra

    def __call__(self, cell, s, xw, hu, pre, act, h, bias, extra):  # type: ignore[no-untyped-def]
        np.matmul(h[s], cell.recurrent, out=hu[s])
        pre_s, act_s, c = pre[s], act[s], extra["c"]
        np.add(xw[s], hu[s], out=pre_s)
        pre_s += bias
        width = cell.units
        i, f, g, o = slice(0, width), slice(width, 2 * width), slice(2 * width, 3 * width), slice(3 * width, None)
        peep = extra.get("peep")
        if peep is None and cell.recurrent_activation.elementwise:
            # one call over the whole contiguous row is faster than three over strided blocks; g is redone below
            cell.recurrent_activation.apply(pre_s, act_s)
        else:
            if peep is not None:  # the input and forget peepholes see the previous c
                np.multiply(cell.peepholes[0], c[s], out=peep[s][:, i])
                np.multiply(cell.peepholes[1], c[s], out=peep[s][:, f])
                pre_s[:, : 2 * width] += peep[s][:, : 2 * width]
            cell.recurrent_activation.apply(pre_s[:, i], act_s[:, i])
            cell.recurrent_activation.apply(pre_s[:, f], act_s[:, f])
        cell.activation.apply(pre_s[:, g], act_s[:, g])
        scratch = extra["scratch"]
        np.multiply(act_s[:, f], c[s], out=c[s + 1])
        np.multiply(act_s[:, i], act_s[:, g], out=scratch)
        c[s + 1] += scratch
        if cell.cell_clip is not None:
            extra["c_unclipped"][s] = c[s + 1]
            np.clip(c[s + 1], -cell.cell_clip, cell.cell_clip, out=c[s + 1])
        if peep is not None:  # the output peephole sees the new, clipped c
            np.multiply(cell.peepholes[2], c[s + 1], out=peep[s][:, 2 * width :])
            pre_s[:, o] += peep[s][:, 2 * width :]
            cell.recurrent_activation.apply(pre_s[:, o], act_s[:, o])
        elif not cell.recurrent_activation.elementwise:
            cell.recurrent_activation.apply(pre_s[:, o], act_s[:, o])
        c_act = extra["c_act"][s]
        cell.activation.apply(c[s + 1], c_act)
        if cell.projection is None:
            np.multiply(act_s[:, o], c_act, out=h[s + 1])
            return
        np.multiply(act_s[:, o], c_act, out=extra["m"][s])
        h[s + 1] = extra["m"][s] @ cell.projection
        if cell.proj_clip is not None:
            np.clip(h[s + 1], -cell.proj_clip, cell.proj_clip, out=h[s + 1])


class _GRU(_Stepper):
    def allocate(self, cell, steps, batch, dtype, c0):  # type: ignore[no-untyped-def]
        return {"gated": np.empty((steps, batch, cell.units), dtype)}

    def __call__(self, cell, s, xw, hu, pre, act, h, bias, extra):  # type: ignore[no-untyped-def]
        z, r, n = (cell.block(name) for name in "zrn")
        zr = slice(z.start, r.stop)
        hu_s, pre_s, act_s = hu[s], pre[s], act[s]
        rb = cell.recurrent_bias
        if cell.reset_after:
            np.matmul(h[s], cell.recurrent, out=hu_s)
            pre_s[:, zr] = xw[s][:, zr] + hu_s[:, zr] + bias[zr]
            if rb is not None:
                pre_s[:, zr] += rb[zr]
            act_s[:, zr] = cell.recurrent_activation(pre_s[:, zr])
            inner = hu_s[:, n] + rb[n] if rb is not None else hu_s[:, n]
            extra["gated"][s] = act_s[:, r] * inner
        else:
            hu_s[:, zr] = h[s] @ cell.recurrent[:, zr]
            pre_s[:, zr] = xw[s][:, zr] + hu_s[:, zr] + bias[zr]
            act_s[:, zr] = cell.recurrent_activation(pre_s[:, zr])
            extra["gated"][s] = act_s[:, r] * h[s]
            hu_s[:, n] = extra["gated"][s] @ cell.recurrent[:, n]
        if cell.reset_after:
            pre_s[:, n] = xw[s][:, n] + bias[n] + extra["gated"][s]
        else:
            pre_s[:, n] = xw[s][:, n] + hu_s[:, n] + bias[n]
        act_s[:, n] = cell.activation(pre_s[:, n])
        update = act_s[:, z]
        h[s + 1] = update * h[s] + (1 - update) * act_s[:, n]


class _RNN(_Stepper):
    def __call__(self, cell, s, xw, hu, pre, act, h, bias, extra):  # type: ignore[no-untyped-def]
        np.matmul(h[s], cell.recurrent, out=hu[s])
        np.add(xw[s], hu[s], out=pre[s])
        pre[s] += bias
        act[s] = cell.activation(pre[s])
        h[s + 1] = act[s]


_STEPPERS: dict[str, _Stepper] = {"lstm": _LSTM(), "gru": _GRU(), "rnn": _RNN()}
