"""Canonical LSTM, GRU and RNN cells stepped over time, recording everything into `Run`s.

The engine knows no framework: it reads a `Network` and writes arrays. The
input products x·W for all steps are one matrix product; each step then adds
h·U and the biases, applies the activations block by block, and updates the
state, writing into preallocated arrays. `gate_terms` decides, once per cell,
which named terms each gate block sums; the engine adds exactly those, and the
run's record lists them, so nothing downstream works them out again.

A `Hook` sees each quantity of a step as soon as it is computed and may
replace it: `check` uses one to recompute a student's later values from their
own earlier ones.

Each kind of cell has a general path, a step at a time, that serves hooks and
--exact's fractions, and a fast loop for everything else that does the same
arithmetic in the same order, in place, with everything bound once
(tests/test_engine_fast.py holds the two equal bit for bit). The products run
on one BLAS thread (engine_threads.py says why) and the record's arrays start
on huge pages (engine_memory.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from . import engine_threads
from .activations import Activation
from .engine_memory import empty as record
from .engine_memory import empty_like as record_like
from .merge import merge
from .model import Cell, Network
from .trace import GateRecord, Op, Run, Term


class Hook(Protocol):
    def __call__(self, s: int, name: str, values: np.ndarray) -> None:
        """Step s's quantity `name` (`pre_i`, `i`, `c`, `h`, ...) was just computed into `values` (B, ·)."""


def _reset_after_product(cell: Cell, gate: str) -> bool:
    """A GRU candidate with reset_after: r scales h·U_n + b_rec, which are then one term, not two."""
    return cell.kind == "gru" and gate == "n" and cell.reset_after


def constant_terms(cell: Cell, gate: str) -> list[tuple[str, np.ndarray]]:
    """The constant terms a gate block adds, in the order a sum lists them: biases, TF1's forget_bias."""
    cols = cell.block(gate)
    terms = []
    if cell.bias is not None:
        terms.append(("b", cell.bias[cols]))
    if cell.recurrent_bias is not None and not _reset_after_product(cell, gate):
        terms.append(("b_rec", cell.recurrent_bias[cols]))
    if cell.runtime_bias is not None and cell.runtime_bias[cols].any():
        terms.append(("forget_bias", cell.runtime_bias[cols]))
    return terms


def gate_terms(cell: Cell, gate: str, arrays: _Arrays) -> tuple[Term, ...]:
    """Every term summed into `gate`'s pre-activation, in order, as views of the run's arrays."""
    cols = cell.block(gate)
    inside_reset = _reset_after_product(cell, gate)
    terms = [Term("xW", arrays.xw[..., cols])]
    if not inside_reset:
        terms.append(Term("hU", arrays.hu[..., cols]))
    terms += [Term(key, vector) for key, vector in constant_terms(cell, gate)]
    peep = arrays.extra.get("peep")
    if peep is not None and gate in "ifo":
        k = "ifo".index(gate)
        terms.append(Term("peephole", peep[..., k * cell.units : (k + 1) * cell.units]))
    if inside_reset:
        terms.append(Term("reset", arrays.extra["gated"]))
    return tuple(terms)


def summed_bias(cell: Cell) -> np.ndarray:
    """All constant terms of every block as one (G·H,) vector, added once per step."""
    parts = []
    for gate in cell.gates:
        total = np.zeros(cell.units, cell.kernel.dtype)
        for _, vector in constant_terms(cell, gate):
            total = total + vector
        parts.append(total)
    return np.concatenate(parts)


def _record(cell: Cell, a: _Arrays, active: np.ndarray | None) -> tuple[dict[str, GateRecord], tuple[Op, ...]]:
    """The run's record: each block's terms and operations, and the state update's operations, in order."""
    blocks = {}
    clipped = a.extra.get("pre_clipped")
    for gate in cell.gates:
        cols = cell.block(gate)
        ops = []
        if clipped is not None:
            ops.append(Op("clip", clipped[..., cols], bound=cell.pre_clip))
        if gate == "f" and cell.coupled_forget:
            ops.append(Op("one_minus", a.act[..., cols]))
        else:
            ops.append(Op("act", a.act[..., cols], cell.activation_of(gate)))
        blocks[gate] = GateRecord(gate, gate_terms(cell, gate, a), a.pre[..., cols], tuple(ops))
    h, extra, updates = a.h[1:], a.extra, []
    if cell.kind == "lstm":
        c = extra["c"][1:]
        if cell.cell_clip is not None:
            updates += [Op("cell_update", extra["c_unclipped"]), Op("cell_clip", c, bound=cell.cell_clip)]
        else:
            updates.append(Op("cell_update", c))
        updates.append(Op("act_c", extra["c_act"], cell.cell_activation))
        if cell.projection is not None:
            updates += [Op("output", extra["m"]), Op("projection", extra.get("p_unclipped", h))]
            if cell.proj_clip is not None:
                updates.append(Op("proj_clip", h, bound=cell.proj_clip))
        else:
            updates.append(Op("output", h))
    else:
        updates.append(Op("gru_update" if cell.kind == "gru" else "state", h))
    if active is not None:
        updates.append(Op("mask", active))
    return blocks, tuple(updates)


def run_network(
    net: Network, hooks: Mapping[tuple[int, int], Hook] | None = None, *, fast: bool = True
) -> tuple[tuple[Run, ...], ...]:
    """Every layer and direction, each layer reading the one below (directions concatenated).

    `hooks[(layer, direction)]`, both from 0, watches that run's steps. `fast=False` takes every step
    through the general path, which the fast loops must match bit for bit.
    """
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
                mask=net.mask,
                layer=depth + 1,
                direction="reverse" if net.backwards[d] else "forward",
                hook=(hooks or {}).get((depth, d)),
                fast=fast,
            )
            for d, cell in enumerate(cells)
        )
        layers.append(runs)
        if depth + 1 < len(net.cells):  # the next layer reads this one's outputs, its directions merged
            outs = [r.outputs_in_input_time() for r in runs]
            seq = outs[0] if len(outs) == 1 else merge(net.merge_mode(depth), *outs)
    return tuple(layers)


def run_cell(
    cell: Cell,
    inputs: np.ndarray,
    h0: np.ndarray,
    c0: np.ndarray | None,
    *,
    backwards: bool = False,
    lengths: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    layer: int = 1,
    direction: str = "forward",
    hook: Hook | None = None,
    fast: bool = True,
) -> Run:
    """One direction over a (B, T, F) sequence; `fast=False` as in `run_network`."""
    batch, steps, _ = inputs.shape
    reads = np.arange(steps)[::-1].copy() if backwards else np.arange(steps)
    dtype = inputs.dtype
    x = record((steps, batch, inputs.shape[2]), dtype)  # (T, B, F) in the order the steps read it
    np.copyto(x, inputs.transpose(1, 0, 2)[:: -1 if backwards else 1])
    width = len(cell.gates) * cell.units
    xw = record((steps, batch, width), dtype)
    hu = record_like(xw)
    pre = record_like(xw)
    act = record_like(xw)
    h = record((steps + 1, batch, h0.shape[-1]), dtype)
    step = _STEPPERS[cell.kind]
    extra = step.allocate(cell, hu, c0)
    blas = not dtype.hasobject  # --exact's fractions multiply in numpy's own loops
    with engine_threads.blas_threads(engine_threads.PRODUCT_THREADS, blas * x.size * width):
        np.matmul(x.reshape(-1, x.shape[-1]), cell.kernel, out=xw.reshape(-1, width))  # one product for all steps
    h[0] = h0
    active = None
    if lengths is not None:
        active = reads[:, None] < lengths[None, :]
    if mask is not None:  # (B, T) in input time → (T, B) in the order the steps read it
        used = np.asarray(mask, bool)[:, reads].T
        active = used if active is None else active & used
    arrays = _Arrays(xw, hu, pre, act, h, summed_bias(cell), extra, hook)
    with engine_threads.blas_threads(engine_threads.STEP_THREADS, blas * batch * cell.recurrent.size):
        if fast and hook is None and blas:
            step.fast_loop(cell, arrays, active)
        else:
            step.loop(cell, arrays, active)
    blocks, updates = _record(cell, arrays, active)
    return Run(layer, direction, cell, reads, x, xw, hu, pre, act, h, active=active, blocks=blocks, updates=updates,
               masked=mask is not None, **extra)  # fmt: skip


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
        return {"pre_clipped": record_like(hu)} if cell.pre_clip is not None else {}

    def loop(self, cell: Cell, arrays: _Arrays, active: np.ndarray | None) -> None:
        """The general path, step by step: any hook, and --exact's fractions."""
        for s in range(arrays.pre.shape[0]):
            self.step(cell, s, arrays)
            if active is not None:
                _hold(s, active[s], arrays.h, arrays.extra)
            if arrays.hook is not None:
                arrays.hook(s, "h", arrays.h[s + 1])

    def fast_loop(self, cell: Cell, arrays: _Arrays, active: np.ndarray | None) -> None:
        """All steps of a floating-point run with no hook, exactly as `loop` computes them."""
        self.loop(cell, arrays, active)

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
    hook: Hook | None = None


def _rows(vector: np.ndarray, batch: int) -> np.ndarray:
    """A (G·H,) constant as `batch` contiguous rows: a step adds it row for row, not broadcast, which is faster."""
    return np.ascontiguousarray(np.broadcast_to(vector, (batch, vector.shape[-1])))


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
        c = record((steps + 1, batch, cell.units), dtype)
        c[0] = c0 if c0 is not None else 0
        extra = {"c": c, "c_act": record(shape, dtype), **super().allocate(cell, hu, c0)}
        if cell.peepholes is not None:
            extra["peep"] = record((steps, batch, 3 * cell.units), dtype)
        if cell.projection is not None:
            extra["m"] = record(shape, dtype)
        if cell.cell_clip is not None:
            extra["c_unclipped"] = record(shape, dtype)
        if cell.projection is not None and cell.proj_clip is not None:
            extra["p_unclipped"] = record((steps, batch, cell.output_size), dtype)
        return extra

    def loop(self, cell: Cell, arrays: _Arrays, active: np.ndarray | None) -> None:
        """All steps, with everything the loop touches bound once: this loop is the engine's hot path."""
        width = cell.units
        i, f, g, o = slice(0, width), slice(width, 2 * width), slice(2 * width, 3 * width), slice(3 * width, None)
        xw, hu, pre, act, h, bias, extra, hook = (
            arrays.xw, arrays.hu, arrays.pre, arrays.act, arrays.h, arrays.bias, arrays.extra, arrays.hook
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
        rules = cell.rules
        # one call over the whole contiguous row beats three over strided blocks; g is redone after it
        whole_row = peep is None and gate.elementwise and clipped is None and not cell.coupled_forget and hook is None
        scratch, bias = np.empty_like(c[0]), _rows(bias, h.shape[1])
        # a ufunc over one gate's columns of a (B, 4H) row pays for each of the B rows, a copy of them far less:
        # g is computed into a contiguous buffer and copied out, i, f and o copied in before their products
        g_c, column = np.empty_like(c[0]), np.empty_like(c[0])
        act_i, act_f, act_g, act_o = act[..., i], act[..., f], act[..., g], act[..., o]
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
                if hook is not None:
                    for name, cols in (("pre_i", i), ("pre_f", f), ("pre_g", g)):
                        hook(s, name, pre_s[:, cols])
                source = _source(cell, pre_s, clipped_s, slice(0, 2 * width))
                if cell.coupled_forget:
                    _activate(gate, source, act_s, [i])
                    np.subtract(1, act_s[:, i], out=act_s[:, f])
                else:
                    _activate(gate, source, act_s, [i, f])
            main.apply(_source(cell, pre_s, clipped_s, g)[:, g], g_c)
            act_g[s] = g_c
            if hook is not None:
                for name, cols in (("i", i), ("f", f), ("g", g)):
                    hook(s, name, act_s[:, cols])
                g_c[...] = act_g[s]  # as the hook left it
            if rules.forget_term:
                column[...] = act_f[s]
                multiply(column, c[s], out=c_new)
            else:
                c_new[...] = 0
            if rules.input_gate:
                column[...] = act_i[s]
                multiply(column, g_c, out=scratch)
                c_new += scratch
            else:
                c_new += g_c
            if unclipped is not None:
                unclipped[s] = c_new
                np.clip(c_new, -cell.cell_clip, cell.cell_clip, out=c_new)  # type: ignore[operator]
            if hook is not None:
                hook(s, "c", c_new)
            if peep is not None:  # the output peephole sees the new, clipped c
                multiply(cell.peepholes[2], c_new, out=peep[s][:, 2 * width :])  # type: ignore[index]
                pre_s[:, o] += peep[s][:, 2 * width :]
            if not whole_row:
                if hook is not None:
                    hook(s, "pre_o", pre_s[:, o])
                _activate(gate, _source(cell, pre_s, clipped_s, o), act_s, [o])
                if hook is not None:
                    hook(s, "o", act_s[:, o])
            outer.apply(c_new if rules.new_cell_state else c[s], c_act[s])
            out = h[s + 1] if m is None else m[s]
            if rules.output_gate:
                column[...] = act_o[s]
                multiply(column, c_act[s], out=out)
            else:
                out[...] = c_act[s]
            if m is not None:
                matmul(m[s], cell.projection, out=h[s + 1])  # type: ignore[arg-type]
                if cell.proj_clip is not None:
                    extra["p_unclipped"][s] = h[s + 1]
                    np.clip(h[s + 1], -cell.proj_clip, cell.proj_clip, out=h[s + 1])
            if active is not None:
                _hold(s, active[s], h, extra)
            if hook is not None:
                hook(s, "h", h[s + 1])


class _GRU(_Stepper):
    def allocate(self, cell: Cell, hu: np.ndarray, c0: np.ndarray | None) -> dict[str, np.ndarray]:
        return {"gated": record((*hu.shape[:2], cell.units), hu.dtype), **super().allocate(cell, hu, c0)}

    def step(self, cell: Cell, s: int, a: _Arrays) -> None:
        z, r, n = (cell.block(name) for name in "zrn")
        zr = slice(z.start, r.stop)
        xw_s, hu_s, pre_s, act_s, h, bias, hook = a.xw[s], a.hu[s], a.pre[s], a.act[s], a.h, a.bias, a.hook
        gated = a.extra["gated"]
        rb = cell.recurrent_bias
        if cell.reset_after:
            np.matmul(h[s], cell.recurrent, out=hu_s)
        else:
            hu_s[:, zr] = h[s] @ cell.recurrent[:, zr]
        pre_s[:, zr] = xw_s[:, zr] + hu_s[:, zr] + bias[zr]
        if hook is not None:
            hook(s, "pre_z", pre_s[:, z])
            hook(s, "pre_r", pre_s[:, r])
        clipped = a.extra["pre_clipped"][s] if "pre_clipped" in a.extra else None
        _activate(cell.recurrent_activation, _source(cell, pre_s, clipped, zr), act_s, [z, r])
        if hook is not None:
            hook(s, "z", act_s[:, z])
            hook(s, "r", act_s[:, r])
        if cell.reset_after:  # r scales the recurrent product after it is taken
            gated[s] = act_s[:, r] * (hu_s[:, n] + rb[n] if rb is not None else hu_s[:, n])
            pre_s[:, n] = xw_s[:, n] + bias[n] + gated[s]
        else:  # r scales h before the product
            gated[s] = act_s[:, r] * h[s]
            hu_s[:, n] = gated[s] @ cell.recurrent[:, n]
            pre_s[:, n] = xw_s[:, n] + hu_s[:, n] + bias[n]
        if hook is not None:
            hook(s, "pre_n", pre_s[:, n])
        cell.activation.apply(_source(cell, pre_s, clipped, n)[:, n], act_s[:, n])
        if hook is not None:
            hook(s, "n", act_s[:, n])
        keep, take = (1 - act_s[:, z], act_s[:, z]) if cell.rules.update_swapped else (act_s[:, z], 1 - act_s[:, z])
        h[s + 1] = keep * h[s] + take * act_s[:, n]

    def fast_loop(self, cell: Cell, arrays: _Arrays, active: np.ndarray | None) -> None:
        """`step`'s arithmetic in the same order, written into the record, everything bound once.

        A ufunc over one gate's columns of a (B, 3H) row pays for each of the B rows, a copy of them far less:
        so z and r (together), the candidate's sum and n are each copied to or from a contiguous buffer once,
        and every activation, product and sum after the row's sum runs on those buffers.
        """
        width, batch = cell.units, arrays.h.shape[1]
        z, r, n, zr = slice(0, width), slice(width, 2 * width), slice(2 * width, None), slice(0, 2 * width)
        xw, hu, pre, act, h, extra = arrays.xw, arrays.hu, arrays.pre, arrays.act, arrays.h, arrays.extra
        gated, clipped = extra["gated"], extra.get("pre_clipped")
        recurrent, gate, main, after = cell.recurrent, cell.recurrent_activation, cell.activation, cell.reset_after
        # blocks over all steps, so that each step takes one view of each; biases as whole rows, added to
        # rows without broadcasting
        xw_zr, xw_n, hu_zr, hu_n = xw[..., zr], xw[..., n], hu[..., zr], hu[..., n]
        pre_zr, pre_n, act_n = pre[..., zr], pre[..., n], act[..., n]
        u_zr, u_n = recurrent[:, zr], recurrent[:, n]
        bias, bias_zr, bias_n = (_rows(arrays.bias[cols], batch) for cols in (slice(None), zr, n))
        rb_n = None if cell.recurrent_bias is None else _rows(cell.recurrent_bias[n], batch)
        swapped, one = cell.rules.update_swapped, h.dtype.type(1)
        # with the whole product taken first, z and r are summed over the contiguous row, which beats two
        # strided blocks (n's columns of that are scratch, summed again below), then copied as one block into
        # z_r, a contiguous (2, B, H) buffer, activated there and copied back
        whole_row = after and gate.elementwise and clipped is None
        z_r = np.empty((2, *h[0].shape), h.dtype)
        (z_c, r_c), z_r_rows = z_r, z_r.transpose(1, 0, 2)  # z_r_rows: (B, 2, H), as the record's rows hold them
        pre_zr3, act_zr3 = (a[..., zr].reshape(*a.shape[:2], 2, width) for a in (pre, act))
        sum_n, n_c, scratch = (np.empty_like(h[0]) for _ in range(3))
        gate_into, main_into = gate.into or gate.apply, main.into or main.apply  # no fractions come this way
        matmul, add, multiply, subtract = np.matmul, np.add, np.multiply, np.subtract
        for s in range(pre.shape[0]):
            h_s, h_new, hu_s, pre_s, act_s, gated_s = h[s], h[s + 1], hu[s], pre[s], act[s], gated[s]
            if after:
                matmul(h_s, recurrent, out=hu_s)
            else:
                matmul(h_s, u_zr, out=hu_zr[s])
            if whole_row:
                add(xw[s], hu_s, out=pre_s)
                pre_s += bias
                z_r_rows[...] = pre_zr3[s]
                gate_into(z_r, z_r)
                act_zr3[s] = z_r_rows
            else:
                add(xw_zr[s], hu_zr[s], out=pre_zr[s])
                pre_zr[s] += bias_zr
                _activate(gate, _source(cell, pre_s, None if clipped is None else clipped[s], zr), act_s, [z, r])
                z_r_rows[...] = act_zr3[s]
            sum_n[...] = xw_n[s]
            if after:  # r scales the recurrent product after it is taken: r ⊙ (h·U_n + b_rec_n)
                gated_s[...] = hu_n[s]
                if rb_n is not None:
                    gated_s += rb_n
                multiply(r_c, gated_s, out=gated_s)
                sum_n += bias_n  # x·W_n + b_n + r ⊙ (...)
                sum_n += gated_s
            else:  # r scales h before the product: x·W_n + (r ⊙ h)·U_n + b_n
                multiply(r_c, h_s, out=gated_s)
                matmul(gated_s, u_n, out=scratch)
                hu_n[s] = scratch
                sum_n += scratch
                sum_n += bias_n
            pre_n[s] = sum_n
            main_into(sum_n if clipped is None else _source(cell, pre_s, clipped[s], n)[:, n], n_c)
            act_n[s] = n_c
            subtract(one, z_c, out=scratch)
            if swapped:  # h = (1 − z) ⊙ h + z ⊙ n
                multiply(scratch, h_s, out=h_new)
                multiply(z_c, n_c, out=scratch)
            else:  # h = z ⊙ h + (1 − z) ⊙ n
                multiply(z_c, h_s, out=h_new)
                multiply(scratch, n_c, out=scratch)
            h_new += scratch
            if active is not None:
                _hold(s, active[s], h, extra)


class _RNN(_Stepper):
    def step(self, cell: Cell, s: int, a: _Arrays) -> None:
        np.matmul(a.h[s], cell.recurrent, out=a.hu[s])
        np.add(a.xw[s], a.hu[s], out=a.pre[s])
        a.pre[s] += a.bias
        if a.hook is not None:
            a.hook(s, "pre_h", a.pre[s])
        clipped = a.extra["pre_clipped"][s] if "pre_clipped" in a.extra else None
        cell.activation.apply(_source(cell, a.pre[s], clipped, slice(None)), a.act[s])
        a.h[s + 1] = a.act[s]

    def fast_loop(self, cell: Cell, arrays: _Arrays, active: np.ndarray | None) -> None:
        """`step`'s arithmetic, everything bound once."""
        xw, hu, pre, act, h = arrays.xw, arrays.hu, arrays.pre, arrays.act, arrays.h
        bias = _rows(arrays.bias, h.shape[1])
        recurrent, apply, clipped = cell.recurrent, cell.activation.apply, arrays.extra.get("pre_clipped")
        matmul, add, every = np.matmul, np.add, slice(None)
        for s in range(pre.shape[0]):
            pre_s, act_s = pre[s], act[s]
            matmul(h[s], recurrent, out=hu[s])
            add(xw[s], hu[s], out=pre_s)
            pre_s += bias
            apply(pre_s if clipped is None else _source(cell, pre_s, clipped[s], every), act_s)
            h[s + 1] = act_s
            if active is not None:
                _hold(s, active[s], h, arrays.extra)


_STEPPERS: dict[str, _Stepper] = {"lstm": _LSTM(), "gru": _GRU(), "rnn": _RNN()}
