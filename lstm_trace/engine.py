"""Canonical LSTM, GRU and RNN cells stepped over time, recording everything into `Run`s.

The engine knows no framework: it reads a `Network` and writes arrays. The
input products x·W for all steps are one matrix product; each step then adds
h·U and the biases, applies the activations block by block, and updates the
state, writing into preallocated arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import Activation
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
                direction="reverse" if net.backwards[d] else "forward",
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
    extra = step.allocate(cell, hu, c0)
    helper = prefault([xw, hu, pre, act, h, *extra.values()])
    np.matmul(x.reshape(-1, x.shape[-1]), cell.kernel, out=xw.reshape(-1, width))  # one product for all steps
    h[0] = h0
    active = None
    if lengths is not None:
        active = reads[:, None] < lengths[None, :]
    step.loop(cell, _Arrays(xw, hu, pre, act, h, cell.total_bias(), extra), active)
    if helper is not None:
        helper.join()
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
    """One kind of cell: what it records besides the common arrays, and its steps."""

    def allocate(self, cell: Cell, hu: np.ndarray, c0: np.ndarray | None) -> dict[str, np.ndarray]:
        """Arrays this kind records besides the common ones, sized like `hu` (steps, batch, ...)."""
        return {"pre_clipped": np.empty_like(hu)} if cell.pre_clip is not None else {}

    def loop(self, cell: Cell, arrays: _Arrays, active: np.ndarray | None) -> None:
        for s in range(arrays.pre.shape[0]):
            self.step(cell, s, arrays)
            if active is not None:
                _hold(s, active[s], arrays.h, arrays.extra)

    def step(self, cell: Cell, s: int, a: _Arrays) -> None:
        raise NotImplementedError


@dataclass(frozen=True, eq=False)
class _Arrays:
    """The arrays one run records into, passed around as one."""

    xw: np.ndarray
    hu: np.ndarray
    pre: np.ndarray
    act: np.ndarray
    h: np.ndarray
    bias: np.ndarray
    extra: dict[str, np.ndarray]


def _source(cell: Cell, pre: np.ndarray, clipped: np.ndarray | None, cols: slice) -> np.ndarray:
    """What the activations of columns `cols` are given: the sums, or the sums clipped to ±pre_clip."""
    if clipped is None:
        return pre
    np.clip(pre[:, cols], -cell.pre_clip, cell.pre_clip, out=clipped[:, cols])  # type: ignore[operator]
    return clipped


def _activate(activation: Activation, pre: np.ndarray, act: np.ndarray, blocks: list[slice]) -> None:
    """An activation over adjacent gate blocks: one call when it is elementwise, else block by block."""
    if activation.elementwise:
        activation.apply(pre[:, blocks[0].start : blocks[-1].stop], act[:, blocks[0].start : blocks[-1].stop])
    else:
        for block in blocks:
            activation.apply(pre[:, block], act[:, block])


class _LSTM(_Stepper):
    def allocate(self, cell: Cell, hu: np.ndarray, c0: np.ndarray | None) -> dict[str, np.ndarray]:
        steps, batch, _ = hu.shape
        shape, dtype = (steps, batch, cell.units), hu.dtype
        c = np.empty((steps + 1, batch, cell.units), dtype)
        c[0] = c0 if c0 is not None else 0
        extra = {"c": c, "c_act": np.empty(shape, dtype), **super().allocate(cell, hu, c0)}
        if cell.peepholes is not None:
            extra["peep"] = np.empty((steps, batch, 3 * cell.units), dtype)
        if cell.projection is not None:
            extra["m"] = np.empty(shape, dtype)
        if cell.cell_clip is not None:
            extra["c_unclipped"] = np.empty(shape, dtype)
        return extra

    def loop(self, cell: Cell, arrays: _Arrays, active: np.ndarray | None) -> None:
        """All steps, with everything the loop touches bound once: this loop is the engine's hot path."""
        width = cell.units
        i, f, g, o = slice(0, width), slice(width, 2 * width), slice(2 * width, 3 * width), slice(3 * width, None)
        xw, hu, pre, act, h, bias, extra = (
            arrays.xw, arrays.hu, arrays.pre, arrays.act, arrays.h, arrays.bias, arrays.extra
        )  # fmt: skip
        c, c_act, peep, m, unclipped, clipped = (
            extra["c"],
            extra["c_act"],
            extra.get("peep"),
            extra.get("m"),
            extra.get("c_unclipped"),
            extra.get("pre_clipped"),
        )
        recurrent, gate, main, outer = cell.recurrent, cell.recurrent_activation, cell.activation, cell.cell_activation
        # one call over the whole contiguous row beats three over strided blocks; g is redone after it
        whole_row = peep is None and gate.elementwise and clipped is None and not cell.coupled_forget
        scratch = np.empty_like(c[0])
        matmul, add, multiply = np.matmul, np.add, np.multiply
        for s in range(pre.shape[0]):
            pre_s, act_s, c_new = pre[s], act[s], c[s + 1]
            clipped_s = None if clipped is None else clipped[s]
            matmul(h[s], recurrent, out=hu[s])
            add(xw[s], hu[s], out=pre_s)
            pre_s += bias
            if whole_row:
                gate.apply(pre_s, act_s)
            else:
                if peep is not None:  # the input and forget peepholes see the previous c
                    multiply(cell.peepholes[0], c[s], out=peep[s][:, i])  # type: ignore[index]
                    multiply(cell.peepholes[1], c[s], out=peep[s][:, f])  # type: ignore[index]
                    pre_s[:, : 2 * width] += peep[s][:, : 2 * width]
                source = _source(cell, pre_s, clipped_s, slice(0, 2 * width))
                if cell.coupled_forget:
                    _activate(gate, source, act_s, [i])
                    np.subtract(1, act_s[:, i], out=act_s[:, f])
                else:
                    _activate(gate, source, act_s, [i, f])
            main.apply(_source(cell, pre_s, clipped_s, g)[:, g], act_s[:, g])
            multiply(act_s[:, f], c[s], out=c_new)
            multiply(act_s[:, i], act_s[:, g], out=scratch)
            c_new += scratch
            if unclipped is not None:
                unclipped[s] = c_new
                np.clip(c_new, -cell.cell_clip, cell.cell_clip, out=c_new)  # type: ignore[operator]
            if peep is not None:  # the output peephole sees the new, clipped c
                multiply(cell.peepholes[2], c_new, out=peep[s][:, 2 * width :])  # type: ignore[index]
                pre_s[:, o] += peep[s][:, 2 * width :]
            if not whole_row:
                _activate(gate, _source(cell, pre_s, clipped_s, o), act_s, [o])
            outer.apply(c_new, c_act[s])
            if m is None:
                multiply(act_s[:, o], c_act[s], out=h[s + 1])
            else:
                multiply(act_s[:, o], c_act[s], out=m[s])
                matmul(m[s], cell.projection, out=h[s + 1])  # type: ignore[arg-type]
                if cell.proj_clip is not None:
                    np.clip(h[s + 1], -cell.proj_clip, cell.proj_clip, out=h[s + 1])
            if active is not None:
                _hold(s, active[s], h, extra)


class _GRU(_Stepper):
    def allocate(self, cell: Cell, hu: np.ndarray, c0: np.ndarray | None) -> dict[str, np.ndarray]:
        return {"gated": np.empty((*hu.shape[:2], cell.units), hu.dtype), **super().allocate(cell, hu, c0)}

    def step(self, cell: Cell, s: int, a: _Arrays) -> None:
        z, r, n = (cell.block(name) for name in "zrn")
        zr = slice(z.start, r.stop)
        xw_s, hu_s, pre_s, act_s, h, bias = a.xw[s], a.hu[s], a.pre[s], a.act[s], a.h, a.bias
        gated = a.extra["gated"]
        rb = cell.recurrent_bias
        if cell.reset_after:
            np.matmul(h[s], cell.recurrent, out=hu_s)
        else:
            hu_s[:, zr] = h[s] @ cell.recurrent[:, zr]
        pre_s[:, zr] = xw_s[:, zr] + hu_s[:, zr] + bias[zr]
        if cell.reset_after and rb is not None:
            pre_s[:, zr] += rb[zr]
        clipped = a.extra["pre_clipped"][s] if "pre_clipped" in a.extra else None
        _activate(cell.recurrent_activation, _source(cell, pre_s, clipped, zr), act_s, [z, r])
        if cell.reset_after:  # r scales the recurrent product after it is taken
            gated[s] = act_s[:, r] * (hu_s[:, n] + rb[n] if rb is not None else hu_s[:, n])
            pre_s[:, n] = xw_s[:, n] + bias[n] + gated[s]
        else:  # r scales h before the product
            gated[s] = act_s[:, r] * h[s]
            hu_s[:, n] = gated[s] @ cell.recurrent[:, n]
            pre_s[:, n] = xw_s[:, n] + hu_s[:, n] + bias[n]
        cell.activation.apply(_source(cell, pre_s, clipped, n)[:, n], act_s[:, n])
        update = act_s[:, z]
        h[s + 1] = update * h[s] + (1 - update) * act_s[:, n]


class _RNN(_Stepper):
    def step(self, cell: Cell, s: int, a: _Arrays) -> None:
        np.matmul(a.h[s], cell.recurrent, out=a.hu[s])
        np.add(a.xw[s], a.hu[s], out=a.pre[s])
        a.pre[s] += a.bias
        clipped = a.extra["pre_clipped"][s] if "pre_clipped" in a.extra else None
        cell.activation.apply(_source(cell, a.pre[s], clipped, slice(None)), a.act[s])
        a.h[s + 1] = a.act[s]


_STEPPERS: dict[str, _Stepper] = {"lstm": _LSTM(), "gru": _GRU(), "rnn": _RNN()}
