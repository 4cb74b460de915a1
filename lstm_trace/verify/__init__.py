"""`lstm-trace verify`: the scenario run in its real framework, every output compared with the trace.

The framework builds the layer from the scenario's own words (its config, its weights by their own
names, its initial state, the inputs), never from the canonical arrays the engine ran on, so a
misreading of those words shows up as a difference. Every output the trace returns is compared,
and each layer's and direction's per-step h and c where the framework exposes them (its cell
stepped in a Python loop, or for ONNX the node run on each prefix of the sequence).

A framework is imported only here, and only when verify runs: one module per framework
(keras.py for Keras 3 and tf_keras, torch.py, tf1.py, onnx.py), each giving a `Real`.
"""

from __future__ import annotations

import importlib
import io
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.console import Console, ConsoleOptions, RenderResult
from rich.padding import Padding
from rich.text import Text

from ..arrays import to_array
from ..errors import Where, printable
from ..render.explain import unit
from ..render.numbers import Shortest, num

if TYPE_CHECKING:
    from ..scenario import Scenario
    from ..trace import Run, Trace

PACKAGES = {  # what to install for each framework, as pip names it
    "torch": "pip install torch",
    "keras": "pip install keras tensorflow",
    "keras2": "pip install tf-keras tensorflow",
    "tf1": "pip install tf-keras tensorflow",
    "onnx": "pip install onnx onnxruntime",
}
MODULES = {"keras": "keras", "keras2": "keras", "torch": "torch", "tf1": "tf1", "onnx": "onnx"}
TOLERANCE = {"float32": 1e-5, "float64": 1e-12}  # relative; the absolute part is a tenth of it


class VerifyError(Exception):
    """The comparison cannot be made: the framework is missing, or it could not run the scenario."""


class FrameworkMissing(VerifyError):
    def __init__(self, framework: str, module: str) -> None:
        self.framework, self.package = framework, PACKAGES[framework]
        super().__init__(f"verify runs this scenario in {module}, which is not installed here: {self.package}")


def need(framework: str, *modules: str) -> list[Any]:
    """The framework's modules, imported now; a missing one is a FrameworkMissing naming the pip package."""
    found = []
    for name in modules:
        try:
            found.append(importlib.import_module(name))
        except ImportError as exc:
            raise FrameworkMissing(framework, name) from exc
    return found


# ---- the scenario in its own words ------------------------------------------------------------------------
@dataclass(frozen=True)
class Entry:
    """One layer as the scenario writes it: its name, config, weights (by name, or a list) and initial state."""

    layer: str
    config: Mapping[str, Any]
    weights: Mapping[str, np.ndarray] | list[np.ndarray]
    initial_state: Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Words:
    """What a framework is given to build the layer: the scenario's own keys, every array read."""

    framework: str
    dtype: str
    inputs: np.ndarray  # (B, T, F), batch-major as every scenario writes it
    layers: tuple[Entry, ...]  # one, or a Keras stack's entries
    mask: np.ndarray | None = None  # Keras: (B, T), True where the step is used
    masking: Mapping[str, Any] | None = None  # Keras: a Masking layer's config
    module: str | None = None  # torch: the state_dict module to take

    @property
    def layer(self) -> Entry:
        return self.layers[0]


def plain(value: Any) -> Any:
    """A config as plain Python: mappings, lists, str, bool, int and float, as a framework's from_config takes."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    return value


def words_of(scenario: Scenario) -> Words:
    """The scenario's words with their arrays read, from the mapping it was read from (`scenario.data`)."""
    data = scenario.data
    base = scenario.source.parent if scenario.source else None
    dtype = np.dtype(scenario.dtype)

    def array(value: Any, path: str) -> np.ndarray:
        return to_array(value, Where(scenario.source, None, path), base, dtype)

    def weights(given: Any, top: Mapping[str, Any], path: str) -> Mapping[str, np.ndarray] | list[np.ndarray]:
        if isinstance(given, list):
            return [array(v, f"{path}[{k}]") for k, v in enumerate(given)]
        named = {str(k): array(v, f"{path}.{k}") for k, v in (given or {}).items()}
        named.update({k: array(top[k], k) for k in ("kernel", "recurrent_kernel", "bias") if k in top})
        return named

    def states(given: Any, path: str) -> dict[str, np.ndarray]:
        return {str(k): array(v, f"{path}.{k}") for k, v in (given or {}).items()}

    inputs = array(data["inputs"], "inputs")
    inputs = inputs[None] if inputs.ndim == 2 else inputs
    if data.get("layers"):
        entries = tuple(
            Entry(keras_name(e.get("layer", "LSTM")), plain(e.get("config") or {}),
                  weights(e["weights"], {}, f"layers[{k}].weights"), states(e.get("initial_state"), f"layers[{k}]"))
            for k, e in enumerate(data["layers"])
        )  # fmt: skip
    else:
        entries = (
            Entry(scenario.layer, plain(scenario.config), weights(data.get("weights"), data, "weights"),
                  states(data.get("initial_state"), "initial_state")),
        )  # fmt: skip
    mask = data.get("mask")
    return Words(
        framework=scenario.framework,
        dtype=scenario.dtype,
        inputs=inputs,
        layers=entries,
        mask=None if mask is None else np.asarray(mask, bool).reshape(inputs.shape[:2]),
        masking=None if "masking" not in data else plain(data["masking"] or {}),
        module=None if data.get("module") is None else str(data["module"]).strip().rstrip("."),
    )


def state_or_zeros(given: Mapping[str, np.ndarray], key: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """An initial state as the framework takes it: the scenario's (one row stands for every batch row), or zeros."""
    if key not in given:
        return np.zeros(shape, dtype)
    value = given[key]
    return np.broadcast_to(value, shape).copy() if value.size != np.prod(shape) else value.reshape(shape)


def keras_name(value: Any) -> str:
    """A stack entry's layer as Keras spells its class (`lstm`, `keras.layers.LSTM` → LSTM)."""
    short = str(value).strip().rsplit(".", 1)[-1]
    return next((n for n in ("LSTM", "GRU", "SimpleRNN", "Bidirectional") if n.lower() == short.lower()), short)


# ---- what the framework gave, and the comparison -------------------------------------------------------------
@dataclass(frozen=True)
class Real:
    """What the real framework computed: its outputs under the contract's names and shapes, and per-step states.

    `steps[(layer, direction)]` (both from 0, as Trace.runs holds them) has `h` and `c`: (T, B, ·) in the order
    the direction processed the steps.
    """

    ran: str  # which framework and version, and what it ran: "torch 2.13.0 nn.LSTM"
    name: str  # the framework as the report names its numbers: "torch"
    outputs: Mapping[str, np.ndarray]
    steps: Mapping[tuple[int, int], Mapping[str, np.ndarray]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tolerance:
    """Equal when |ours − theirs| ≤ absolute + relative·|theirs|, as the fixture tests compare."""

    relative: float
    absolute: float

    @classmethod
    def of(cls, dtype: str, relative: float | None = None) -> Tolerance:
        rel = TOLERANCE[dtype] if relative is None else relative
        return cls(rel, rel / 10)

    def close(self, ours: np.ndarray, theirs: np.ndarray) -> np.ndarray:
        both_nan = np.isnan(ours) & np.isnan(theirs)
        with np.errstate(invalid="ignore"):
            near = np.abs(ours - theirs) <= self.absolute + self.relative * np.abs(theirs)
        return np.asarray(near | both_nan | (ours == theirs))  # equal infinities are equal


@dataclass(frozen=True)
class Mismatch:
    where: str  # sequence[1, 2, 3]: h₂[3] (batch row 1)
    ours: float
    theirs: float


@dataclass(frozen=True)
class Row:
    """One compared quantity: its largest difference, and its first value outside the tolerance."""

    name: str
    shape: tuple[int, ...]
    largest: float
    first: Mismatch | None = None
    problem: str | None = None  # it could not be compared value by value: a shape or a missing output

    @property
    def ok(self) -> bool:
        return self.first is None and self.problem is None


@dataclass(frozen=True)
class Report:
    ran: str
    name: str
    dtype: str
    tolerance: Tolerance
    rows: tuple[Row, ...]
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return all(row.ok for row in self.rows)


ONNX_NAMES = {"sequence": "Y", "h": "Y_h", "c": "Y_c"}


def compare(trace: Trace, real: Real, tolerance: Tolerance) -> Report:
    """Every output of the trace against the framework's, then every per-step state the framework gave."""
    rows = []
    onnx = trace.scenario.framework == "onnx"
    for name, value in trace.outputs.items():
        shown = f"{name} ({ONNX_NAMES[name]})" if onnx and name in ONNX_NAMES else name
        theirs = real.outputs.get(name)
        ours = np.asarray(value, np.float64)
        if theirs is None:
            rows.append(Row(shown, ours.shape, 0.0, problem=f"{real.name} gave no {name}"))
            continue
        rows.append(_row(shown, ours, np.asarray(theirs, np.float64), tolerance,
                         lambda index, n=name: output_place(trace, n, index), real.name))  # fmt: skip
    several = len(trace.all_runs()) > 1
    for (layer, d), states in real.steps.items():
        run = trace.runs[layer][d]
        for q, theirs in states.items():
            ours = getattr(run, q)[1:]
            where = f", layer {run.layer} {run.direction}" if several else ""
            rows.append(_row(f"{q} each step{where}", np.asarray(ours, np.float64), np.asarray(theirs, np.float64),
                             tolerance, lambda i, r=run, q=q: step_place(trace, r, q, i), real.name))  # fmt: skip
    return Report(real.ran, real.name, trace.scenario.dtype, tolerance, tuple(rows), real.notes)


def _row(name: str, ours: np.ndarray, theirs: np.ndarray, tolerance: Tolerance, place: Any, who: str) -> Row:
    if ours.shape != theirs.shape:
        return Row(name, ours.shape, 0.0, problem=f"shape {ours.shape} here, {theirs.shape} in {who}")
    with np.errstate(invalid="ignore"):
        gaps = np.abs(ours - theirs)
    finite = gaps[np.isfinite(gaps)]
    largest = float(finite.max()) if finite.size else 0.0
    bad = np.argwhere(~tolerance.close(ours, theirs))
    if not bad.size:
        return Row(name, ours.shape, largest)
    index = tuple(int(k) for k in bad[0])
    if not np.isfinite(gaps[index]):
        largest = float("inf")
    return Row(name, ours.shape, largest, Mismatch(place(index), float(ours[index]), float(theirs[index])))


# ---- where a value is, in the project's notation -------------------------------------------------------------
def _roles(trace: Trace, name: str, ndim: int) -> tuple[str, ...]:
    """What each axis of an output counts: b batch row, t time, u unit, d direction, r a row of torch's h_n."""
    if trace.scenario.framework == "onnx":
        layout = bool(trace.scenario.config.get("layout", 0))
        if name == "sequence":
            return ("b", "t", "d", "u") if layout else ("t", "d", "b", "u")
        return ("b", "d", "u") if layout else ("d", "b", "u")
    return {3: ("r", "b", "u") if name in ("h", "c") else ("b", "t", "u"), 2: ("b", "u")}.get(ndim, ())


def output_place(trace: Trace, name: str, index: tuple[int, ...]) -> str:
    """sequence[1, 2, 3]: h₂[3] (layer 1 reverse, batch row 1): the index from 1, and the state it is."""
    head = f"{name}[{', '.join(str(k + 1) for k in index)}]"
    roles = dict(zip(_roles(trace, name, len(index)), index, strict=False))
    if "u" not in roles:
        return head
    b, u = roles.get("b", 0), roles["u"]
    last = trace.runs[-1] if trace.scenario.framework != "onnx" else trace.runs[0]
    width, size = last[0].h.shape[-1], np.shape(trace.outputs[name])[-1]
    run: Run | None = None
    if "r" in roles:
        run = trace.all_runs()[roles["r"]]
    elif "d" in roles:
        run = last[roles["d"]]
    elif name.startswith(("forward_", "backward_")) and len(last) == 2:
        run = last[name.startswith("backward_")]
    elif size == len(last) * width and not name.endswith("output"):  # one direction, or both concatenated
        run, u = last[u // width], u % width
    step = None if run is None else _step(trace, run, roles, len(last))
    if run is None or step is None:
        return f"{head}: batch row {b + 1}, unit {u + 1}" + (f", t = {roles['t'] + 1}" if "t" in roles else "")
    q = "c" if name == "c" or name.endswith("_c") else "h"
    return f"{head}: {unit(q, step, u + 1)}{_context(trace, run, b)}"


def _step(trace: Trace, run: Run, roles: Mapping[str, int], directions: int) -> int | None:
    """The step (from 1; 0 for the initial state) that made a value at these axes, or None for a padded one."""
    b = roles.get("b", 0)
    if "t" not in roles:  # a final state: made at the last step its row took (h₀ for a row that took none)
        taken = np.arange(run.steps) if run.active is None else np.flatnonzero(run.active[:, b])
        return int(taken[-1]) + 1 if taken.size else 0
    t = roles["t"]  # Keras returns one direction's sequence in processing order, the rest come in input time
    if trace.scenario.framework in ("keras", "keras2") and directions == 1:
        return t + 1
    read = np.flatnonzero(run.reads == t)  # none: a step pad_packed_sequence padded on beyond them (total_length)
    return int(read[0]) + 1 if read.size else None


def step_place(trace: Trace, run: Run, q: str, index: tuple[int, ...]) -> str:
    """h₂[3] (layer 1 reverse, batch row 2): step, batch row and unit of a per-step state, from 0."""
    s, b, u = index
    return unit(q, s + 1, u + 1) + _context(trace, run, b)


def _context(trace: Trace, run: Run, b: int) -> str:
    parts = []
    if len(trace.all_runs()) > 1:
        parts.append(f"layer {run.layer} {run.direction}")
    if run.h.shape[1] > 1:
        parts.append(f"batch row {b + 1}")
    return f" ({', '.join(parts)})" if parts else ""


# ---- running it ---------------------------------------------------------------------------------------------
def run_real(words: Words) -> Real:
    """The scenario run by its framework; its errors (a layer it refuses) as a VerifyError."""
    module = importlib.import_module(f"{__name__}.{MODULES[words.framework]}")
    try:
        with warnings.catch_warnings():  # a framework's deprecation notices say nothing about this comparison
            warnings.simplefilter("ignore")
            real: Real = module.run(words)
    except VerifyError:
        raise
    except Exception as exc:  # anything the framework raises: it refused or failed to run the scenario
        text = printable(str(exc)).strip().splitlines()
        shown = "\n  ".join(text[:6]) + ("\n  …" if len(text) > 6 else "")
        raise VerifyError(f"{words.framework} could not run this scenario: {type(exc).__name__}: {shown}") from exc
    return real


def verify_trace(trace: Trace, tolerance: float | None = None) -> Report:
    """The traced scenario run in its framework and compared; `tolerance` is relative (default by dtype)."""
    words = words_of(trace.scenario)
    return compare(trace, run_real(words), Tolerance.of(trace.scenario.dtype, tolerance))


def verify_scenario(scenario: Scenario, tolerance: float | None = None) -> Report:
    """Trace `scenario`, run it in its framework, and compare: the entry point for a scenario from any source."""
    from ..api import trace

    return verify_trace(trace(scenario), tolerance)


# ---- the report -------------------------------------------------------------------------------------------
class ReportView:
    """✓ or ✗ per output, with its largest difference; at a ✗, the first value outside the tolerance."""

    def __init__(self, report: Report) -> None:
        self.report = report

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        r = self.report
        p = Shortest(r.dtype)
        yield Text(f"Ran {r.ran} on the scenario's weights and inputs:")
        width = max((len(row.name) for row in r.rows), default=0)
        shapes = max((len(str(row.shape)) for row in r.rows), default=0)
        for row in r.rows:
            mark = Text("✓ ", style="bold green") if row.ok else Text("✗ ", style="bold red")
            line = Text("  ") + mark + Text(f"{row.name.ljust(width)}  {str(row.shape).ljust(shapes)}  ")
            yield line + Text(row.problem or f"largest difference {num(row.largest, 2)}")
            if row.first is not None:
                m = row.first
                text = f"first different: {m.where}: ours {num(m.ours, p)}, {r.name} {num(m.theirs, p)}"
                yield Padding(Text(text), (0, 0, 0, 6), expand=False)
        for note in r.notes:
            yield Padding(Text(f"note: {note}", style="dim"), (0, 0, 0, 2), expand=False)
        bound = f"|ours − {r.name}| ≤ {r.tolerance.absolute:g} + {r.tolerance.relative:g}·|{r.name}| ({r.dtype})"
        wrong = sum(not row.ok for row in r.rows)
        if wrong:
            yield Text(f"{wrong} of {len(r.rows)} different; equal means {bound}", style="bold red")
        else:
            yield Text(f"all {len(r.rows)} equal within {bound}", style="bold green")


def report_text(report: Report, width: int = 100) -> str:
    """The report as the terminal shows it without colour, `width` columns wide."""
    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False, soft_wrap=False)
    console.print(ReportView(report))
    return console.file.getvalue()  # type: ignore[attr-defined]


__all__ = [
    "PACKAGES",
    "Entry",
    "FrameworkMissing",
    "Real",
    "Report",
    "ReportView",
    "Row",
    "Tolerance",
    "VerifyError",
    "Words",
    "compare",
    "keras_name",
    "report_text",
    "run_real",
    "state_or_zeros",
    "verify_scenario",
    "verify_trace",
    "words_of",
]
