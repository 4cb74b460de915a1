"""Bounded before the work: every size a scenario can ask for is checked before it is read, built or run.

Each class of input that would otherwise take unbounded memory or time (a trace too large for memory, a
YAML file of millions of values or an alias bomb, an array file whose header claims terabytes, a FIFO or a
device for a file, a --steps range of millions) is refused with exit 2 and one message, quickly, with
little memory spent: tracemalloc's peak shows nothing of the size asked for was allocated.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import lstm_trace
from conftest import SCENARIOS, SEED, run_cli, write_scenario
from lstm_trace import budget, limits
from lstm_trace.errors import shown
from lstm_trace.render.selection import SelectionError, parse_ranges
from lstm_trace.yamlio import MarkedList, _Loader, parse_yaml

MiB = 2**20


def refused(*args: str, parts: tuple[str, ...] = (), seconds: float = 5.0, peak_mib: float = 50) -> str:
    """Run the CLI; it must exit 2 with one `error:` message holding `parts`, with a tracemalloc peak under
    `peak_mib`, writing nothing to standard output. Time is not asserted (this machine is shared): `seconds` is
    kept for callers, and what could hang (a FIFO) runs under its own alarm."""
    tracemalloc.start()
    try:
        result = run_cli(*args)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = result.stderr
    assert result.exit_code == 2, (result.exit_code, message, result.output[:300])
    assert message.startswith("error: ") and message.count("error: ") == 1, message
    assert "Traceback" not in message and result.output == "", message
    for part in parts:
        assert part in message, f"{part!r} not in:\n{message}"
    assert peak < peak_mib * MiB, f"peak {peak / MiB:.0f} MiB"
    return message


@contextlib.contextmanager
def no_hang(seconds: int = 10) -> Iterator[None]:
    """Fail instead of hanging: a FIFO opened for reading waits for a writer forever."""

    def interrupt(signum: int, frame: Any) -> None:
        raise TimeoutError(f"still waiting after {seconds} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    """The bytes of a .npy header claiming `shape`, without the data."""
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": descr, "fortran_order": False, "shape": shape})
    return out.getvalue()


def lstm_text(units: int, inputs: str, extra: str = "") -> str:
    """A Keras LSTM of `units` with weights from .npy files beside the scenario, and `inputs`."""
    return (
        f"framework: keras\nlayer: LSTM\nconfig: {{units: {units}, return_sequences: true}}\n"
        f"weights: {{kernel: {{npy: k.npy}}, recurrent_kernel: {{npy: u.npy}}, bias: {{npy: b.npy}}}}\n"
        f"inputs: {inputs}\n{extra}"
    )


def save_lstm(tmp_path: Path, features: int, units: int) -> None:
    np.save(tmp_path / "k.npy", np.full((features, 4 * units), 0.01, np.float32))
    np.save(tmp_path / "u.npy", np.full((units, 4 * units), 0.01, np.float32))
    np.save(tmp_path / "b.npy", np.zeros(4 * units, np.float32))


# ---- memory: the trace's size worked out from the shapes, before anything runs


def test_a_trace_too_large_for_memory_is_refused_with_its_estimate(tmp_path: Path) -> None:
    """B = T = U = 1000, every array under the element cap (the recurrent kernel is 4 million numbers):
    the record would be xw, hu, pre, act: 4 × T·B·4U = 16e9 numbers; h and c: 2 × (T+1)·B·U = 2.002e9;
    act(c): 1e9; the returned sequence: 1e9; x: 1e6. 20.003e9 float32 numbers are 80.01e9 bytes, 74.5 GiB:
    refused before numpy is asked for any of it."""
    save_lstm(tmp_path, 1, 1000)
    np.save(tmp_path / "x.npy", np.zeros((1000, 1000, 1), np.float32))
    path = write_scenario(tmp_path, lstm_text(1000, "{npy: x.npy}"))
    message = refused("run", str(path), "--format", "json", parts=(
        f"{path}: the trace would not fit in memory", "74.5 GiB for the forward record", "T = 1000", "B = 1000",
        "--steps only picks the steps shown", "--max-memory SIZE",
    ), peak_mib=80)  # fmt: skip
    assert "half the memory available now" in message
    # JSON joins the sequence's 1e9 numbers into one text, ~24 bytes each, and then writes one step at a time,
    # 3 × 19.003e6 numbers (a step's record under both names): 24 × 1.057e9 bytes = 23.6 GiB more
    assert "23.6 GiB for the view" in message


def _peak(fn: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _keras(layer: str, units: int, batch: int, steps: int, **config: Any) -> dict[str, Any]:
    rng = np.random.default_rng(1)
    g = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}[layer]
    bias = np.zeros((2, g * units)) if layer == "GRU" else np.zeros(g * units)
    return {
        "layer": layer,
        "config": {"units": units, "return_sequences": True, **config},
        "weights": {"kernel": rng.normal(size=(4, g * units)), "recurrent_kernel": rng.normal(size=(units, g * units)),
                    "bias": bias},
        "inputs": rng.normal(size=(batch, steps, 4)),
    }  # fmt: skip


def _torch_stack(units: int, batch: int, steps: int) -> dict[str, Any]:
    """torch nn.LSTM(4, units, num_layers=2, bidirectional=True, proj_size=units // 2): a layer stack."""
    rng = np.random.default_rng(2)
    out = units // 2
    weights = {}
    for depth in range(2):
        for suffix in ("", "_reverse"):
            width = 4 if depth == 0 else 2 * out
            weights[f"weight_ih_l{depth}{suffix}"] = rng.normal(size=(4 * units, width)) * 0.3
            weights[f"weight_hh_l{depth}{suffix}"] = rng.normal(size=(4 * units, out)) * 0.3
            weights[f"bias_ih_l{depth}{suffix}"] = np.zeros(4 * units)
            weights[f"bias_hh_l{depth}{suffix}"] = np.zeros(4 * units)
            weights[f"weight_hr_l{depth}{suffix}"] = rng.normal(size=(out, units)) * 0.3
    config = {"input_size": 4, "hidden_size": units, "num_layers": 2, "bidirectional": True, "proj_size": out,
              "batch_first": True}  # fmt: skip
    return {"framework": "torch", "layer": "LSTM", "config": config, "weights": weights,
            "inputs": rng.normal(size=(batch, steps, 4))}  # fmt: skip


def _onnx_options(units: int, batch: int, steps: int) -> dict[str, Any]:
    """An ONNX LSTM with peepholes, clip and sequence_lens: the optional arrays and the step mask."""
    rng = np.random.default_rng(3)
    lengths = [steps - (b % 3) for b in range(batch)]
    return {
        "framework": "onnx", "layer": "LSTM",
        "config": {"hidden_size": units, "clip": 2.0, "sequence_lens": lengths, "layout": 1},
        "weights": {"W": rng.normal(size=(1, 4 * units, 4)), "R": rng.normal(size=(1, 4 * units, units)) * 0.3,
                    "B": np.zeros((1, 8 * units)), "P": rng.normal(size=(1, 3 * units))},
        "inputs": rng.normal(size=(batch, steps, 4)),
    }  # fmt: skip


def _keras_stack(units: int, batch: int, steps: int) -> dict[str, Any]:
    """A Keras Sequential: LSTM(units) then Bidirectional(GRU(units // 2)), with a mask on some last steps."""
    rng = np.random.default_rng(4)
    half = units // 2

    def gru() -> list[np.ndarray]:
        return [
            rng.normal(size=(units, 3 * half)) * 0.3,
            rng.normal(size=(half, 3 * half)) * 0.3,
            np.zeros((2, 3 * half)),
        ]

    lstm = {"kernel": rng.normal(size=(4, 4 * units)) * 0.3, "recurrent_kernel": rng.normal(size=(units, 4 * units)) * 0.3,
            "bias": np.zeros(4 * units)}  # fmt: skip
    bidirectional = {"merge_mode": "concat", "layer": {"class_name": "GRU", "config": {"units": half,
                     "return_sequences": True}}}  # fmt: skip
    return {
        "framework": "keras",
        "layers": [
            {"layer": "LSTM", "config": {"units": units, "return_sequences": True}, "weights": lstm},
            {"layer": "Bidirectional", "config": bidirectional, "weights": gru() + gru()},
        ],
        "inputs": rng.normal(size=(batch, steps, 4)),
        "mask": [[t < steps - b % 4 for t in range(steps)] for b in range(batch)],
    }


CASES = {
    "keras LSTM": lambda: _keras("LSTM", 24, 16, 60),
    "keras GRU": lambda: _keras("GRU", 24, 16, 60, reset_after=True),
    "keras SimpleRNN": lambda: _keras("SimpleRNN", 24, 16, 60),
    "torch stack": lambda: _torch_stack(24, 16, 60),
    "onnx options": lambda: _onnx_options(24, 16, 60),
    "keras stack with a mask": lambda: _keras_stack(24, 16, 60),
}


@pytest.mark.parametrize("backward", [False, True], ids=["forward", "backward"])
@pytest.mark.parametrize("case", list(CASES))
def test_the_estimate_is_what_a_trace_takes(case: str, backward: bool) -> None:
    """tracemalloc's peak while tracing (numpy reports its arrays to it) against the estimate made before."""
    data = CASES[case]()
    if backward:
        name = next(iter(lstm_trace.trace(lstm_trace.Scenario.from_dict(data)).outputs))
        data["backward"] = {"loss": "sum", "of": name}
    sc = lstm_trace.Scenario.from_dict(data)
    estimate = budget.estimate(sc.network, backward=backward)
    peak = _peak(lambda: lstm_trace.trace(sc))
    assert 0.7 < peak / estimate.total < 1.35, (peak, estimate)


def test_max_memory_refuses_what_the_default_would_run(tmp_path: Path) -> None:
    """keras LSTM(24), B=16, T=60: its estimate is a few hundred KiB; 100K is too little, 10M plenty."""
    sc = lstm_trace.Scenario.from_dict(_keras("LSTM", 24, 16, 60))
    total = budget.estimate(sc.network).total
    assert 100 * 2**10 < total < 10 * MiB
    np.save(tmp_path / "x.npy", np.asarray(sc.network.inputs))
    save_lstm(tmp_path, 4, 24)
    path = write_scenario(tmp_path, lstm_text(24, "{npy: x.npy}", f"expect: {{h: {[[0.0] * 24] * 16}}}\n"))
    for command in (["run"], ["check"], ["worksheet", "--blank", "h"], ["present"]):
        refused(*command, str(path), "--max-memory", "100K",
                parts=("would not fit in memory", "at most 100 KiB, the --max-memory given"))  # fmt: skip
    assert run_cli("run", str(path), "--max-memory", "10M", "--format", "markdown").exit_code == 0
    assert run_cli("check", str(path), "--max-memory", "10M").exit_code == 1  # runs: h is not all zeros


def test_max_memory_takes_sizes() -> None:
    assert budget.parse_size("500M") == 500 * MiB
    assert budget.parse_size("2G") == 2 * 2**30
    assert budget.parse_size("1.5GiB") == 3 * 2**29
    assert budget.parse_size(" 800000 ") == 800000
    assert budget.parse_size("64kb") == 64 * 1024
    for bad in ("", "2X", "-1G", "0", "G", "1e9"):
        with pytest.raises(ValueError):
            budget.parse_size(bad)
    result = run_cli("run", str(SCENARIOS / "seed.yaml"), "--max-memory", "lots")
    assert result.exit_code == 2 and "'lots' is not a size" in result.stderr


def test_the_python_api_refuses_too() -> None:
    sc = lstm_trace.Scenario.from_dict(_keras("LSTM", 24, 16, 60))
    with pytest.raises(lstm_trace.ScenarioError, match="would not fit in memory"):
        lstm_trace.trace(sc, max_memory=1000)
    with pytest.raises(lstm_trace.ScenarioError, match="at most 1000 bytes"):
        lstm_trace.trace(sc, max_memory="1000")
    assert lstm_trace.trace(sc, max_memory="10M").outputs["sequence"].shape == (16, 60, 24)


def test_the_default_budget_is_half_the_available_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    total = int(Path("/proc/meminfo").read_text().split()[1]) * 1024  # MemTotal, the first line
    assert 0 < (budget.available() or 0) <= total
    monkeypatch.setattr(budget, "available", lambda: 8 * 2**30)
    assert budget.default_budget() == 4 * 2**30
    monkeypatch.setattr(budget, "available", lambda: None)
    assert budget.default_budget() == budget.FALLBACK


def test_a_backward_block_and_a_json_view_count_too(tmp_path: Path) -> None:
    """The same layer fits a budget between its forward estimate and its estimate with the backward pass,
    or with the JSON view's text, only without them."""
    data = _keras("LSTM", 24, 16, 60)
    sc = lstm_trace.Scenario.from_dict(data)
    forward = budget.estimate(sc.network)
    with_json = budget.estimate(sc.network, view="json")
    np.save(tmp_path / "x.npy", np.asarray(sc.network.inputs))
    save_lstm(tmp_path, 4, 24)
    plain = write_scenario(tmp_path, lstm_text(24, "{npy: x.npy}"), "plain.yaml")
    limit = str((forward.total + with_json.total) // 2)
    assert run_cli("run", str(plain), "--max-memory", limit, "--format", "markdown").exit_code == 0
    refused("run", str(plain), "--max-memory", limit, "--format", "json",
            parts=("for the view", "another --format"))  # fmt: skip
    back = write_scenario(tmp_path, lstm_text(24, "{npy: x.npy}", "backward: {loss: sum, of: sequence}\n"))
    total = budget.estimate(lstm_trace.load(back).network, backward=True).total
    limit = str((forward.total + total) // 2)
    refused("run", str(back), "--max-memory", limit, "--format", "markdown",
            parts=("for the backward pass", "no backward block"))  # fmt: skip


# ---- YAML: counted while it is parsed


def test_yaml_nodes_are_capped_while_parsing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Nodes in order: the mapping (1), the key `inputs` (2), the sequence (3), then one per line from line
    2: the 501st node, past a cap of 500, is the 498th number, on line 499."""
    monkeypatch.setattr(limits, "MAX_NODES", 500)
    path = write_scenario(tmp_path, "inputs:\n" + "- 0.5\n" * 1000)
    refused("run", str(path), parts=("line 499: inputs[497]: too many YAML values to read one by one",
                                     "at most 500", "flow lists of plain numbers"))  # fmt: skip


def test_numbers_yaml_writes_otherwise_take_the_fast_path(tmp_path: Path) -> None:
    """Two million numbers written `.5`, which JSON does not read as it stands: read fast, not one YAML node
    at a time (which took a minute and gigabytes); the YAML 1.2 forms read as the slow path reads them."""
    forms = ["+.5", "012", "5.", "1.e5", "-.5e-3", "0", "-0", "007.5", ".25", "+3", "1E+2", "-007"]
    text = "a: [" + ", ".join(forms * 200) + "]\n"
    fast, slow = parse_yaml(text), yaml.load(text, Loader=_Loader)
    assert type(fast["a"]).__name__ == "NumericList" and fast == slow
    assert [type(v) for v in fast["a"][:12]] == [type(v) for v in slow["a"][:12]]
    assert fast["a"][:12] == [0.5, 12, 5.0, 100000.0, -0.0005, 0, 0, 7.5, 0.25, 3, 100.0, -7]
    numbers = ", ".join([".5"] * 2_000_000)
    peak = _peak(lambda: parse_yaml(f"inputs: [[{numbers}]]\n"))
    assert peak < 250 * MiB  # one YAML node per number would take gigabytes


BOMB = "".join(f"    a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 10)}]\n" for k in range(1, 6))
BOMB_CONFIG = "config:\n  units: 1\n  kernel_initializer:\n    a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + BOMB
TINY = "weights: {kernel: [[1, 1, 1, 1]], recurrent_kernel: [[1, 1, 1, 1]], bias: [0, 0, 0, 0]}\ninputs: [[1]]\n"


@pytest.mark.parametrize(
    ("use", "found"),
    [
        ("title: *a5\n", "title: must be text"),
        ("framework: *a5\n", "framework must be a name"),
        ("activation: *a5\n", "unknown keras activation"),
        ("units: *a5\n", "units"),
    ],
)
def test_an_alias_bomb_in_an_ignored_option_is_never_expanded(tmp_path: Path, use: str, found: str) -> None:
    """a5 stands for a million numbers in six lines, kept in an option that has no effect (kernel_initializer),
    then used where a name or text belongs: refused with a short message, nothing printed or compared whole."""
    message = refused("run", str(write_scenario(tmp_path, BOMB_CONFIG + TINY + use)), parts=(found,))
    assert len(message) < 1500


def test_equal_shortcut_and_long_form_values_are_compared_by_size(tmp_path: Path) -> None:
    """The same million-number alias given twice (top-level units and config.units) is the same value; two
    of different sizes differ without being walked."""
    text = BOMB_CONFIG + "  activation: *a5\n" + TINY + "activation: *a4\n"
    refused("run", str(write_scenario(tmp_path, text)), parts=("activation is given twice with different values",))

    class Boom:
        def __eq__(self, other: object) -> bool:
            raise AssertionError("compared item by item")

        __hash__ = object.__hash__

    small, large = MarkedList([Boom()]), MarkedList([Boom()])
    small.size, large.size = 2, 3
    assert small != large
    assert (small == large) is False


def test_values_are_printed_bounded() -> None:
    bomb = parse_yaml("a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + BOMB.replace("    ", "") + "b: *a5\n")["b"]
    assert bomb.size == 1_111_111  # 10⁶ numbers and the lists holding them
    assert len(repr(bomb)) < 400 and len(str(bomb)) < 400
    assert shown("x" * 10**7).endswith("xxx'") and len(shown("x" * 10**7)) < 100


def test_an_alias_that_holds_itself_is_refused(tmp_path: Path) -> None:
    refused("run", str(write_scenario(tmp_path, "title: &a [1, *a]\n")),
            parts=("line 1: title[1]: a YAML alias stands for the very list or mapping that holds it",))  # fmt: skip


def test_an_array_written_out_is_counted_before_json_reads_it(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:  # fmt: skip
    monkeypatch.setattr(limits, "MAX_ELEMENTS", 1000)
    text = SEED.replace("[[[1, 0]]]", "[[" + ", ".join(["[0.5, 1]"] * 1500) + "]]")
    refused("run", str(write_scenario(tmp_path, text)), parts=("line 8: array too large", "a list of 3,000 numbers"))
    monkeypatch.setattr(limits, "MAX_ELEMENTS", 10_000)
    monkeypatch.setattr(limits, "MAX_VALUES", 2000)
    refused("run", str(write_scenario(tmp_path, text)), parts=("describes too many values", "at most 2,000"))


def test_a_scenario_file_over_the_size_cap_is_not_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 1000)
    path = write_scenario(tmp_path, SEED + "#" * 2000 + "\n")
    refused("run", str(path), parts=("the scenario file is too large", f"{path.stat().st_size:,} bytes"))


# ---- array files: the header checked before the data is read


def test_an_npy_header_claiming_terabytes_is_refused_unread(tmp_path: Path) -> None:
    (tmp_path / "x.npy").write_bytes(npy_header((10**6, 10**6)) + bytes(16))
    path = write_scenario(tmp_path, SEED.replace("[[[1, 0]]]", "{npy: x.npy}"))
    refused("run", str(path), parts=("array too large to trace", "(1000000, 1000000)", "1,000,000,000,000 elements"))


def test_an_npz_that_expands_a_thousandfold_is_refused_by_its_header(tmp_path: Path) -> None:
    """A compressed member whose header claims 400 million float64s (3.2 GB): the header is all that is read,
    so the refusal is the element count, not the data's end."""
    with zipfile.ZipFile(tmp_path / "w.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("x.npy", npy_header((400_000_000,)) + bytes(MiB))
    assert (tmp_path / "w.npz").stat().st_size < 10_000
    for ref, part in (("{npz: w.npz, key: x}", "inputs.x: array too large"), ("{npz: w.npz}", "weights: array too")):
        text = SEED.replace("[[[1, 0]]]", ref) if "key" in ref else "framework: torch\nweights: {npz: w.npz}\n"
        refused("run", str(write_scenario(tmp_path, text + "inputs: [[1]]\n" * ("key" not in ref))),
                parts=(part, "400,000,000 elements"))  # fmt: skip


def test_array_files_that_end_early_or_hold_objects(tmp_path: Path) -> None:
    (tmp_path / "short.npy").write_bytes(npy_header((100,)) + bytes(80))
    (tmp_path / "objects.npy").write_bytes(npy_header((2,), "|O") + bytes(16))
    refused("run", str(write_scenario(tmp_path, SEED.replace("[[[1, 0]]]", "{npy: short.npy}"))),
            parts=("not a readable .npy array file: it is cut short",))  # fmt: skip
    refused("run", str(write_scenario(tmp_path, SEED.replace("[[[1, 0]]]", "{npy: objects.npy}"))),
            parts=("it holds Python objects (pickled), which are never loaded",))  # fmt: skip


def test_csv_cells_are_counted_as_they_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(limits, "MAX_ELEMENTS", 100)
    (tmp_path / "x.csv").write_text("\n".join([",".join(["0.5"] * 40)] * 3) + "\n")
    path = write_scenario(tmp_path, SEED.replace("[[[1, 0]]]", "{csv: x.csv}"))
    refused("run", str(path), parts=("array too large to trace", "(120,)"))
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 450)  # the scenario is 391 bytes, the .csv 3 × 160
    refused("run", str(path), parts=("line 8: inputs: the array file is too large", "480 bytes"))


# ---- what is not a regular file is refused before it is opened


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_is_not_a_scenario(device: str, tmp_path: Path) -> None:
    refused("run", device, parts=(f"{device}: the scenario file is a device, not a regular file",))
    (tmp_path / "link.yaml").symlink_to(device)
    refused("run", str(tmp_path / "link.yaml"), parts=("is a device, not a regular file",))


def test_a_fifo_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")
    os.mkfifo(tmp_path / "pipe.npy")
    (tmp_path / "zero.npy").symlink_to("/dev/zero")
    with no_hang():
        refused("run", str(tmp_path / "pipe.yaml"), parts=("the scenario file is a pipe (FIFO), not a regular file",))
        for name, kind in (("pipe.npy", "a pipe (FIFO)"), ("zero.npy", "a device")):
            path = write_scenario(tmp_path, SEED.replace("[[[1, 0]]]", f"{{npy: {name}}}"))
            refused("run", str(path), parts=(f"line 8: inputs: the array file is {kind}, not a regular file",))


# ---- --steps, --batch, --units: checked against the trace's sizes before any list is built


@pytest.mark.parametrize("option", ["--steps", "--batch", "--units"])
def test_a_range_of_millions_is_refused_unexpanded(option: str) -> None:
    size = {"--steps": 1, "--batch": 1, "--units": 3}[option]
    for command in (["run"], ["worksheet", "--blank", "h"]):
        refused(*command, str(SCENARIOS / "seed.yaml"), option, "2-100000000", peak_mib=10,
                parts=(f"{option}: 100000000 is beyond the last ({size})",))  # fmt: skip


def test_ranges_resolve_against_the_trace() -> None:
    assert parse_ranges("1,3-5", "steps", 5) == [0, 2, 3, 4]
    assert parse_ranges("2, 2-3", "steps", 3) == [1, 2]
    assert parse_ranges("all", "units", 3) == [0, 1, 2]
    with pytest.raises(SelectionError, match="--batch: 9 is beyond the last"):
        parse_ranges("2-9", "batch", 3)
    assert run_cli("run", str(SCENARIOS / "seed.yaml"), "--steps", "all", "--units", "1,3").exit_code == 0


# ---- the input surfaces: backward blocks, lengths, layer stacks


def test_a_backward_block_reads_its_arrays_within_the_caps(tmp_path: Path) -> None:
    (tmp_path / "g.npy").write_bytes(npy_header((10**5, 10**5)))
    text = SEED + "backward: {sequence: {npy: g.npy}}\n"
    refused("run", str(write_scenario(tmp_path, text)), parts=("backward.sequence", "array too large"))


def test_a_padded_length_is_held_to_the_element_cap(tmp_path: Path) -> None:
    """torch's pad_packed_sequence(total_length=10¹¹) would pad the output to 10¹¹ steps."""
    text = (
        "framework: torch\nlayer: LSTM\nconfig:\n  input_size: 1\n  hidden_size: 1\n"
        "  pack_padded_sequence: {lengths: [1]}\n  pad_packed_sequence: {total_length: 100000000000}\n"
        "weights: {weight_ih_l0: [[1], [1], [1], [1]], weight_hh_l0: [[1], [1], [1], [1]], "
        "bias_ih_l0: [0, 0, 0, 0], bias_hh_l0: [0, 0, 0, 0]}\ninputs: [[1]]\n"
    )
    refused("run", str(write_scenario(tmp_path, text)), parts=(
        "line 7: config.pad_packed_sequence.total_length: total_length too large to trace", "at most 20,000,000 steps",
    ))  # fmt: skip


def test_sequence_lengths_that_are_an_alias_bomb(tmp_path: Path) -> None:
    """ONNX sequence_lens holding every level of a bomb, the last standing for 10⁵ numbers: refused as
    lengths, the value shown in a few lines."""
    levels = ["&a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    levels += [f"&a{k} [{', '.join([f'*a{k - 1}'] * 10)}]" for k in range(1, 5)] + [f"[{', '.join(['*a4'] * 10)}]"]
    text = (f"framework: onnx\nlayer: RNN\nconfig:\n  hidden_size: 1\n  sequence_lens: [{', '.join(levels)}]\n"
            "weights: {W: [[[1]]], R: [[[1]]]}\ninputs: [[[1]]]\n")  # fmt: skip
    message = refused(
        "run", str(write_scenario(tmp_path, text)), parts=("config.sequence_lens: sequence_lens must give",)
    )
    assert len(message) < 1000


def test_a_layer_stack_asks_for_its_weights_before_building_layers(tmp_path: Path) -> None:
    text = (
        "framework: torch\nlayer: LSTM\nconfig: {input_size: 1, hidden_size: 1, num_layers: 1000000000}\n"
        "weights: {weight_ih_l0: [[1], [1], [1], [1]], weight_hh_l0: [[1], [1], [1], [1]]}\ninputs: [[1]]\n"
    )
    refused("run", str(write_scenario(tmp_path, text)), parts=("missing weight",))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["0", "5", ".5", "5.", "+5", "-5", "05", "1e3", "1.e-3", "-.5", "+.5E+2"]),
                min_size=800, max_size=1000))  # fmt: skip
def test_the_fast_path_reads_as_yaml_reads(numbers: list[str]) -> None:
    text = "a: [" + ", ".join(numbers) + "]\n"
    fast, slow = parse_yaml(text), yaml.load(text, Loader=_Loader)
    assert type(fast["a"]).__name__ == "NumericList"
    assert fast == slow and [type(v) for v in fast["a"]] == [type(v) for v in slow["a"]]


def test_the_readme_states_the_limits_in_force() -> None:
    readme = (SCENARIOS.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Limits\n", 1)[1].split("\n## ", 1)[0]
    for number in (limits.MAX_ELEMENTS, limits.MAX_NODES, limits.MAX_VALUES, limits.MAX_LAYERS):
        assert f"{number:,}" in section, number
    assert f"{limits.MAX_FILE_BYTES // MiB} MiB" in section
    assert budget.SHARE == 0.5 and "half the memory" in section


def test_a_stack_of_aliased_layers_is_refused_before_it_is_built(tmp_path: Path) -> None:
    """One layer written once and listed 20 000 times by alias: refused by the count, not built layer by layer."""
    layer = "{layer: SimpleRNN, config: {units: 1, return_sequences: true}, weights: [[[1]], [[0]], [0]]}"
    text = f"framework: keras\nlayers: [&l {layer}, " + ", ".join(["*l"] * 20_000) + "]\ninputs: [[1]]\n"
    refused("run", str(write_scenario(tmp_path, text)), parts=("line 2: layers: too many layers", "20,001"))


def test_a_layer_stack_over_the_layer_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_LAYERS", 1)
    with pytest.raises(lstm_trace.ScenarioError, match="too many layers to trace"):
        lstm_trace.trace(lstm_trace.Scenario.from_dict(_torch_stack(4, 2, 3)))


def test_an_initial_state_larger_than_memory_is_one_message(tmp_path: Path) -> None:
    """SimpleRNN(4400) over B = 2 000 000 rows of one step: every array under the element cap (the recurrent
    kernel, 19.4 million numbers, written with aliases), but the zero initial state alone is B·H = 8.8e9 numbers,
    35 GB. The build asks for it before the estimate is made; the system gives it as untouched pages or refuses
    it: either way exit 2 with one message, and the process's resident memory stays small. Run as a process of
    its own, whose peak resident memory it reports."""
    np.save(tmp_path / "x.npy", np.zeros((2_000_000, 1, 1), np.float32))
    row = "[" + ", ".join(["0"] * 4400) + "]"
    text = (
        f"framework: keras\nlayer: SimpleRNN\nconfig:\n  units: 4400\n  kernel_initializer: {{row: &u0 {row}}}\n"
        f"weights:\n  kernel: [{row}]\n  recurrent_kernel: [{', '.join(['*u0'] * 4400)}]\n  bias: *u0\n"
        "inputs: {npy: x.npy}\n"
    )
    path = write_scenario(tmp_path, text)
    child = (
        "import resource, sys\nfrom lstm_trace.cli import main\n"
        "try:\n    main(['run', sys.argv[1], '--format', 'json'])\nexcept SystemExit as done:\n    code = done.code\n"
        "print('rss', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, 'exit', code, file=sys.stderr)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(lstm_trace.__file__).parent.parent)}
    done = subprocess.run([sys.executable, "-c", child, str(path)], capture_output=True, text=True, timeout=120,
                          env=env)  # fmt: skip
    message, _, report = done.stderr.rpartition("rss ")
    rss_kib, code = int(report.split()[0]), report.split()[2]
    assert code == "2" and done.stdout == "" and "Traceback" not in message, done.stderr[-2000:]
    assert message.startswith("error: ") and message.count("error: ") == 1, message
    assert "not enough memory to build the layer" in message or "would not fit in memory" in message
    assert rss_kib < 1500 * 1024, f"{rss_kib // 1024} MiB resident"
