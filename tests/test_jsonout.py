"""`run --format json` writes whole arrays at a time and reads exactly as it did one number at a time.

`_number_before`, `_array_before` and `_step_before` below are the writer as it was when every number
was formatted on its own (str(np.float32(v)), repr(float(v))); they are kept here, not in the package,
as the reference: every value's text and every fixture's whole document must be the same, byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lstm_trace
from conftest import FIXTURES, SCENARIOS, read_fixture
from lstm_trace.backward import BackRun
from lstm_trace.render import jsonout
from lstm_trace.render.jsonnum import array_json, rows
from lstm_trace.render.numbers import fraction_text
from lstm_trace.trace import Run, Trace

# ---- the writer before: one number at a time -------------------------------------------------------------


def _number_before(value: float | Fraction, f32: bool) -> str:
    if isinstance(value, Fraction):
        return str(value) if value.denominator == 1 else f'"{fraction_text(value)}"'
    if not np.isfinite(value):
        return "null"
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return str(np.float32(value)) if f32 else repr(float(value))


def _array_before(values: np.ndarray) -> str:
    f32 = values.dtype == np.float32
    if values.ndim == 0:
        return _number_before(values.item(), f32)
    if values.ndim == 1:
        return "[" + ", ".join(_number_before(v, f32) for v in values.tolist()) + "]"
    return "[" + ", ".join(_array_before(v) for v in values) + "]"


def _step_before(run: Run, s: int, back: BackRun | None = None) -> str:
    cell = run.cell
    fields: dict[str, Any] = {
        "layer": run.layer,
        "direction": run.direction,
        "t": s + 1,
        "reads": int(run.reads[s]) + 1,
    }
    parts = [json.dumps(fields)[:-1]]
    arrays: list[tuple[str, np.ndarray]] = [("x", run.x[s]), ("h_prev", run.h[s])]
    if run.c is not None:
        arrays.append(("c_prev", run.c[s]))
    native = jsonout._native
    arrays += [("xW", native(run, run.xw[s])), ("hU", native(run, run.hu[s])), ("pre", native(run, run.pre[s]))]
    for name, values in arrays:
        parts.append(f'"{name}": {_array_before(values)}')
    gates, natives = [], []
    for block in cell.blocks:
        act = cell.activation_of(block.canonical)
        pre = _array_before(run.gate(block.canonical, "pre")[s])
        post = _array_before(run.gate(block.canonical)[s])
        terms = json.dumps([term.key for term in run.terms(block.canonical)])
        common = f'"activation": "{act.name}", "terms": {terms}, "pre": {pre}, "act": {post}'
        if run.pre_clipped is not None:
            common += f', "clipped": {_array_before(run.pre_clipped[s][..., cell.block(block.canonical)])}'
        gates.append(f'"{block.canonical}": {{"native": "{block.native}", {common}}}')
        natives.append(f'"{block.native}": {{"canonical": "{block.canonical}", {common}}}')
    parts.append('"gates": {' + ", ".join(gates) + "}")
    parts.append('"native_gates": {' + ", ".join(natives) + "}")
    if run.gated is not None:
        parts.append(f'"reset_gated": {_array_before(run.gated[s])}')
    if run.c is not None and run.c_act is not None:
        parts.append(f'"c": {_array_before(run.c[s + 1])}')
        parts.append(f'"c_act": {_array_before(run.c_act[s])}')
    parts.append(f'"h": {_array_before(run.h[s + 1])}')
    if run.active is not None:
        parts.append(f'"active": {json.dumps(run.active[s].tolist())}')
    if back is not None:
        parts.append(f'"backward": {jsonout._backward_step(back, s)}')
    return parts[0] + ", " + ", ".join(parts[1:]) + "}"


@pytest.fixture
def before(monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """The whole document as the writer before wrote it (head, outputs, gradients, steps, backward δ's)."""

    def write(tr: Trace, steps: list[int] | None = None) -> str:
        with monkeypatch.context() as m:
            m.setattr(jsonout, "array_json", _array_before)
            m.setattr(jsonout, "number", _number_before)
            m.setattr(jsonout, "_step", lambda run, s, text, back=None: _step_before(run, s, back))
            return "".join(jsonout.iter_json(tr, steps))

    return write


def _now(tr: Trace, steps: list[int] | None = None) -> str:
    return "".join(jsonout.iter_json(tr, steps))


def _assert_same(got: str, want: str) -> None:
    """Equal texts; else where they part (pytest's own diff of two long documents takes minutes)."""
    if got != want:
        at = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), min(len(got), len(want)))
        pytest.fail(f"differ at {at}: now {got[at - 80 : at + 40]!r}, before {want[at - 80 : at + 40]!r}")


# ---- every value ------------------------------------------------------------------------------------------


def _hard_values(dtype: type[np.floating[Any]]) -> np.ndarray:
    """Values at every edge of the formatting: integral or not around 2**53, the 1e-4 / 1e6 / 1e15 / 1e16
    switches to exponents, subnormals, ±0, ±inf, NaN, the largest and smallest, plain decimals."""
    info = np.finfo(dtype)
    edges = [1e-5, 1e-4, 1e6, 1e7, 1e15, 1e16, 1e17, 2.0**23, 2.0**24, 2.0**52, 2.0**53, 2.0**54, 1.0, 0.5]
    near = []
    for e in edges:
        v = np.asarray(e, dtype)
        for _ in range(3):
            near += [v, np.nextafter(v, dtype(0)), np.nextafter(v, dtype(np.inf))]
            v = np.nextafter(v, dtype(np.inf))
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, info.max, -info.max, info.tiny, info.smallest_subnormal]
    special += [info.smallest_subnormal * 3, info.tiny / 2, 0.1, 0.2, 0.3, 1 / 3, 2 / 3, 123456.78, 9.5, -7.25]
    special += [2.0**53 - 1, 2.0**53 + 2, 1e16 + 2, 1e22, 1e-7, 1e-300, 4.35, 0.0001234, 999999.94, 100000.5]
    values = np.array([*near, *special], dtype)
    return np.concatenate([values, -values])


def _random_values(dtype: type[np.floating[Any]], rng: np.random.Generator) -> np.ndarray:
    """Every kind of value: random bit patterns (NaNs, infinities, subnormals included), plain numbers at
    every scale, numbers with few digits, integers, and bit patterns in the range orjson's text is used for."""
    bits, width = (np.uint32, 32) if dtype == np.float32 else (np.uint64, 64)
    raw = rng.integers(0, 2**width, 20_000, dtype=np.uint64).astype(bits).view(dtype)
    scaled = rng.normal(size=20_000) * 10.0 ** rng.integers(-12, 20, 20_000)
    places = 10.0 ** rng.integers(0, 6, 5_000)
    short = np.round(rng.normal(size=5_000) * 100 * places) / places
    ints = rng.integers(-1000, 1000, 2_000).astype(np.float64)
    lo, hi = (np.asarray(v, dtype).view(bits) for v in (1e-4, 1e6 if dtype == np.float32 else 1e15))
    plain = rng.integers(int(lo), int(hi), 50_000, dtype=np.uint64).astype(bits).view(dtype)
    with np.errstate(over="ignore"):
        return np.concatenate([raw, scaled.astype(dtype), short.astype(dtype), ints.astype(dtype), plain, -plain])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_every_value_reads_as_before(dtype: type[np.floating[Any]]) -> None:
    rng = np.random.default_rng(7)
    values = np.concatenate([_hard_values(dtype), _random_values(dtype, rng)])
    rng.shuffle(values)
    f32 = dtype == np.float32
    want = [_number_before(v, f32) for v in values.tolist()]
    got = ", ".join(rows(values)).split(", ")
    wrong = [(v, w, g) for v, w, g in zip(values.tolist(), want, got, strict=True) if w != g]
    assert not wrong, f"{len(wrong)} values differ, e.g. {wrong[:5]}"
    for shape in [(len(values) // 8, 8), (len(values) // 64, 4, 16), (len(values) // 6, 1, 6)]:
        part = values[: int(np.prod(shape))].reshape(shape)
        _assert_same(array_json(part), _array_before(part))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_rows_of_only_integers_and_of_mixed_values(dtype: type[np.floating[Any]]) -> None:
    values = np.array([[0.0, -0.0, 3.0, -2.0], [1.0, 0.5, np.nan, 1e-5], [0.25, 0.5, 0.75, 1.5]], dtype)
    assert array_json(values) == _array_before(values)
    assert array_json(np.zeros((2, 3), dtype)) == "[[0, 0, 0], [0, 0, 0]]"


def test_known_texts() -> None:
    """Texts read and checked by hand: the contract's plain numbers, whatever writes them."""
    f32 = np.array([0.1, 1e-5, 1e-4, 3.0, -0.0, 2.5, 1000000.5, 1 / 3, np.nan, np.inf, 0.00015], np.float32)
    # float32 1e-4 is 9.99999974738e-05, below 1e-4: numpy writes it with an exponent
    assert array_json(f32) == "[0.1, 1e-05, 1e-04, 3, 0, 2.5, 1.0000005e+06, 0.33333334, null, null, 0.00015]"
    f64 = np.array([0.1, 1e-5, 2.0**53, 2.0**53 - 1, 1e16, 1 / 3, -0.0, -np.inf, 123456789012.5], np.float64)
    assert array_json(f64) == (
        "[0.1, 1e-05, 9007199254740992.0, 9007199254740991, 1e+16, 0.3333333333333333, 0, null, 123456789012.5]"
    )
    assert array_json(np.array([[Fraction(-3, 10), Fraction(4)]], dtype=object)) == '[["-3/10", 4]]'
    assert array_json(np.array(0.5, np.float32)) == "0.5"
    assert array_json(np.zeros((0,), np.float32)) == "[]"
    assert array_json(np.zeros((2, 0), np.float32)) == "[[], []]"
    assert array_json(np.zeros((0, 3), np.float64)) == "[]"


# ---- whole documents ---------------------------------------------------------------------------------------

FILES = sorted(FIXTURES.glob("*/*.yaml"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixture_document_as_before(path: Path, before: Callable[..., str]) -> None:
    data, _ = read_fixture(path)
    tr = lstm_trace.trace(lstm_trace.Scenario.from_dict(data, source=path))
    _assert_same(_now(tr), before(tr))


@pytest.mark.parametrize("exact", [False, True], ids=["float", "exact"])
@pytest.mark.parametrize("name", ["seed", "seed_tenths", "seed_three_steps", "seed_backward", "gru", "torch_bilstm"])
def test_scenario_document_as_before(name: str, exact: bool, before: Callable[..., str]) -> None:
    try:
        tr = lstm_trace.trace(lstm_trace.load(SCENARIOS / f"{name}.yaml", exact=exact))
    except lstm_trace.ScenarioError:
        pytest.skip("this scenario's activations have no exact arithmetic")
    picked = [tr.first.steps - 1, 0] if tr.first.steps > 1 else [0]
    _assert_same(_now(tr), before(tr))
    _assert_same(_now(tr, picked), before(tr, picked))


def _long_lstm(dtype: str, steps: int = 37) -> lstm_trace.Scenario:
    """A Keras LSTM whose values hit every special case: h0 = c0 = 0, saturated gates that are exactly 1 or 0
    in float32, inputs of every scale (tiny, integral, huge), an infinite input at the last step."""
    rng = np.random.default_rng(3)
    f, u, b = 3, 5, 2
    x = rng.normal(size=(b, steps, f)) * 10.0 ** rng.integers(-6, 3, (b, steps, f))
    x[:, 4] = np.round(x[:, 4])
    x[0, 9] = 40.0  # saturates: σ and tanh give exactly 1.0
    x[1, -1, 0] = np.inf
    data = {
        "framework": "keras",
        "layer": "LSTM",
        "units": u,
        "dtype": dtype,
        "kernel": rng.uniform(-1, 1, (f, 4 * u)),
        "recurrent_kernel": rng.uniform(-1, 1, (u, 4 * u)),
        "bias": np.round(rng.uniform(-2, 2, 4 * u)),
        "inputs": x,
    }
    return lstm_trace.Scenario.from_dict(data)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("chunk", [1, 150, 400, 1 << 16], ids=lambda c: f"chunk{c}")
def test_long_run_in_chunks_as_before(
    dtype: str, chunk: int, before: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Steps formatted several at a time, ranges cut anywhere in the run, selections in any order."""
    monkeypatch.setattr(jsonout, "_CHUNK_VALUES", chunk)
    tr = lstm_trace.trace(_long_lstm(dtype))
    text = _now(tr)
    _assert_same(text, before(tr))
    last = json.loads(text)["steps"][-1]
    assert last["pre"][1] == [None] * 20 and last["x"][1][0] is None  # x = inf: every sum of that row is ±inf
    for picked in ([5, 6, 7, 8, 2, 3, 36], [36, 35, 34], [10, 10, 11]):
        _assert_same(_now(tr, picked), before(tr, picked))


@pytest.mark.parametrize(
    "path",
    [
        FIXTURES / "onnx" / "lstm_input_forget_peepholes_clip.yaml",  # pre_clipped, coupled f, order i o f c
        FIXTURES / "onnx" / "gru_linear_before_reset_bidirectional_clip.yaml",
        FIXTURES / "torch" / "lstm_two_layer_bidirectional_proj.yaml",
        FIXTURES / "gradients" / "torch_gru_two_layers_float64.yaml",  # backward δ's per step
    ],
    ids=lambda p: p.stem,
)
def test_fixtures_in_one_step_chunks_as_before(
    path: Path, before: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonout, "_CHUNK_VALUES", 1)
    data, _ = read_fixture(path)
    tr = lstm_trace.trace(lstm_trace.Scenario.from_dict(data, source=path))
    _assert_same(_now(tr), before(tr))


def test_gate_entries_read_the_record() -> None:
    """Reused text lands where it belongs: ONNX stacks its blocks i o f c (canonical i f g o), so `pre` in
    the framework's order and each gate's `pre`/`act` are different cuts of the same pieces."""
    path = FIXTURES / "onnx" / "lstm_input_forget_peepholes_clip.yaml"
    data, _ = read_fixture(path)
    tr = lstm_trace.trace(lstm_trace.Scenario.from_dict(data, source=path))
    run = tr.first
    assert [b.native for b in run.cell.blocks] == ["i", "o", "f", "c"]
    for step in json.loads(_now(tr))["steps"][: run.steps]:
        s = step["t"] - 1
        pre = np.asarray(step["pre"], np.float32)
        cols = [run.cell.block(g) for g in ("i", "o", "f", "g")]
        np.testing.assert_array_equal(pre, np.concatenate([run.pre[s][:, c] for c in cols], axis=1))
        for g, native in zip("ifgo", "ifco", strict=True):
            entry = step["gates"][g]
            np.testing.assert_array_equal(np.asarray(entry["pre"], np.float32), run.blocks[g].pre[s])
            np.testing.assert_array_equal(np.asarray(entry["act"], np.float32), run.blocks[g].act[s])
            assert step["native_gates"][native] == {"canonical": g, **{k: v for k, v in entry.items() if k != "native"}}
        np.testing.assert_array_equal(np.asarray(step["h_prev"], np.float32), run.h[s])
        np.testing.assert_array_equal(np.asarray(step["h"], np.float32), run.h[s + 1])


def test_ranges_keep_the_order_asked_for() -> None:
    assert jsonout._ranges(range(5), 10) == [(0, 5)]
    assert jsonout._ranges(range(5), 2) == [(0, 2), (2, 4), (4, 5)]
    assert jsonout._ranges([0, 1, 2, 5, 6, 3], 2) == [(0, 2), (2, 3), (5, 7), (3, 4)]
    assert jsonout._ranges([4, 4, 3], 8) == [(4, 5), (4, 5), (3, 4)]
