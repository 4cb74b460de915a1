"""Backpropagation through time: the run's record played in reverse.

The forward record lists, per gate block, the terms summed and the operations
after the sum, and for the state the operations of its update in order. Going
back, each operation kind has one vector-Jacobian product (`_UPDATES`,
`_GATE_OPS`, `_TERMS`), which turns the gradient of its result into gradients of
its inputs; a step runs them in the reverse of the forward order. Adding an
operation to the engine means adding its rule here, in one place.

Gradients are held per step as adjoints: `adj["c"]` is dL/dc_t while step t is
being undone. What leaves a step for the one before it (dL/dh_{t−1}, dL/dc_{t−1})
and what each gate block received (δ after and before its activation) is
recorded over all steps, as the forward pass records its values, so views read
the backward pass the way they read the forward one. The weights' gradients are
sums over steps, taken at the end as one matrix product each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from .model import Cell, Rules
from .trace import Run

Adjoints = dict[str, np.ndarray]


@dataclass(frozen=True, eq=False)
class BackRun:
    """One run's backward pass over all steps, in the run's processing order (step s is t = s + 1).

    `dh[s]` is the total dL/dh_s (s = 0: the initial state), `dh_out[s]` the part of it that comes from
    outside the recurrence (the layer's outputs, the layer above), the rest from step s + 1. `dact` and
    `dpre` hold each gate's δ after and before its activation, `dhu` the δ of each block's recurrent
    product (a GRU's reset scales it), `dx` dL/dx_s. `grads` are the cell's canonical weights' gradients.
    `slope` is each gate's activation derivative where the step took it, act′(z) (0 where the activation
    is not elementwise, or f = 1 − i), so a view writes δz = δgate ⊙ act′(z) with the number the pass used;
    `c_slope` is act′ of the cell state the same way.
    """

    run: Run
    dh: np.ndarray  # (T+1, B, H_out)
    dh_out: np.ndarray  # (T+1, B, H_out)
    dact: np.ndarray  # (T, B, G·H)
    dpre: np.ndarray  # (T, B, G·H)
    dhu: np.ndarray  # (T, B, G·H)
    dx: np.ndarray  # (T, B, F)
    grads: dict[str, np.ndarray]
    dc: np.ndarray | None = None  # (T+1, B, H)
    dc_out: np.ndarray | None = None  # (T+1, B, H)
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # per-step adjoints of the state update: m, act_c, ...
    given_slopes: tuple[np.ndarray, np.ndarray | None] | None = field(default=None, repr=False)

    @cached_property
    def slopes(self) -> tuple[np.ndarray, np.ndarray | None]:
        """(act′ of each gate block (T, B, G·H), act′ of the cell state (T, B, H) or None), the numbers the pass
        multiplied by; kept where the pass had them whole, else worked out when a view first asks."""
        return self.given_slopes if self.given_slopes is not None else _slopes(self.run)

    @property
    def slope(self) -> np.ndarray:
        return self.slopes[0]

    @property
    def c_slope(self) -> np.ndarray | None:
        return self.slopes[1]

    def adds(self, s: int) -> dict[str, np.ndarray]:
        """What step s adds to each canonical weight's gradient (summed over batch rows): x_tᵀ·δz_t, ..."""
        return _weight_grads(self.run, self.dpre, self.dhu, self.extra, slice(s, s + 1))

    def quantity(self, name: str, s: int) -> np.ndarray:
        """Step s's (B, ·) δ of `name`: `h`, `c` (of the state after the step), `h_prev`, `c_prev`, a gate
        (`i`: after its activation), `pre_i` (before), `x`, an update's (`act_c`, `m`), or a gate's act′ (`slope_i`)."""
        if name in ("h", "h_prev"):
            return self.dh[s + (name == "h")]
        if name in ("c", "c_prev"):
            assert self.dc is not None
            return self.dc[s + (name == "c")]
        if name == "x":
            return self.dx[s]
        if name in self.extra:
            return self.extra[name][s]
        if name == "c_slope":
            assert self.c_slope is not None
            return self.c_slope[s]
        if name.startswith("slope_"):
            return self.slope[s][:, self.run.cell.block(name[6:])]
        cols = self.run.cell.block(name[4:] if name.startswith("pre_") else name)
        return (self.dpre if name.startswith("pre_") else self.dact)[s][:, cols]


# ---- the state update's operations, undone: each reads adj[its result] and adds to adj[its inputs]


def _mask(run: Run, s: int, adj: Adjoints) -> None:
    """A row past its length kept its state: its gradient passes to the step before, untouched."""
    assert run.active is not None
    keep = ~run.active[s]
    if keep.any():
        adj["h_prev"][keep] += adj["h"][keep]
        adj["h"][keep] = 0
        if "c" in adj:
            adj["c_prev"][keep] += adj["c"][keep]
            adj["c"][keep] = 0


def _within(x: np.ndarray, bound: Any) -> np.ndarray:
    """Where a clip to ±bound passes its input (bounds included, as torch's clamp and TF's clip_by_value)."""
    return (x >= -bound) & (x <= bound)


def _proj_clip(run: Run, s: int, adj: Adjoints) -> None:
    op = run.update("projection")
    assert op is not None
    adj["p"] = adj.pop("h") * _within(op.out[s], run.update("proj_clip").bound)  # type: ignore[union-attr]


def _projection(run: Run, s: int, adj: Adjoints) -> None:
    d = adj.pop("p") if "p" in adj else adj.pop("h")
    adj["p_in"] = d  # kept for dP = Σ mᵀ·δ
    adj["m"] = d @ run.cell.projection.T  # type: ignore[union-attr]


def _output(run: Run, s: int, adj: Adjoints) -> None:
    """h (or m) = o ⊙ act(c), or act(c) alone without the output gate."""
    d = adj.pop("m") if "m" in adj else adj.pop("h")
    assert run.c_act is not None
    if run.cell.rules.output_gate:
        adj["o"] = d * run.c_act[s]
        adj["act_c"] = d * run.gate("o")[s]
    else:
        adj["act_c"] = d


def _act_c(run: Run, s: int, adj: Adjoints) -> None:
    assert run.c is not None and run.c_act is not None
    which = "c" if run.cell.rules.new_cell_state else "c_prev"
    x = run.c[s + 1] if which == "c" else run.c[s]
    act = run.cell.cell_activation
    if "c_slope" in adj:  # act′(c) of this step, worked out for every step before the loop and kept for the views
        adj[which] = adj[which] + adj.pop("act_c") * adj.pop("c_slope")
    else:
        adj[which] = adj[which] + act.backward(x, run.c_act[s], adj.pop("act_c"))


def _cell_clip(run: Run, s: int, adj: Adjoints) -> None:
    assert run.c_unclipped is not None
    adj["c"] = adj["c"] * _within(run.c_unclipped[s], run.cell.cell_clip)


def _cell_update(run: Run, s: int, adj: Adjoints) -> None:
    """c = f ⊙ c_{t−1} + i ⊙ g, as the cell's rules say."""
    assert run.c is not None
    d, rules = adj["c"], run.cell.rules
    i, f, g = (run.gate(name)[s] for name in "ifg")
    if rules.forget_term:
        adj["f"] = d * run.c[s]
        adj["c_prev"] = adj["c_prev"] + d * f
    else:
        adj["f"] = np.zeros_like(d)
    if rules.input_gate:
        adj["i"], adj["g"] = d * g, d * i
    else:
        adj["i"], adj["g"] = np.zeros_like(d), d


def _gru_update(run: Run, s: int, adj: Adjoints) -> None:
    """h = z ⊙ h_{t−1} + (1 − z) ⊙ n (or the swapped rule)."""
    d = adj.pop("h")
    z, n = run.gate("z")[s], run.gate("n")[s]
    keep = 1 - z if run.cell.rules.update_swapped else z
    sign = -1 if run.cell.rules.update_swapped else 1
    adj["h_prev"] = adj["h_prev"] + d * keep
    adj["n"] = d * (1 - keep)
    adj["z"] = sign * d * (run.h[s] - n)


def _state(run: Run, s: int, adj: Adjoints) -> None:
    adj["h_block"] = adj.pop("h")  # a simple RNN's state is its h block


_UPDATES: dict[str, Callable[[Run, int, Adjoints], None]] = {
    "mask": _mask,
    "proj_clip": _proj_clip,
    "projection": _projection,
    "output": _output,
    "act_c": _act_c,
    "cell_clip": _cell_clip,
    "cell_update": _cell_update,
    "gru_update": _gru_update,
    "state": _state,
}

# ---- a gate block, undone: the operations after its sum, then the terms of the sum


def _block(
    run: Run, s: int, gate: str, adj: Adjoints, dact: np.ndarray, dpre: np.ndarray, slope: np.ndarray
) -> np.ndarray:
    """δ after the activation → δ of the sum, through the block's operations in reverse; recorded, with the
    activation's derivative where it is elementwise."""
    record, cols = run.blocks[gate], run.cell.block(gate)
    key = "h_block" if run.cell.kind == "rnn" else gate
    d = adj.pop(key) if key in adj else np.zeros_like(record.pre[s])  # o without the output gate rule: unused
    dact[s][:, cols] = d
    pre = record.pre[s]
    clip = record.op("clip")
    source = clip.out[s] if clip is not None else pre
    for op in reversed(record.ops):
        if op.kind == "act":
            act = op.activation
            assert act is not None
            if act.elementwise and act.grad is not None:  # its slope for every step is in `slope` already
                d = d * slope[s][:, cols]
            else:
                d = act.backward(source, op.out[s], d)
        elif op.kind == "clip":
            d = d * _within(pre, op.bound)
        elif op.kind == "one_minus":  # f = 1 − i: the gradient goes to i, f's own sum gets none
            adj["i"] = adj["i"] - d
            d = np.zeros_like(d)
    dpre[s][:, cols] = d
    return d


def _terms(run: Run, s: int, gate: str, d: np.ndarray, adj: Adjoints, dhu: np.ndarray) -> None:
    """The sum's terms, undone: what reaches h_{t−1} and c through them (the products' weights later)."""
    cell, cols = run.cell, run.cell.block(gate)
    for term in run.terms(gate):
        if term.key == "hU":
            dhu[s][:, cols] = d
            if cell.kind == "gru" and gate == "n" and not cell.reset_after:  # (r ⊙ h)·U_n
                dgated = d @ cell.recurrent[:, cols].T
                adj["r"] = adj.get("r", 0) + dgated * run.h[s]
                adj["h_prev"] = adj["h_prev"] + dgated * run.gate("r")[s]
        elif term.key == "peephole":
            k = "ifo".index(gate)
            w = cell.peepholes[k]  # type: ignore[index]
            target = "c" if gate == "o" else "c_prev"
            adj[target] = adj[target] + d * w
        elif term.key == "reset":  # r ⊙ (h·U_n + b_rec_n)
            r = run.gate("r")[s]
            inner = run.hu[s][:, cols]
            if cell.recurrent_bias is not None:
                inner = inner + cell.recurrent_bias[cols]
            adj["r"] = adj.get("r", 0) + d * inner
            dhu[s][:, cols] = d * r


# ---- one run, all steps


def _order(cell: Cell) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the update's operations to undo before the gate blocks, blocks undone in between) per kind.

    An LSTM's o is undone before the cell update (its output peephole saw the new c); i, f, g after.
    A GRU's n before z and r (n's reset term sends a gradient to r).
    """
    if cell.kind == "lstm":
        return ("mask", "proj_clip", "projection", "output", "act_c"), ("o",)
    if cell.kind == "gru":
        return ("mask", "gru_update"), ("n",)
    return ("mask", "state"), ()


def back_run(run: Run, dh_out: np.ndarray, dc_out: np.ndarray | None, fast: bool = True) -> BackRun:
    """Undo every step of `run`, given dL/dh_s and dL/dc_s from outside the recurrence for s = 0..T.

    A plain LSTM (the rules, operations and terms every framework's default LSTM has) takes `_plain_lstm`,
    the same products written as one loop; `fast=False` takes the operation-by-operation path for it too.
    """
    if fast and _plain(run):
        assert dc_out is not None
        return _plain_lstm(run, dh_out, dc_out)
    cell = run.cell
    steps = run.steps
    dtype = run.pre.dtype
    dh = np.zeros_like(dh_out)
    dc = None if dc_out is None else np.zeros_like(dc_out)
    dact, dpre, dhu = (np.zeros(run.pre.shape, dtype) for _ in range(3))
    slope, c_slope = _slopes(run)
    extra: dict[str, np.ndarray] = {}
    first_ops, first_blocks = _order(cell)
    kinds = {op.kind for op in run.updates}
    # f before i: a coupled forget gate (f = 1 − i) sends its gradient to i
    rest = sorted((g for g in cell.gates if g not in first_blocks), key=lambda g: g != "f")
    recurrent_t = _recurrent_for_h(cell).T
    carry_h = np.zeros_like(dh_out[0])
    carry_c = None if dc_out is None else np.zeros_like(dc_out[0])
    for s in reversed(range(steps)):
        dh[s + 1] = dh_out[s + 1] + carry_h
        adj: Adjoints = {"h": dh[s + 1].copy(), "h_prev": np.zeros_like(carry_h)}
        if dc is not None:
            assert dc_out is not None and carry_c is not None
            adj["c"], adj["c_prev"] = dc_out[s + 1] + carry_c, np.zeros_like(carry_c)
            if c_slope is not None:
                adj["c_slope"] = c_slope[s]
        for kind in first_ops:
            if kind in kinds:
                _UPDATES[kind](run, s, adj)
                _keep(extra, adj, s, run)
        for gate in first_blocks:
            _terms(run, s, gate, _block(run, s, gate, adj, dact, dpre, slope), adj, dhu)
        if dc is not None:  # c_t's every path is in now: its own h_t (and o's peephole), the next step, outside
            dc[s + 1] = adj["c"]
            if run.active is not None:  # a row that kept its state: c_t is c_{t−1}, and what reaches it passes on
                held = ~run.active[s]
                dc[s + 1][held] = adj["c_prev"][held]
        if cell.kind == "lstm":
            if "cell_clip" in kinds:
                _cell_clip(run, s, adj)
            _cell_update(run, s, adj)
        for gate in rest:
            _terms(run, s, gate, _block(run, s, gate, adj, dact, dpre, slope), adj, dhu)
        carry_h = adj["h_prev"] + dhu[s] @ recurrent_t
        if dc is not None:
            carry_c = adj["c_prev"]
    dh[0] = dh_out[0] + carry_h
    if dc is not None:
        assert dc_out is not None and carry_c is not None
        dc[0] = dc_out[0] + carry_c
    dx = (dpre.reshape(-1, dpre.shape[-1]) @ cell.kernel.T).reshape(*dpre.shape[:2], -1)
    grads = _weight_grads(run, dpre, dhu, extra)
    return BackRun(run, dh, dh_out, dact, dpre, dhu, dx, grads, dc, dc_out, extra, (slope, c_slope))


def _plain(run: Run) -> bool:
    """An LSTM whose every block sums x·W, h·U and biases and applies one elementwise activation, with the
    default state update: no peepholes, clips, projection, coupled forget, mask or changed rule."""
    cell = run.cell
    if cell.kind != "lstm" or cell.rules != Rules() or run.active is not None or cell.pre_clip is not None:
        return False
    if cell.peepholes is not None or cell.cell_clip is not None or cell.projection is not None or cell.coupled_forget:
        return False
    acts = [cell.activation_of(g) for g in cell.gates] + [cell.cell_activation]
    return all(a.elementwise and a.grad is not None for a in acts)


def _plain_lstm(run: Run, dh_out: np.ndarray, dc_out: np.ndarray) -> BackRun:
    """`back_run` for a plain LSTM: the same operations' rules, inlined into one loop over preallocated arrays,
    as the engine's own LSTM loop is; tests hold it to the operation-by-operation path on every fixture.
    The activations' slopes are taken step by step and not kept (BackRun.slopes works them out if asked)."""
    assert run.c is not None and run.c_act is not None
    cell, steps, width = run.cell, run.steps, run.cell.units
    i, f, g, o = (slice(k * width, (k + 1) * width) for k in range(4))
    gate, main, outer = cell.recurrent_activation.grad, cell.activation.grad, cell.cell_activation.grad
    assert gate is not None and main is not None and outer is not None
    dh, dc = np.empty_like(dh_out), np.empty_like(dc_out)
    dact, dpre = np.empty(run.pre.shape, run.pre.dtype), np.empty(run.pre.shape, run.pre.dtype)
    d_act_c = np.empty_like(run.c_act)
    pre, act, c, c_act, recurrent_t = run.pre, run.act, run.c, run.c_act, cell.recurrent.T
    multiply, add, matmul = np.multiply, np.add, np.matmul
    carry_h, carry_c = np.zeros_like(dh_out[0]), np.zeros_like(dc_out[0])
    for s in range(steps - 1, -1, -1):
        a, da, d_h, d_c = act[s], dact[s], dh[s + 1], dc[s + 1]
        add(dh_out[s + 1], carry_h, out=d_h)
        multiply(d_h, c_act[s], out=da[:, o])  # δo = δh ⊙ act(c)
        multiply(d_h, a[:, o], out=d_act_c[s])  # δact(c) = δh ⊙ o
        add(dc_out[s + 1], carry_c, out=d_c)
        d_c += d_act_c[s] * outer(c[s + 1], c_act[s])  # δc = δh ⊙ o ⊙ act′(c) + (from step t+1 and outside)
        multiply(d_c, a[:, g], out=da[:, i])
        multiply(d_c, c[s], out=da[:, f])
        multiply(d_c, a[:, i], out=da[:, g])
        carry_c = d_c * a[:, f]
        slope = gate(pre[s], a)  # the gates' act′ over the whole row, then the candidate's
        slope[:, g] = main(pre[s][:, g], a[:, g])
        multiply(da, slope, out=dpre[s])  # δz = δgate ⊙ act′(z)
        carry_h = matmul(dpre[s], recurrent_t)
    add(dh_out[0], carry_h, out=dh[0])
    add(dc_out[0], carry_c, out=dc[0])
    dx = (dpre.reshape(-1, dpre.shape[-1]) @ cell.kernel.T).reshape(*dpre.shape[:2], -1)
    extra = {"act_c": d_act_c}
    grads = _weight_grads(run, dpre, dpre, extra)  # every block's h·U term takes δz as it is: δ(h·U) = δz
    return BackRun(run, dh, dh_out, dact, dpre, dpre, dx, grads, dc, dc_out, extra)


def _slopes(run: Run) -> tuple[np.ndarray, np.ndarray | None]:
    """Every elementwise activation's derivative at every step, each one call over all steps: (act′ of the gate
    blocks (T, B, G·H), act′(c) (T, B, H) or None). 0 where an activation is not elementwise (softmax) or
    f = 1 − i."""
    slope = np.zeros(run.pre.shape, run.pre.dtype)
    for gate, record in run.blocks.items():
        act = record.op("act")
        if act is not None and act.activation is not None and act.activation.elementwise and act.activation.grad:
            clip = record.op("clip")
            slope[..., run.cell.block(gate)] = act.activation.grad(clip.out if clip else record.pre, act.out)
    outer = run.cell.cell_activation
    if run.c is None or run.c_act is None or not outer.elementwise or outer.grad is None:
        return slope, None
    return slope, outer.grad(run.c[1:] if run.cell.rules.new_cell_state else run.c[:-1], run.c_act)


def _recurrent_for_h(cell: Cell) -> np.ndarray:
    """U with the columns whose product does not read h_{t−1} itself zeroed (a GRU's n before its reset)."""
    if cell.kind == "gru" and not cell.reset_after:
        u = cell.recurrent.copy()
        u[:, cell.block("n")] = 0
        return u
    return cell.recurrent


def _keep(extra: dict[str, np.ndarray], adj: Adjoints, s: int, run: Run) -> None:
    """Record the update's adjoints that views show (δ of act(c), of m, of the projection's input)."""
    for name in ("act_c", "m", "p_in"):
        if name in adj:
            if name not in extra:
                extra[name] = np.zeros((run.steps, *adj[name].shape), adj[name].dtype)
            extra[name][s] = adj[name]


def _weight_grads(
    run: Run, dpre: np.ndarray, dhu: np.ndarray, extra: dict[str, np.ndarray], steps: slice = slice(None)
) -> dict[str, np.ndarray]:
    """Each canonical weight's gradient over `steps` (all, or one step's terms): sums over steps and batch
    rows, one product each."""
    cell = run.cell
    flat = lambda a: a[steps].reshape(-1, a.shape[-1])  # noqa: E731
    grads = {"kernel": flat(run.x).T @ flat(dpre)}
    recurrent = flat(run.h[:-1]).T @ flat(dhu)
    if cell.kind == "gru" and not cell.reset_after:  # n's product read r ⊙ h_{t−1}
        assert run.gated is not None
        n = cell.block("n")
        recurrent[:, n] = flat(run.gated).T @ flat(dhu[..., n])
    grads["recurrent"] = recurrent
    if cell.bias is not None:
        grads["bias"] = flat(dpre).sum(axis=0)
    if cell.recurrent_bias is not None:
        grads["recurrent_bias"] = flat(dhu).sum(axis=0)
    if cell.peepholes is not None:
        assert run.c is not None
        c_prev, c_new = run.c[:-1], run.c[1:]
        grads["peepholes"] = np.stack(
            [
                (flat(dpre[..., cell.block("i")]) * flat(c_prev)).sum(axis=0),
                (flat(dpre[..., cell.block("f")]) * flat(c_prev)).sum(axis=0),
                (flat(dpre[..., cell.block("o")]) * flat(c_new)).sum(axis=0),
            ]
        )
    if cell.projection is not None:
        assert run.m is not None
        grads["projection"] = flat(run.m).T @ flat(extra["p_in"])
    return grads
