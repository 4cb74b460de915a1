"""One Keras recurrent layer in canonical form (a `Part`), and what a call to it returns.

A plain LSTM, GRU or SimpleRNN is one direction; a Bidirectional is two, whose
outputs Keras merges (merge.py records the merge, so views write it out and the
backward pass undoes it). A `Sequential` stack is parts one after another, each
reading the one before. What the last part returns is built here from the runs
by arrangement only (rows of h and c, constant zeros), never arithmetic, so
provenance.py can follow every returned number back to the state that made it.

Keras's mask: at a masked step a direction keeps its state and its output
repeats the previous output, zeros before the first used step; with
`zero_output_for_mask` (which Bidirectional forces on when it returns
sequences) a masked step's output is zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import Where
from ..merge import Merge
from ..model import Cell
from .base import Raw, Returned, Returns, Runs

if TYPE_CHECKING:
    from ..trace import Run

DEFAULT_NAMES = {"LSTM": "lstm", "GRU": "gru", "SimpleRNN": "simple_rnn", "Bidirectional": "bidirectional"}


@dataclass(frozen=True, eq=False)
class Part:
    """One Keras layer: its directions' cells and initial states, and the options that shape what it returns."""

    name: str  # Keras's name for it (its config's `name`, or the default)
    class_name: str  # LSTM, GRU, SimpleRNN or Bidirectional
    cells: tuple[Cell, ...]
    h0: tuple[np.ndarray, ...]
    c0: tuple[np.ndarray | None, ...]
    backwards: tuple[bool, ...]  # each direction's go_backwards
    sequences: bool  # return_sequences
    state: bool  # return_state
    zero_output: tuple[bool, ...]  # each direction's zero_output_for_mask
    stated: bool  # called with initial_state
    header: str
    notes: tuple[str, ...] = ()
    inert: tuple[tuple[str, str], ...] = ()
    merge_mode: str | None = "concat"  # Bidirectional's; None returns both directions apart
    inner: str = ""  # Bidirectional: the wrapped layer, LSTM(units=3)
    config: Mapping[str, Any] = field(default_factory=dict)

    @property
    def width(self) -> int:
        """The size of each output step: units, or twice that for a concatenated Bidirectional."""
        units = self.cells[0].output_size
        return 2 * units if len(self.cells) == 2 and self.merge_mode == "concat" else units

    @property
    def params(self) -> int:
        """How many numbers its weights hold, as model.summary() counts them."""
        arrays = ("kernel", "recurrent", "bias", "recurrent_bias")
        return sum(
            int(np.size(getattr(cell, a))) for cell in self.cells for a in arrays if getattr(cell, a) is not None
        )

    def returns(self, depth: int) -> Returns:
        """What a call to this layer returns, when it is layer `depth` (from 0) of the network."""
        return bidirectional_returns(self, depth) if len(self.cells) == 2 else plain_returns(self, depth)


def as_returned(run: Run, zero: bool) -> np.ndarray:
    """(B, T, H) in processing order, as Keras returns a direction's sequence: at a masked step the previous
    output (the held state; zeros before the first used step), or zeros with zero_output_for_mask."""
    sequence = run.h[1:]
    if run.active is not None:
        keep = run.active if zero else np.logical_or.accumulate(run.active, axis=0)
        sequence = np.where(keep[..., None], sequence, np.zeros((), sequence.dtype))
    return sequence.transpose(1, 0, 2)


def plain_returns(part: Part, depth: int) -> Returns:
    """LSTM, GRU or SimpleRNN: the sequence (in processing order), the final h (and c)."""
    sequences, state = part.sequences, part.state
    note = f"return_sequences={sequences}, return_state={state}"
    if part.backwards[0]:
        note += ", go_backwards=True: sequence in processing order"

    def returned(runs: Runs) -> Returned:
        run = runs[depth][0]
        sequence = as_returned(run, part.zero_output[0])
        outputs = {"sequence": sequence, "h": run.h[-1]}
        if run.c is not None:
            outputs["c"] = run.c[-1]
        if sequences:
            given = [("sequence", "sequence")]
        elif run.active is not None:  # masked: the last output may be zeros where h is not
            outputs["output"] = sequence[:, -1]
            given = [("output", "output")]
        else:
            given = [("output", "h")]
        if state:
            given += [("h", "h")] + ([("c", "c")] if "c" in outputs else [])
        return Returned(outputs, tuple(given), note)

    return returned


def bidirectional_returns(part: Part, depth: int) -> Returns:
    """Bidirectional: the two directions' outputs merged by merge_mode, the backward one flipped back to input
    time where it returns sequences; each direction's final states after them, forward first."""
    mode, sequences, state = part.merge_mode, part.sequences, part.state
    note = f"merge_mode={mode}, return_sequences={sequences}, return_state={state}"

    def returned(runs: Runs) -> Returned:
        forward, backward = runs[depth]
        f_seq, b_seq = (as_returned(run, zero) for run, zero in zip(runs[depth], part.zero_output, strict=True))
        b_flipped = b_seq[:, ::-1]  # as Keras flips it: ops.flip(y_rev, axis=1)
        outputs: dict[str, np.ndarray] = {}
        merges: list[Merge] = []
        if mode is None:
            outputs |= {"forward_sequence": f_seq, "backward_sequence": b_flipped}
            if sequences:
                given = [("forward sequence", "forward_sequence"), ("backward sequence", "backward_sequence")]
            else:
                outputs |= {"forward_output": f_seq[:, -1], "backward_output": b_seq[:, -1]}
                given = [("forward output", "forward_output"), ("backward output", "backward_output")]
        else:
            merges.append(Merge("sequence", mode, f_seq, b_flipped))
            outputs["sequence"] = merges[-1].out
            given = [("sequence", "sequence")]
            if not sequences:  # the last outputs, each in its own processing order
                merges.append(Merge("output", mode, f_seq[:, -1], b_seq[:, -1]))
                outputs["output"] = merges[-1].out
                given = [("output", "output")]
        for side, run in (("forward", forward), ("backward", backward)):
            outputs[f"{side}_h"] = run.h[-1]
            if run.c is not None:
                outputs[f"{side}_c"] = run.c[-1]
        if state:
            given += [(key, key) for key in outputs if key.endswith(("_h", "_c"))]
        return Returned(outputs, tuple(given), note, merges=tuple(merges))

    return returned


@dataclass(frozen=True)
class Nested(Raw):
    """A layer inside another (a Bidirectional's wrapped layer, an entry of a stack): errors name its place in
    the file (`config.layer.config.units`), and its weights by the names the file gave them."""

    paths: Mapping[str, str] = field(default_factory=dict)  # section → where it is in the file
    names: Mapping[str, str] = field(default_factory=dict)  # weight name here → as the file wrote it

    def where(self, section: str, key: str | None = None) -> Where:
        place = Raw.where(self, section, key)
        path = self.paths.get(section, section)
        if key is not None:
            path = Where(path=path).child(self.names.get(key, key) if section == "weights" else key).path
        return Where(place.file, place.line, path)


def nested(raw: Raw, layer: str, config: Any, weights: Any, paths: Mapping[str, str], **changes: Any) -> Nested:
    """`raw` as seen by a layer inside it: its own layer name, config and weights (and any other field in
    `changes`), errors placed by `paths` (section → where it is in the file)."""
    fields = {f: getattr(raw, f) for f in ("inputs", "dtype", "file", "warnings", "extras", "initial_state")}
    fields |= {"config": config, "weights": weights, **changes}
    lines = {**raw.lines, **{section: getattr(fields[section], "line", None) for section in paths}}
    return Nested(layer=layer, lines=lines, paths=paths, **fields)
