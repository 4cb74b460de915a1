"""torch: nn.LSTM, nn.GRU and nn.RNN (packed sequences too) and their cells, from the scenario's state_dict.

The module is built from the scenario's arguments and given its entries by `load_state_dict` (strict: torch
itself says which entry is missing or extra); an input that was packed goes through pack_padded_sequence and
pad_packed_sequence. Per-step states come from the matching nn.*Cell stepped by a Python loop over t, layer
by layer and direction by direction, with each packed row held past its length, as the packed layer does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import Real, Tolerance, Words, need, state_or_zeros

ENTRY = re.compile(r"^(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)(_l\d+(_reverse)?)?$")
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


def run(words: Words) -> Real:
    (torch,) = need("torch", "torch")
    entry = words.layer
    config = entry.config
    assert isinstance(entry.weights, Mapping), "torch weights are a state_dict"
    state = _module(entry.weights, words.module)
    kind = entry.layer.removesuffix("Cell")
    dtype = getattr(torch, words.dtype)
    args: dict[str, Any] = {
        "input_size": words.inputs.shape[2],
        "hidden_size": _hidden(config, state, kind),
        "bias": config.get("bias", True),
    }
    if kind == "RNN":
        args["nonlinearity"] = config.get("nonlinearity", config.get("activation", "tanh"))
    version = f"torch {torch.__version__}"
    with torch.no_grad():
        if entry.layer.endswith("Cell"):
            return _cell(torch, words, entry.layer, args, state, dtype, version)
        return _layer(torch, words, kind, args, state, dtype, version)


def _module(weights: Mapping[str, np.ndarray], module: str | None) -> dict[str, np.ndarray]:
    """The entries of the module the scenario traces (`module:`, or the one recurrent module), by their own names."""
    groups: dict[str, dict[str, np.ndarray]] = {}
    for key, value in weights.items():
        prefix, _, own = key.rpartition(".")
        groups.setdefault(prefix, {})[own] = value
    if module is None:
        module = next(p for p, entries in groups.items() if any(ENTRY.match(own) for own in entries))
    return groups[module]


def _hidden(config: Mapping[str, Any], state: Mapping[str, np.ndarray], kind: str) -> int:
    for key in ("hidden_size", "units"):
        if key in config:
            return int(config[key])
    w_hh = state.get("weight_hh_l0", state.get("weight_hh"))
    assert w_hh is not None
    return int(w_hh.shape[0]) // GATES[kind] if config.get("proj_size") else int(w_hh.shape[1])


def _tensors(torch: Any, state: Mapping[str, np.ndarray]) -> dict[str, Any]:
    return {key: torch.from_numpy(np.ascontiguousarray(value)) for key, value in state.items()}


def _cell(torch: Any, words: Words, layer: str, args: dict[str, Any], state: Mapping[str, np.ndarray], dtype: Any,
          version: str) -> Real:  # fmt: skip
    """nn.LSTMCell, nn.GRUCell, nn.RNNCell: the loop is what the scenario describes."""
    cell = getattr(torch.nn, layer)(**args).to(dtype)
    cell.load_state_dict(_tensors(torch, state))
    x = torch.from_numpy(words.inputs)
    shape = (words.inputs.shape[0], args["hidden_size"])
    given = words.layer.initial_state
    h0 = torch.from_numpy(state_or_zeros(given, "h0", shape, words.dtype))
    c0 = torch.from_numpy(state_or_zeros(given, "c0", shape, words.dtype)) if layer == "LSTMCell" else None
    hs, cs = loop(torch, cell, x, h0, c0, None, False)
    outputs = {"sequence": np.stack(hs, axis=1), "h": hs[-1]}
    steps = {"h": np.stack(hs)}
    if c0 is not None:
        outputs["c"], steps["c"] = cs[-1], np.stack(cs)
    return Real(f"{version} nn.{layer} in a Python loop", "torch", outputs, {(0, 0): steps})


def _layer(torch: Any, words: Words, kind: str, args: dict[str, Any], state: Mapping[str, np.ndarray], dtype: Any,
           version: str) -> Real:  # fmt: skip
    """nn.LSTM, nn.GRU, nn.RNN called on the whole sequence (packed where the scenario packed it)."""
    config = words.layer.config
    layers, bidirectional = int(config.get("num_layers", 1)), bool(config.get("bidirectional", False))
    batch_first, proj = bool(config.get("batch_first", False)), int(config.get("proj_size", 0) or 0)
    args |= {"num_layers": layers, "bidirectional": bidirectional, "batch_first": batch_first}
    if proj:
        args["proj_size"] = proj
    module = getattr(torch.nn, kind)(**args).to(dtype).eval()
    module.load_state_dict(_tensors(torch, state))
    dirs, hidden = 2 if bidirectional else 1, args["hidden_size"]
    batch = words.inputs.shape[0]
    given = words.layer.initial_state
    h0 = _state(torch, given, "h0", (layers * dirs, batch, proj or hidden), words.dtype)
    c0 = _state(torch, given, "c0", (layers * dirs, batch, hidden), words.dtype) if kind == "LSTM" else None
    hx = None if not given else (h0, c0) if kind == "LSTM" else h0
    pack = config.get("pack_padded_sequence")
    lengths = None
    if pack:
        from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

        lengths = np.asarray(pack["lengths"]).reshape(-1)
        first = bool(pack.get("batch_first", False))
        x = torch.from_numpy(np.ascontiguousarray(words.inputs if first else words.inputs.transpose(1, 0, 2)))
        packed = pack_padded_sequence(x, torch.from_numpy(lengths.astype(np.int64)), batch_first=first,
                                      enforce_sorted=bool(pack.get("enforce_sorted", True)))  # fmt: skip
        output, final = module(packed, hx)
        total = (config.get("pad_packed_sequence") or {}).get("total_length")
        sequence = pad_packed_sequence(output, batch_first=True, total_length=total)[0].numpy()
    else:
        x = torch.from_numpy(np.ascontiguousarray(words.inputs if batch_first else words.inputs.transpose(1, 0, 2)))
        output, final = module(x, hx)
        sequence = output.numpy() if batch_first else output.numpy().transpose(1, 0, 2)
    h_n, c_n = final if kind == "LSTM" else (final, None)
    outputs = {"sequence": sequence, "h": h_n.numpy()}
    if c_n is not None:
        outputs["c"] = c_n.numpy()
    ran = f"{version} nn.{kind}" + (" (packed sequence)" if pack else "")
    if proj:
        note = "per-step states not compared: nn.LSTMCell has no projection (proj_size), so no cell steps nn.LSTM's"
        return Real(ran, "torch", outputs, {}, (note,))
    steps, notes = _steps(torch, words, kind, args, state, (h0, c0), lengths, outputs)
    return Real(ran, "torch", outputs, steps, notes)


def _state(torch: Any, given: Mapping[str, np.ndarray], key: str, shape: tuple[int, ...], dtype: str) -> Any:
    """An initial state as torch takes it, (L·D, B, H) (a batch of one may leave out its batch axis), or zeros."""
    return torch.from_numpy(np.ascontiguousarray(state_or_zeros(given, key, shape, dtype)))


Steps = dict[tuple[int, int], dict[str, np.ndarray]]


def _steps(torch: Any, words: Words, kind: str, args: dict[str, Any], state: Mapping[str, np.ndarray],
           initial: tuple[Any, Any], lengths: np.ndarray | None,
           outputs: Mapping[str, np.ndarray]) -> tuple[Steps, tuple[str, ...]]:  # fmt: skip
    """Each layer's and direction's states after every step, from nn.*Cell in a loop fed the loop's own layer
    below; kept where the loop's last states are the module's h_n (and c_n)."""
    dirs = 2 if args["bidirectional"] else 1
    cell_args = {k: args[k] for k in ("hidden_size", "bias", "nonlinearity") if k in args}
    below = torch.from_numpy(words.inputs)
    steps: Steps = {}
    tolerance = Tolerance.of(words.dtype)
    for layer in range(args["num_layers"]):
        aligned = []
        for d in range(dirs):
            cell = getattr(torch.nn, f"{kind}Cell")(input_size=below.shape[2], **cell_args).to(below.dtype)
            suffix = f"_l{layer}" + ("_reverse" if d else "")
            cell.load_state_dict(_tensors(torch, {own: state[own + suffix] for own in cell.state_dict()}))
            row = layer * dirs + d
            c0 = None if initial[1] is None else initial[1][row]
            hs, cs = loop(torch, cell, below, initial[0][row], c0, lengths, bool(d))
            found = {"h": np.stack(hs)} | ({"c": np.stack(cs)} if c0 is not None else {})
            if all(tolerance.close(found[q][-1], outputs[q][row]).all() for q in found):
                steps[(layer, d)] = found
            ordered = hs[::-1] if d else hs
            aligned.append(torch.from_numpy(np.stack(ordered, axis=1)))
        below = torch.cat(aligned, dim=-1)
    if len(steps) == args["num_layers"] * dirs:
        return steps, ()
    return steps, ("per-step states of some directions not compared: nn.*Cell in a loop did not give nn's h_n there",)


def loop(torch: Any, cell: Any, x: Any, h: Any, c: Any, lengths: np.ndarray | None,
         backwards: bool) -> tuple[list[np.ndarray], list[np.ndarray]]:  # fmt: skip
    """h, c = cell(x[:, t], (h, c)) for every t (backwards: from the last), a row past its length keeping its
    state; every step's h and c in the order taken."""
    hs, cs = [], []
    steps = x.shape[1]
    for t in range(steps - 1, -1, -1) if backwards else range(steps):
        new_h, new_c = cell(x[:, t], (h, c)) if c is not None else (cell(x[:, t], h), None)
        if lengths is not None:
            keep = torch.from_numpy(t < lengths)[:, None]
            new_h = torch.where(keep, new_h, h)
            new_c = None if c is None else torch.where(keep, new_c, c)
        h, c = new_h, new_c
        hs.append(h.numpy())
        if c is not None:
            cs.append(c.numpy())
    return hs, cs
