"""Fuzzing the front door: random mappings, shapes and bytes never escape as a traceback.

Every refusal is exit 2 with an `error:` message; anything accepted traces
(exit 0). The CLI runs in-process so that an unexpected exception fails the
test with its own traceback.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_limits import no_hang, npy_header

import lstm_trace
from conftest import SCENARIOS, SEED
from lstm_trace.cli import main
from lstm_trace.scenario import TOP_KEYS

SEED_FILE = SCENARIOS / "seed.yaml"

# FUZZ_EXAMPLES=2000 pytest tests/test_fuzz.py for a longer hunt
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
LIMITS = settings(FUZZ, max_examples=max(10, FUZZ.max_examples // 5))  # each example traces or parses more
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.text(max_size=6),
    st.sampled_from(["keras", "keras2", "torch", "tf1", "onnx", "LSTM", "GRU", "RNN", "LSTMCell", "tanh", "relu"]),
)
numbers = st.floats(-3, 3, width=32) | st.integers(-3, 3)
arrays = st.recursive(st.lists(numbers, max_size=4), lambda inner: st.lists(inner, max_size=3), max_leaves=40)
values = st.recursive(
    scalars | arrays,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=20,
)
keys = st.sampled_from(TOP_KEYS) | st.text(max_size=10)


def run_file(text: str | bytes) -> tuple[int, str, str]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.yaml"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        result = CliRunner().invoke(main, ["run", str(path), "--format", "json"], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def assert_clean(code: int, out: str, err: str) -> None:
    assert code in (0, 2), (code, err)
    assert "Traceback" not in out + err
    if code == 2:
        assert err.startswith("error: ") and out == ""


@FUZZ
@given(st.dictionaries(keys, values, max_size=8))
def test_random_mappings(data: dict[str, Any]) -> None:
    with contextlib.suppress(lstm_trace.ScenarioError):
        lstm_trace.trace(lstm_trace.Scenario.from_dict(data))
    assert_clean(*run_file(yaml.safe_dump(data)))


@FUZZ
@given(
    framework=st.sampled_from(["keras", "keras2"]),
    layer=st.sampled_from(["LSTM", "GRU", "SimpleRNN"]),
    units=st.integers(0, 3),
    shapes=st.lists(st.lists(st.integers(0, 5), min_size=0, max_size=3), min_size=4, max_size=4),
    reset_after=st.booleans(),
)
def test_random_shapes(framework: str, layer: str, units: int, shapes: list[list[int]], reset_after: bool) -> None:
    def filled(shape: list[int]) -> Any:
        return [filled(shape[1:]) for _ in range(shape[0])] if shape else 0.5

    data = {
        "framework": framework,
        "layer": layer,
        "config": {"units": units, **({"reset_after": reset_after} if layer == "GRU" else {})},
        "weights": {"kernel": filled(shapes[0]), "recurrent_kernel": filled(shapes[1]), "bias": filled(shapes[2])},
        "inputs": filled(shapes[3]),
    }
    assert_clean(*run_file(yaml.safe_dump(data)))


@FUZZ
@given(
    layer=st.sampled_from(["LSTM", "GRU", "RNN"]),
    hidden=st.integers(1, 3),
    layers=st.integers(1, 2),
    bidirectional=st.booleans(),
    proj=st.integers(0, 2),
    drop=st.sampled_from([None, "weight_ih_l0", "bias_hh_l0", "weight_hh_l1_reverse", "weight_hr_l0"]),
)
def test_random_torch(layer: str, hidden: int, layers: int, bidirectional: bool, proj: int, drop: str | None) -> None:
    g = {"LSTM": 4, "GRU": 3, "RNN": 1}[layer]
    out = proj if layer == "LSTM" and 0 < proj < hidden else hidden
    weights: dict[str, Any] = {}
    for depth in range(layers):
        for suffix in ("", "_reverse") if bidirectional else ("",):
            width = 2 if depth == 0 else out * (2 if bidirectional else 1)
            weights[f"weight_ih_l{depth}{suffix}"] = [[0.1] * width] * (g * hidden)
            weights[f"weight_hh_l{depth}{suffix}"] = [[0.1] * out] * (g * hidden)
            weights[f"bias_ih_l{depth}{suffix}"] = [0.0] * (g * hidden)
            weights[f"bias_hh_l{depth}{suffix}"] = [0.0] * (g * hidden)
            if out != hidden:
                weights[f"weight_hr_l{depth}{suffix}"] = [[0.1] * hidden] * out
    weights.pop(drop or "", None)
    config = {"hidden_size": hidden, "num_layers": layers, "bidirectional": bidirectional}
    if layer == "LSTM":
        config["proj_size"] = proj
    data = {"framework": "torch", "layer": layer, "config": config, "weights": weights, "inputs": [[1, 2], [3, 4]]}
    code, out_text, err = run_file(yaml.safe_dump(data))
    assert_clean(code, out_text, err)
    valid = layer != "LSTM" or proj < hidden  # torch requires proj_size < hidden_size
    unused = (drop == "weight_hr_l0" and out == hidden) or (
        drop == "weight_hh_l1_reverse" and not (layers == 2 and bidirectional)
    )
    if valid and (drop is None or unused):
        assert code == 0, err
    elif valid and drop is not None:
        assert code == 2 and "missing weight" in err, err
    else:
        assert code == 2, err


@FUZZ
@given(
    layer=st.sampled_from(["LSTM", "GRU", "RNN"]),
    hidden=st.integers(1, 3),
    direction=st.sampled_from(["forward", "reverse", "bidirectional"]),
    attributes=st.dictionaries(
        st.sampled_from(
            [
                "clip",
                "input_forget",
                "linear_before_reset",
                "layout",
                "activations",
                "activation_alpha",
                "sequence_lens",
            ]
        ),
        values,
        max_size=3,
    ),
    peepholes=st.booleans(),
)
def test_random_onnx(layer: str, hidden: int, direction: str, attributes: dict[str, Any], peepholes: bool) -> None:
    g, d = {"LSTM": 4, "GRU": 3, "RNN": 1}[layer], 2 if direction == "bidirectional" else 1
    weights: dict[str, Any] = {
        "W": [[[0.1, -0.2]] * (g * hidden)] * d,
        "R": [[[0.1] * hidden] * (g * hidden)] * d,
        "B": [[0.05] * (2 * g * hidden)] * d,
    }
    if peepholes and layer == "LSTM":
        weights["P"] = [[0.3] * (3 * hidden)] * d
    config = {"hidden_size": hidden, "direction": direction, **attributes}
    data = {"framework": "onnx", "layer": layer, "config": config, "weights": weights, "inputs": [[[1, 2], [3, 4]]]}
    code, out_text, err = run_file(yaml.safe_dump(data))
    assert_clean(code, out_text, err)
    if not attributes:
        assert code == 0, err


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    assert_clean(*run_file(data))


@FUZZ
@given(st.text(max_size=200))
def test_random_text(text: str) -> None:
    assert_clean(*run_file(text))


# ---- the limits (tests/test_limits.py has one test per class): whatever size is asked for, exit 0 or 2, no
# traceback, and memory bounded (tracemalloc's peak) and time too


def run_bounded(args: list[str], peak_mib: float = 160, seconds: float = 20) -> tuple[int, str, str]:
    """The CLI in-process, its tracemalloc peak held under the bound given, and a hang caught by an alarm far
    beyond `seconds` (no tight time assertion: this machine is shared); refused FIFOs never wait."""
    with no_hang(int(seconds) * 6 + 30):
        tracemalloc.start()
        try:
            result = CliRunner().invoke(main, args, catch_exceptions=False)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < peak_mib * 2**20, f"peak {peak / 2**20:.0f} MiB"
    return result.exit_code, result.stdout, result.stderr


def aliased(shape: tuple[int, ...], name: str, value: str = "0.5") -> tuple[str, str]:
    """(anchor lines, reference) for an array of `shape` written as one alias per axis: a few lines for millions
    of numbers, as a scenario can write them."""
    lines, inner = [], value
    for k, size in enumerate(reversed(shape)):
        lines.append(f"{name}{k}: &{name}{k} [{', '.join([inner] * size)}]")
        inner = f"*{name}{k}"
    return "\n".join(lines), inner


sizes = st.sampled_from([1, 2, 3, 5, 10, 30, 100, 400])


@LIMITS
@given(
    layer=st.sampled_from(["LSTM", "GRU", "SimpleRNN"]),
    batch=sizes,
    steps=sizes,
    units=sizes.filter(lambda n: n <= 300),
    backward=st.booleans(),
    fmt=st.sampled_from(["json", "markdown"]),
    budget=st.sampled_from(["8M", "1M", "20K"]),
)
def test_random_trace_sizes(layer: str, batch: int, steps: int, units: int, backward: bool, fmt: str,
                            budget: str) -> None:  # fmt: skip
    """Shapes up to B = T = 400, U = 300, written with aliases kept in an option of no effect: what fits
    --max-memory runs, the rest is refused with the estimate; the peak stays under the budget and the parse."""
    width = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}[layer] * units
    x_lines, x = aliased((batch, steps, 1), "x")
    u_lines, u = aliased((units, width), "u", "0.01")
    held = "".join(f"    {line}\n" for line in f"{x_lines}\n{u_lines}".splitlines())
    text = (
        f"framework: keras\nlayer: {layer}\nconfig:\n  units: {units}\n  return_sequences: true\n"
        + ("  reset_after: false\n" if layer == "GRU" else "")
        + f"  kernel_initializer:\n{held}"
        + f"weights:\n  kernel: [[{', '.join(['0.1'] * width)}]]\n  recurrent_kernel: {u}\n"
        + f"  bias: [{', '.join(['0'] * width)}]\ninputs: {x}\n"
        + ("backward: {loss: sum, of: sequence}\n" if backward else "")
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.yaml"
        path.write_text(text, encoding="utf-8")
        code, out, err = run_bounded(["run", str(path), "--format", fmt, "--max-memory", budget])
    assert_clean(code, out, err)
    if code == 2:
        assert "would not fit in memory" in err, err


BOMB_USES = ["title", "description", "framework", "layer", "activation", "units", "inputs", "dtype", "expect",
             "backward", "initial_state", "module", "recurrent_activation", "kernel"]  # fmt: skip


@LIMITS
@given(depth=st.integers(1, 9), width=st.integers(2, 12), uses=st.lists(st.sampled_from(BOMB_USES), max_size=3))
def test_random_alias_bombs(depth: int, width: int, uses: list[str]) -> None:
    """An alias of width^depth values kept in an option of no effect and used anywhere: never expanded."""
    lines, ref = aliased((width,) * depth, "a", "1")
    held = "".join(f"    {line}\n" for line in lines.splitlines())
    text = f"framework: keras\nconfig:\n  units: 1\n  kernel_initializer:\n{held}" + "".join(
        f"{use}: {ref}\n" for use in dict.fromkeys(uses)
    )
    if "inputs" not in uses:
        text += "inputs: [[1]]\n"
    if "kernel" not in uses:
        text += "weights: {kernel: [[1, 1, 1, 1]], recurrent_kernel: [[1, 1, 1, 1]], bias: [0, 0, 0, 0]}\n"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.yaml"
        path.write_text(text, encoding="utf-8")
        # used as an array, up to limits.MAX_ELEMENTS numbers are built (8 bytes each, then 4 in float32)
        peak = 400 if {"inputs", "kernel"} & set(uses) else 60
        code, out, err = run_bounded(["run", str(path), "--format", "json"], peak_mib=peak, seconds=30)
    assert_clean(code, out, err)
    assert len(err) < 3000
    if uses:
        assert code == 2, out[:200]


dims = st.sampled_from([0, 1, 3, 1000, 10**6, 10**9, 10**12])


@LIMITS
@given(
    shape=st.lists(dims, max_size=4).map(tuple),
    descr=st.sampled_from(["<f8", "<f4", "<i8", ">f8", "|u1", "|O", "<c16", "|b1", "<U3"]),
    data=st.integers(0, 256),
    archive=st.sampled_from(["npy", "npz key", "npz whole"]),
    use=st.sampled_from(["inputs", "weights.kernel", "backward.sequence"]),
)
# 72 MB claimed under the element cap, no data behind it: refused before the claim is allocated
@example(shape=(3, 3, 1000, 1000), descr="<f8", data=0, archive="npy", use="inputs")
@example(shape=(3, 3, 1000, 1000), descr="<f8", data=0, archive="npz key", use="inputs")
def test_random_array_headers(shape: tuple[int, ...], descr: str, data: int, archive: str, use: str) -> None:
    """An array file whose header claims any shape and dtype, with any little data behind it: its header decides,
    and no data beyond the element cap is read."""
    member = npy_header(shape, descr) + bytes(data)
    with tempfile.TemporaryDirectory() as folder:
        if archive == "npy":
            (Path(folder) / "a.npy").write_bytes(member)
            ref = "{npy: a.npy}"
        else:
            with zipfile.ZipFile(Path(folder) / "a.npz", "w", zipfile.ZIP_DEFLATED) as zipped:
                zipped.writestr("x.npy", member)
            ref = "{npz: a.npz, key: x}" if archive == "npz key" else "{npz: a.npz}"
        text = SEED + (f"backward: {{sequence: {ref}}}\n" if use == "backward.sequence" else "")
        if use == "inputs":
            text = text.replace("inputs: [[[1, 0]]]", f"inputs: {ref}")
        elif use == "weights.kernel":
            text = text.replace("  kernel: [[", f"  kernel: {ref}\n  unused: [[")
        (Path(folder) / "s.yaml").write_text(text, encoding="utf-8")
        code, out, err = run_bounded(["run", str(Path(folder) / "s.yaml")], peak_mib=60, seconds=10)
    assert_clean(code, out, err)


@LIMITS
@given(
    kind=st.sampled_from(["fifo", "/dev/zero", "/dev/urandom", "link to /dev/zero", "folder", "missing", "file"]),
    where=st.sampled_from(["scenario", "inputs"]),
)
def test_random_file_kinds(kind: str, where: str) -> None:
    """Whatever the path names, it is refused (or read, a regular file) without waiting or reading forever."""
    with tempfile.TemporaryDirectory() as folder:
        scenario = Path(folder) / "s.yaml"
        target = scenario if where == "scenario" else Path(folder) / "x.npy"
        if where == "inputs":
            scenario.write_text(SEED.replace("[[[1, 0]]]", "{npy: x.npy}"), encoding="utf-8")
        if kind == "fifo":
            os.mkfifo(target)
        elif kind.startswith("/dev"):
            target = Path(kind)
            scenario.write_text(SEED.replace("[[[1, 0]]]", f"{{npy: {kind}}}"), encoding="utf-8")
        elif kind.startswith("link"):
            target.symlink_to("/dev/zero")
        elif kind == "folder":
            target.mkdir()
        elif kind == "file" and where == "scenario":
            target.write_text(SEED, encoding="utf-8")
        elif kind == "file":
            np.save(target, np.array([[[1.0, 0.0]]]))
        path = target if where == "scenario" else scenario
        code, out, err = run_bounded(["run", str(path)], peak_mib=30, seconds=10)
    assert_clean(code, out, err)
    assert code == (0 if kind == "file" else 2), err


ranges = st.lists(
    st.one_of(
        st.integers(0, 10**12).map(str),
        st.tuples(st.integers(0, 10**12), st.integers(0, 10**12)).map(lambda r: f"{r[0]}-{r[1]}"),
        st.sampled_from(["all", "", " ", "-", "1-", "x", "1e9"]),
    ),
    min_size=1,
    max_size=4,
).map(",".join)


@LIMITS
@given(option=st.sampled_from(["--steps", "--batch", "--units"]), value=ranges,
       command=st.sampled_from(["run", "worksheet"]))  # fmt: skip
def test_random_ranges(option: str, value: str, command: str) -> None:
    """Any --steps, --batch or --units: read against the trace's sizes, never expanded beyond them."""
    args = [command, str(SEED_FILE), option, value] + (["--blank", "h"] if command == "worksheet" else [])
    assert_clean(*run_bounded(args, peak_mib=20, seconds=10))


# ---- hardening: hostile values in every input surface ------------------------------------------------------------
#
# Each strategy below writes one hostile value into one place of a scenario that is otherwise the seed (a Keras
# LSTM(3)), a torch or tf1 layer with lengths, or a backward block: an explicit tag with any text, nesting from
# a few levels to a hundred thousand, integers beyond float range and beyond Python's digit limit, control
# characters and bidi overrides, merge keys, damaged .npz files and any .csv text. Whatever it is, the run is
# exit 0 or exit 2 with one `error:` message, no traceback, and no raw control character on the terminal.

SEED_TEXT = SEED  # the seed scenario, as tests/conftest.py writes it
SLOTS = {  # where a hostile value goes: the text it replaces (or follows) in SEED_TEXT
    "inputs": "[[[1, 0]]]",
    "bias": "[3, 1, 0, 1, 1, 0, 0, 1, 0, 2, 0, 0]",
    "units": "units: 3,",
    "title": None,
    "initial_state": None,
    "expect.h": None,
    "expect.tolerance": None,
    "backward.h": None,
    "backward.target": None,
    "mask": None,
    "layers": None,
    "key": None,
}
CONTROL = st.sampled_from(["\x1b[31m", "\x1b]0;x\x07", "\x00", "\x07", "\u202e", "\x9b", "\r", "\x1b[2J"])
TAGS = st.sampled_from(["!!int", "!!float", "!!bool", "!!null", "!!timestamp", "!!binary", "!!str", "!!set", "!!omap"])
_tagged = st.builds(lambda tag, text: f"{tag} {text!r}", TAGS, st.text(max_size=8))
_tagged_plain = st.builds(
    lambda tag, text: f"{tag} {text}", TAGS, st.sampled_from(["1.5", "abc", "maybe", "2001-13-45", "١", "1_0", "0x1F"])
)
_deep = st.builds(lambda n, leaf: "[" * n + leaf + "]" * n, st.sampled_from([2, 33, 65, 70, 300, 1001, 100_000]),
                  st.sampled_from(["1", "a", ", ".join(["1"] * 1100)]))  # fmt: skip
_huge = st.builds(lambda digits, sign: sign + "9" * digits, st.sampled_from([20, 309, 400, 4301, 5000]),
                  st.sampled_from(["", "-"]))  # fmt: skip
_controlled = st.builds(lambda ctrl, text: '"' + (text + ctrl).encode("unicode_escape").decode() + '"', CONTROL,
                        st.text(max_size=5))  # fmt: skip
_merge = st.sampled_from(["{<<: {units: 2}, units: 3}", "{<<: [{a: 1}, {a: 2}], a: 3}", "{<<: 5}", "{<<: [1]}"])
_special = st.sampled_from([".nan", ".inf", "-.inf", "[]", "{}", "false", "0", "''", "[[.nan]]", "[[1, 2], [3]]"])
hostile = st.one_of(_tagged, _tagged_plain, _deep, _huge, _controlled, _merge, _special)


def _placed(slot: str, value: str) -> str:
    text = SEED_TEXT
    old = SLOTS[slot]
    if old is not None:
        return text.replace(old, f"{'units: ' if slot == 'units' else ''}{value}{',' if slot == 'units' else ''}", 1)
    if slot == "key":
        return text + f"{value}: 1\n"
    if "." in slot:
        top, sub = slot.split(".")
        extra = ", loss: half_squared_error, of: h" if sub == "target" else ""
        return text + f"{top}: {{{sub}: {value}{extra}}}\n"
    return text + f"{slot}: {value}\n"


def assert_nothing_raw(out: str, err: str) -> None:
    """No control character from the input on the terminal (the CliRunner's output is no TTY: rich writes none)."""
    for char in ("\x1b", "\x00", "\x07", "\x9b", "\u202e"):
        assert char not in out + err, (char, err[:300])


def run_args(args: list[str], files: dict[str, str | bytes]) -> tuple[int, str, str]:
    with tempfile.TemporaryDirectory() as folder:
        for name, content in files.items():
            path = Path(folder) / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        full = [a.replace("{dir}", folder) for a in args]
        env = {"COLUMNS": "80", "NO_COLOR": "1"}
        result = CliRunner().invoke(main, full, env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@FUZZ
@given(slot=st.sampled_from(sorted(SLOTS)), value=hostile, command=st.sampled_from(["run", "check", "json"]))
def test_hostile_values_anywhere(slot: str, value: str, command: str) -> None:
    args = ["run", "{dir}/s.yaml", "--format", "json"] if command == "json" else [command, "{dir}/s.yaml"]
    code, out, err = run_args(args, {"s.yaml": _placed(slot, value)})
    assert code in ((0, 1, 2) if command == "check" else (0, 2)), (code, err)
    assert "Traceback" not in out + err
    if code == 2:
        assert err.startswith("error: ") and out == "", err
    assert_nothing_raw(out, err)


def _npz(**arrays: Any) -> bytes:
    import io

    import numpy as np

    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()})
    return buffer.getvalue()


GOOD_NPZ = _npz(x=[[[1.0, 0.0]]])
TORCH_NPZ = _npz(weight_ih_l0=[[1.0]], weight_hh_l0=[[1.0]], bias_ih_l0=[0.0], bias_hh_l0=[0.0])


@FUZZ
@given(
    torch=st.booleans(),
    cut=st.integers(0, len(TORCH_NPZ)),
    flips=st.lists(st.tuples(st.integers(0, len(TORCH_NPZ) - 1), st.integers(1, 255)), max_size=4),
)
def test_damaged_npz(torch: bool, cut: int, flips: list[tuple[int, int]]) -> None:
    data = bytearray(TORCH_NPZ if torch else GOOD_NPZ)
    for pos, mask in flips:
        data[pos % len(data)] ^= mask
    damaged = bytes(data[:cut])
    if torch:
        scenario = "framework: torch\nlayer: RNN\nconfig: {hidden_size: 1}\nweights: {npz: w.npz}\ninputs: [[1]]\n"
    else:
        scenario = SEED_TEXT.replace("[[[1, 0]]]", "{npz: w.npz, key: x}")
    assert_clean(*run_args(["run", "{dir}/s.yaml", "--format", "json"], {"s.yaml": scenario, "w.npz": damaged}))


@FUZZ
@given(text=st.text(max_size=80), delimiter=st.sampled_from([",", ";", "\t", " "]), raw=st.binary(max_size=40))
def test_any_csv(text: str, delimiter: str, raw: bytes) -> None:
    scenario = SEED_TEXT.replace(SLOTS["bias"] or "", f"{{csv: b.csv, delimiter: {delimiter!r}}}")
    for content in (text, raw, "\ufeff" + text):
        code, out, err = run_args(["run", "{dir}/s.yaml", "--format", "json"], {"s.yaml": scenario, "b.csv": content})
        assert_clean(code, out, err)
        assert_nothing_raw(out, err)


selector = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["1", "1-3", "0", "-1", "all", "3-1", "1,,2", "999999999999999999999", "1-", "\x1b[31m"]),
)


@FUZZ
@given(
    fmt=st.sampled_from(["terminal", "markdown", "json", "diagram", "svg"]),
    options=st.dictionaries(
        st.sampled_from(["--steps", "--batch", "--units", "--precision", "--width", "--pass"]), selector, max_size=4
    ),
    flags=st.lists(st.sampled_from(["--full", "--explain", "--no-weights", "--exact"]), max_size=2, unique=True),
)
def test_command_line_selectors(fmt: str, options: dict[str, str], flags: list[str]) -> None:
    args = ["run", "{dir}/s.yaml", "--format", fmt, *flags]
    for name, value in options.items():
        args += [name, value]
    code, out, err = run_args(args, {"s.yaml": SEED_TEXT})
    assert code in (0, 2), (code, err)
    assert "Traceback" not in out + err
    if code == 2:
        assert err.startswith(("error: ", "Usage: ")) and out == "", err
    assert_nothing_raw(out, err)


@FUZZ
@given(
    surface=st.sampled_from(["tf1", "onnx", "torch_pack", "torch_total", "backward", "backward_loss"]),
    value=st.one_of(hostile, values.map(lambda v: yaml.safe_dump(v, default_flow_style=True).strip())),
)
def test_lengths_and_backward_blocks(surface: str, value: str) -> None:
    """Every input surface added with lengths and the backward pass takes any value without a traceback."""
    scenario = {
        "tf1": "framework: tf1\nlayer: BasicRNNCell\nconfig: {num_units: 1, dynamic_rnn: {sequence_length: %s}}\n"
        "weights: {kernel: [[1], [1]], bias: [0]}\ninputs: [[[1], [1]], [[1], [1]]]\n",
        "onnx": "framework: onnx\nlayer: RNN\nconfig: {hidden_size: 1, sequence_lens: %s}\n"
        "weights: {W: [[[1]]], R: [[[1]]]}\ninputs: [[[1]], [[1]]]\n",
        "torch_pack": "framework: torch\nlayer: RNN\nconfig: {hidden_size: 1, pack_padded_sequence: {lengths: %s}}\n"
        "weights: {weight_ih_l0: [[1]], weight_hh_l0: [[1]], bias_ih_l0: [0], bias_hh_l0: [0]}\ninputs: [[[1]]]\n",
        "torch_total": "framework: torch\nlayer: RNN\nconfig: {hidden_size: 1, pack_padded_sequence: {lengths: [1]}, "
        "pad_packed_sequence: {total_length: %s}}\n"
        "weights: {weight_ih_l0: [[1]], weight_hh_l0: [[1]], bias_ih_l0: [0], bias_hh_l0: [0]}\ninputs: [[[1]]]\n",
        "backward": SEED_TEXT + "backward: {h: %s}\n",
        "backward_loss": SEED_TEXT + "backward: {loss: %s, of: h, target: [[1, 2, 3]]}\n",
    }[surface] % value
    code, out, err = run_args(["run", "{dir}/s.yaml", "--format", "json"], {"s.yaml": scenario})
    assert_clean(code, out, err)
    assert_nothing_raw(out, err)


@FUZZ
@given(
    command=st.sampled_from(["check", "worksheet"]),
    blanks=st.lists(st.sampled_from(["h", "c", "o", "pre_i", "j", "zz", "", "\x1b[31m"]) | st.text(max_size=4),
                    max_size=3),
    options=st.dictionaries(st.sampled_from(["--steps", "--batch", "--units", "--precision", "--width", "--format"]),
                            selector | st.sampled_from(["json", "html", "markdown"]), max_size=3),
)  # fmt: skip
def test_check_and_worksheet_selectors(command: str, blanks: list[str], options: dict[str, str]) -> None:
    args = [command, "{dir}/s.yaml"] + (["--blank", ",".join(blanks)] if command == "worksheet" else [])
    for name, value in options.items():
        args += [name, value]
    code, out, err = run_args(args, {"s.yaml": SEED_TEXT + "expect: {h: [0, 4, 0]}\n"})
    assert code in (0, 1, 2), (code, err)
    assert "Traceback" not in out + err
    if code == 2:
        assert err.startswith(("error: ", "Usage: ")) and out == "", err
    assert_nothing_raw(out, err)
