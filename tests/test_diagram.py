"""`run --format diagram`: the cell drawn with one step's numbers, as a 16:9 SVG.

Golden files were each read number by number against the trace and rendered to
PNG and looked at (chromium --headless --screenshot); the structural tests
below hold for every picture, golden or not: every number is the recorded one,
the page is a 1280×720 slide with no text under 20 px, and x and h are joined
by a labelled concatenation, never by a +. The backward pass (--pass backward)
is held to the same: every δ on it is the backward record's.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import lstm_trace
from conftest import FIXTURES, ROOT, SCENARIOS, fixture_files, read_fixture, run_cli
from lstm_trace.backward import BackRun
from lstm_trace.render.diagram import DiagramError, render_diagram
from lstm_trace.render.diagram_svg import Canvas, esc
from lstm_trace.render.numbers import num, scalar
from lstm_trace.trace import Run, Trace

SVG = "{http://www.w3.org/2000/svg}"
GOLDEN = ROOT / "tests" / "golden"
QUANTITIES = {"x", "h_prev", "c_prev", "c", "h"}  # Run.quantity's names besides the gates and their sums


def recorded(run: Run, q: str, s: int, b: int, u: int) -> object:
    """The value a data-q names, looked up in the run's arrays directly (not through the view's own lookup)."""
    cell = run.cell
    if q in QUANTITIES or q in cell.gates or q.startswith("pre_"):
        return run.quantity(q, s)[b, u]
    arrays = {"act_c": run.c_act, "c_unclipped": run.c_unclipped, "m": run.m, "reset": run.gated, "reset_h": run.gated}
    if q in arrays:
        return arrays[q][s, b, u]
    kind, gate = q.split("_")
    if kind == "peep":
        assert run.peep is not None
        return run.peep[s, b, "ifo".index(gate) * cell.units + u]
    assert kind == "clip" and run.pre_clipped is not None
    return run.pre_clipped[s, b, cell.block(gate)][u]


def numbers(svg: str) -> list[tuple[str, int, int, str]]:
    """Every number element: (data-q, data-b, data-u, its text)."""
    root = ET.fromstring(svg)
    return [
        (el.get("data-q", ""), int(el.get("data-b", "0")), int(el.get("data-u", "0")), el.text or "")
        for el in root.iter()
        if el.get("data-q") is not None
    ]


def lines(svg: str) -> list[str]:
    """The text of every <text> element, as a reader sees it."""
    return ["".join(el.itertext()) for el in ET.fromstring(svg).iter(f"{SVG}text")]


def check_structure(
    svg: str, tr: Trace, s: int, b: int, precision: int = 4, layer: int = 0, direction: int = 0
) -> None:
    """What every diagram holds, whatever it draws."""
    root = ET.fromstring(svg)  # well-formed XML
    assert root.get("viewBox") == "0 0 1280 720"
    sizes = [float(v) for v in re.findall(r"font-size:\s*([\d.]+)px", svg)]
    sizes += [float(v) for v in re.findall(r'font-size="([\d.]+)', svg)]
    assert sizes and min(sizes) >= 20
    run = tr.runs[layer][direction]
    found = numbers(svg)
    assert found, "no numbers drawn"
    for q, batch, unit, text in found:
        assert batch == b + 1
        assert text == num(scalar(recorded(run, q, s, b, unit - 1)), precision), (q, unit)
    if run.active is not None and not run.active[s, b]:
        return  # nothing computed: only the state carried through is drawn
    # x and h meet in a concatenation labelled so; the only + node is on the state line at the top
    concat = [g for g in root.iter(f"{SVG}g") if g.get("class") == "concat"]
    assert len(concat) == 1
    labels = [t.text for t in concat[0].iter(f"{SVG}text")]
    assert "concatenate" in labels and not any("+" in (label or "") for label in labels)
    adds = [g for g in root.iter(f"{SVG}g") if g.get("class") == "node add"]
    assert len(adds) == (0 if run.cell.kind == "rnn" else 1)
    for add in adds:
        circle = add.find(f"{SVG}circle")
        assert circle is not None and circle.get("cy") == "215"  # the cell state's (GRU: h's) line


def recorded_delta(back: BackRun, q: str, s: int, b: int, u: int) -> object:
    """The δ a backward data-q (d_ and the forward name) names, read off the backward record's own arrays."""
    cell, name = back.run.cell, q.removeprefix("d_")
    states = {"h": back.dh[s + 1], "h_prev": back.dh[s], "x": back.dx[s], "hu": back.dhu[s][:, cell.block("n")]
              if cell.kind == "gru" else None}  # fmt: skip
    if back.dc is not None:
        states |= {"c": back.dc[s + 1], "c_prev": back.dc[s]}
    if name in states:
        return states[name][b, u]  # type: ignore[index]
    if name in back.extra:  # act_c, m
        return back.extra[name][s, b, u]
    deltas = back.dpre if name.startswith("pre_") else back.dact
    return deltas[s, b, cell.block(name.removeprefix("pre_"))][u]


def check_back_structure(svg: str, tr: Trace, s: int, b: int, layer: int = 0, direction: int = 0) -> None:
    """What every backward diagram holds: the forward picture's frame, only δ's on it, each the recorded one,
    and every arrow turned round."""
    assert tr.gradients is not None
    back = tr.gradients.runs[layer][direction]
    root = ET.fromstring(svg)
    assert root.get("viewBox") == "0 0 1280 720"
    sizes = [float(v) for v in re.findall(r"font-size:\s*([\d.]+)px", svg)]
    assert sizes and min(sizes) >= 20
    title = root.find(f"{SVG}title")
    assert title is not None and "· backward pass · step" in (title.text or "")
    found = numbers(svg)
    assert found, "no numbers drawn"
    for q, batch, unit, text in found:
        assert q.startswith("d_") and batch == b + 1
        assert text == num(scalar(recorded_delta(back, q, s, b, unit - 1))), (q, unit)
    assert "marker-end" not in svg and "marker-start" in svg  # the δ's flow back


def load(name: str, exact: bool = False) -> Trace:
    return lstm_trace.trace(lstm_trace.load(SCENARIOS / f"{name}.yaml", exact=exact))


def fixture_trace(path: Path) -> Trace:
    data, _ = read_fixture(path)
    return lstm_trace.trace(lstm_trace.Scenario.from_dict(data, source=path))


# ---- goldens ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("golden", "args"),
    [
        # seed, step 1, whole vectors (read against the seed's README trace): pre_i [5 2 1], pre_f [1 1 0],
        # pre_g [0 2 1], pre_o [2 1 0]; linear layers, so i f g o equal them; c₁ = f⊙c₀ + i⊙g = [0 4 1],
        # linear(c₁) = [0 4 1], h₁ = o⊙c₁ = [0 4 0]; x₁ = [1 0], h₀ = c₀ = [0 0 0]; c block shown as c→g.
        ("diagram_seed.svg", ["seed.yaml"]),
        # Keras GRU(2), step 2 (reset_after), checked with numpy from the YAML's weights: h₁ = [0.4259 -0.1411],
        # x₂ = [0 1]; pre_z₂ = [-0.2571 0.5268] → z₂ = [0.4361 0.6287]; pre_r₂ = [0.2869 -0.2986] →
        # r₂ = [0.5712 0.4259]; r ⊙ (h₁·U_n + b_rec) = [0.2607 -0.1884]; pre_n₂ = x₂·W_n + b_n + that
        # = [0.3607 -0.8884] → n₂ = [0.3459 -0.7106]; h₂ = z⊙h₁ + (1−z)⊙n = [0.3808 -0.3525].
        ("diagram_gru.svg", ["gru.yaml", "--steps", "2"]),
        # Keras SimpleRNN(2), step 2: h₁ = [-0.6044 -0.0997], x₂ = [0 1]; pre_h₂ = x₂·W + h₁·U + b
        # = [-0.4 -0.1] + [-0.0206 -0.1913] + [-0.2 0.3] = [-0.6206 0.0087], h₂ = tanh = [-0.5515 0.0087].
        ("diagram_simplernn.svg", ["simplernn.yaml", "--steps", "2"]),
        # TF1 peepholes and cell_clip 0.4, step 3, batch row 3, unit 3: c₂[3] = -0.1750; w_f⊙c₂ = -0.1650,
        # w_i⊙c₂ = -0.0303 inside pre_f₃ = 2.1889 (forget_bias 1 in it) and pre_i₃ = 1.1765;
        # f = σ(2.1889) = 0.8993, i = 0.7643, g = tanh(-2.6779) = -0.9906; c before clip
        # 0.8993·(-0.1750) + 0.7643·(-0.9906) = -0.9145 → clipped to -0.4000; w_o⊙c₃ = 0.186015·(-0.4) = -0.0744
        # in pre_o₃ = 0.3867, o = 0.5955; tanh(c₃) = -0.3799, h₃ = 0.5955·(-0.3799) = -0.2263 (the fixture's h).
        ("diagram_tf1_peepholes.svg", ["tf1_peepholes.yaml", "--steps", "3", "--batch", "3", "--units", "3"]),
    ],
)
def test_golden(golden: str, args: list[str]) -> None:
    result = run_cli("run", str(SCENARIOS / args[0]), "--format", "diagram", *args[1:])
    assert result.exit_code == 0, result.stderr
    assert result.output == (GOLDEN / golden).read_text(encoding="utf-8")


def test_golden_numbers_are_the_recorded_ones() -> None:
    """The goldens' numbers, checked against the traces, so a golden regenerated blindly would still be caught."""
    for golden, name, s, b in (
        ("diagram_seed.svg", "seed", 0, 0),
        ("diagram_gru.svg", "gru", 1, 0),
        ("diagram_simplernn.svg", "simplernn", 1, 0),
        ("diagram_tf1_peepholes.svg", "tf1_peepholes", 2, 2),
    ):
        check_structure((GOLDEN / golden).read_text(encoding="utf-8"), load(name), s, b)
    seed = {(q, u): text for q, _, u, text in numbers((GOLDEN / "diagram_seed.svg").read_text(encoding="utf-8"))}
    assert [seed["h", u] for u in (1, 2, 3)] == ["0", "4", "0"]
    assert [seed["c", u] for u in (1, 2, 3)] == ["0", "4", "1"]
    assert [seed["pre_i", u] for u in (1, 2, 3)] == ["5", "2", "1"]
    tf1 = {q: text for q, _, u, text in numbers((GOLDEN / "diagram_tf1_peepholes.svg").read_text(encoding="utf-8"))}
    assert (tf1["c_unclipped"], tf1["c"], tf1["h"]) == ("-0.9145", "-0.4000", "-0.2263")


# seed_backward at step 2, every δ an integer (the layer is linear, L = Σ sequence), worked by hand from the
# forward values `run` prints (c₁ = h₁ = [0 0 0], x₂ = [-1 -1]; i₂ [0 -1 -1], f₂ [0 0 0], g₂ [0 -1 -2],
# o₂ [2 -1 0], c₂ [0 1 2]; f₃ [0 -2 -1], o₃ [0 -1 0], c₃ [0 2 2]) and the weights:
#   δh₃ = [1 1 1] (its output row), δc₃ = δh₃ ⊙ o₃ = [0 -1 0], δz₃ = [0 2 0 | 0 -1 0 | 0 2 0 | 0 2 2] (i f g o);
#   δh₂ = δh_out₂ + δz₃·Uᵀ = [1 + 2, 1 + 2, 1 + 4] = [3 3 5]                  (Keras: dL/dh₂ = [3 3 5])
#   δc₂ = δh₂ ⊙ o₂ + δc₃ ⊙ f₃ = [3·2 + 0, 3·(-1) + (-1)(-2), 5·0 + 0] = [6 -1 0]   (Keras: [6 -1 0])
#   δact(c₂) = δh₂ ⊙ o₂ = [6 -3 0]; δo₂ = δh₂ ⊙ c₂ = [0 3 10]; δi₂ = δc₂ ⊙ g₂ = [0 1 0];
#   δf₂ = δc₂ ⊙ c₁ = [0 0 0]; δg₂ = δc₂ ⊙ i₂ = [0 1 0]; linear, so each δpre equals its gate's δ;
#   δx₂ = δpre₂·Wᵀ = [1 + 1 + 3, 1 + 1] = [5 2]                                (Keras: dL/dx₂ = [5 2])
#   δh₁ = δh_out₁ + δpre₂·Uᵀ = [1 + (1 + 3), 1 + (1 + 1), 1 + (1 + 3)] = [5 3 5]  (Keras: dL/dh₁ = [5 3 5])
#   δc₁ = δc₂ ⊙ f₂ + (through h₁ at step 1) δh₁ ⊙ o₁ = [0 0 0] + [5·2, 3·0, 5·0] = [10 0 0]  (Keras: [10 0 0])
# The PNG (chromium --headless --screenshot) was looked at: the arrows point back, right to left and downwards.
SEED_BACKWARD = {
    "d_h": [3, 3, 5], "d_c": [6, -1, 0], "d_act_c": [6, -3, 0], "d_o": [0, 3, 10], "d_i": [0, 1, 0],
    "d_f": [0, 0, 0], "d_g": [0, 1, 0], "d_pre_o": [0, 3, 10], "d_pre_i": [0, 1, 0], "d_pre_f": [0, 0, 0],
    "d_pre_g": [0, 1, 0], "d_x": [5, 2], "d_h_prev": [5, 3, 5], "d_c_prev": [10, 0, 0],
}  # fmt: skip


def test_golden_backward() -> None:
    args = ("--format", "diagram", "--pass", "backward", "--steps", "2")
    result = run_cli("run", str(SCENARIOS / "seed_backward.yaml"), *args)
    assert result.exit_code == 0, result.stderr
    golden = (GOLDEN / "diagram_seed_backward.svg").read_text(encoding="utf-8")
    assert result.output == golden
    check_back_structure(golden, load("seed_backward"), 1, 0)
    drawn: dict[str, list[int]] = {}
    for q, _, _, text in numbers(golden):
        drawn.setdefault(q, []).append(int(text))
    assert drawn == SEED_BACKWARD
    text = lines(golden)
    assert text[0] == "keras LSTM(units=3) · backward pass · step t=2 · batch row 1 · units 1–3"
    assert text[1].startswith("L = Σ sequence · δ is dL/d")
    assert "from step 3" in text  # what enters c₂'s line from the right is a part of δc₂


# ---- every picture ---------------------------------------------------------------------------

EXTRA = ["onnx/lstm_input_forget_peepholes_clip", "onnx/gru_clip", "onnx/rnn_clip", "tf1/lstmcell_proj_clip",
         "keras/gru_reset_before", "keras/lstm_hard_sigmoid", "torch/lstm_two_layer_bidirectional_proj"]  # fmt: skip


@pytest.mark.parametrize("name", EXTRA)
def test_every_operation_shows_its_recorded_numbers(name: str) -> None:
    tr = fixture_trace(FIXTURES / f"{name}.yaml")
    layer, direction = len(tr.runs) - 1, len(tr.runs[-1]) - 1
    svg = render_diagram(tr, 1, 0, None, 4, layer, direction)
    check_structure(svg, tr, 1, 0, 4, layer, direction)
    drawn = {q for q, *_ in numbers(svg)}
    run = tr.runs[layer][direction]
    sums = {f"pre_{g}" for g in run.cell.gates if g != "f" or not run.cell.coupled_forget}  # 1 − i sums nothing
    assert {"h", *run.cell.gates, *sums} <= drawn
    assert ("x" in drawn) == (run.cell.features <= 4)  # else 'x₂ (6 values)'
    if run.cell.peepholes is not None:
        assert {"peep_i", "peep_o"} <= drawn
    if run.pre_clipped is not None:
        assert {f"clip_{g}" for g in run.cell.gates} <= drawn
    if run.m is not None:
        assert "m" in drawn
    if run.cell.kind == "gru":
        assert ("reset" if run.cell.reset_after else "reset_h") in drawn


@pytest.mark.parametrize("framework", ["keras", "keras2", "torch", "tf1", "onnx"])
def test_every_fixture_draws_with_the_recorded_numbers(framework: str) -> None:
    for path in fixture_files(framework):
        tr = fixture_trace(path)
        last = tr.first.steps - 1
        for s, b in {(0, 0), (last, tr.first.h.shape[1] - 1)}:
            check_structure(render_diagram(tr, s, b), tr, s, b)


@pytest.mark.parametrize("path", sorted((FIXTURES / "gradients").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_gradient_fixture_draws_its_recorded_deltas(path: Path) -> None:
    tr = fixture_trace(path)
    layer, direction = len(tr.runs) - 1, len(tr.runs[-1]) - 1  # the top layer's last run: bidirectional, stacked
    run = tr.runs[layer][direction]
    last = run.steps - 1
    for s, b in {(0, 0), (last, run.h.shape[1] - 1), (min(1, last), 0)}:
        svg = render_diagram(tr, s, b, None, 4, layer, direction, backward=True)
        check_back_structure(svg, tr, s, b, layer, direction)
        if run.active is None or run.active[s, b]:
            drawn = {q for q, *_ in numbers(svg)}
            sums = {f"d_pre_{g}" for g in run.cell.gates if g != "f" or not run.cell.coupled_forget}
            gates = {f"d_{g}" for g in run.cell.gates} if run.cell.kind != "rnn" else set()
            expected = {"d_h", *sums, *gates}
            if run.cell.kind == "gru" or run.h.shape[-1] <= 4:  # an LSTM's or RNN's h_{t−1} is whole, or its length
                expected.add("d_h_prev")
            if run.cell.kind == "lstm":
                expected |= {"d_c", "d_c_prev", "d_act_c"}
            assert expected <= drawn


def test_a_backward_diagram_needs_a_backward_block() -> None:
    with pytest.raises(DiagramError, match="backward block"):
        render_diagram(load("seed"), 0, 0, backward=True)


def wide_trace() -> Trace:
    """An LSTM of 6 units on 5 features: too many for whole vectors."""
    rng = np.random.default_rng(3)
    data = {
        "layer": "LSTM",
        "units": 6,
        "kernel": rng.uniform(-1, 1, (5, 24)).round(2).tolist(),
        "recurrent_kernel": rng.uniform(-1, 1, (6, 24)).round(2).tolist(),
        "bias": rng.uniform(-1, 1, 24).round(2).tolist(),
        "inputs": rng.normal(size=(1, 2, 5)).round(2).tolist(),
    }
    return lstm_trace.trace(lstm_trace.Scenario.from_dict(data))


def test_whole_vectors_when_small_else_one_unit_with_a_note() -> None:
    seed = render_diagram(load("seed"), 0, 0)
    assert {u for q, _, u, _ in numbers(seed) if q == "i"} == {1, 2, 3}
    assert "units 1–3" in seed
    wide = wide_trace()
    svg = render_diagram(wide, 1, 0)
    assert "unit 1 of 6 (--units picks others)" in svg
    assert {u for q, _, u, _ in numbers(svg) if q not in ("x", "h_prev")} == {1}
    c = num(float(wide.first.c[2, 0, 0]))
    assert {"x₂ (5 values)", "h₁ (6 values)", f"c₂[1] = {c}", "pre_i₂ ="} <= set(lines(svg))
    check_structure(svg, wide, 1, 0)
    picked = render_diagram(wide, 1, 0, (1, 4))
    assert {u for q, _, u, _ in numbers(picked) if q == "c"} == {2, 5} and "units 2, 5" in picked


def test_exact_numbers_are_fractions_as_written() -> None:
    tr = load("seed_tenths", exact=True)
    svg = render_diagram(tr, 0, 0)
    check_structure(svg, tr, 0, 0)
    assert any("/" in text for *_, text in numbers(svg))


def test_a_step_past_the_sequence_length_says_so_and_carries_the_state() -> None:
    tr = load("tf1_peepholes")  # batch row 2 has sequence length 1
    svg = render_diagram(tr, 1, 1)
    check_structure(svg, tr, 1, 1)
    assert "past its sequence length" in svg
    drawn = {(q, u): text for q, _, u, text in numbers(svg)}
    assert all(drawn["h", u] == drawn["h_prev", u] and drawn["c", u] == drawn["c_prev", u] for u in (1, 2, 3))


def test_refusals() -> None:
    tr = load("tf1_peepholes")
    with pytest.raises(DiagramError, match="at most 4"):
        render_diagram(wide_trace(), 0, 0, (0, 1, 2, 3, 4))
    with pytest.raises(DiagramError, match="pick fewer"):
        render_diagram(tr, 0, 0, (0, 1, 2))  # peepholes and the clip take the room of three units' numbers
    with pytest.raises(DiagramError, match="beyond the last"):
        render_diagram(tr, 4, 0)


def test_text_is_escaped() -> None:
    canvas = Canvas(batch=1)
    canvas.text(0, 0, 'a <b> & "c"')
    assert canvas.parts == ['<text x="0" y="0">a &lt;b&gt; &amp; &quot;c&quot;</text>']
    assert esc("x<y") == "x&lt;y"


# ---- the command line -----------------------------------------------------------------------


def test_cli_picks_one_step_and_one_row(tmp_path: Path) -> None:
    gru = str(SCENARIOS / "gru.yaml")
    several = run_cli("run", gru, "--format", "diagram", "--steps", "1-2")
    assert several.exit_code == 2 and "--out-dir" in several.stderr and "Traceback" not in several.stderr
    rows = run_cli("run", str(SCENARIOS / "tf1_peepholes.yaml"), "--format", "diagram", "--batch", "1-2")
    assert rows.exit_code == 2 and "one batch row" in rows.stderr
    crowded = run_cli("run", str(SCENARIOS / "tf1_peepholes.yaml"), "--format", "diagram", "--units", "1-3")
    assert crowded.exit_code == 2 and "pick fewer" in crowded.stderr
    beyond = run_cli("run", gru, "--format", "diagram", "--steps", "4")
    assert beyond.exit_code == 2 and "beyond the last (3)" in beyond.stderr
    not_per_step = run_cli("run", gru, "--format", "json", "--out-dir", str(tmp_path))
    assert not_per_step.exit_code == 2 and "--out-dir" in not_per_step.stderr


def test_out_dir_writes_one_file_per_step(tmp_path: Path) -> None:
    gru = str(SCENARIOS / "gru.yaml")
    result = run_cli("run", gru, "--format", "diagram", "--out-dir", str(tmp_path / "slides"))
    assert result.exit_code == 0, result.stderr
    files = sorted((tmp_path / "slides").iterdir())
    assert [f.name for f in files] == ["diagram-step-01.svg", "diagram-step-02.svg", "diagram-step-03.svg"]
    assert result.output.splitlines() == [str(f) for f in files]
    one = run_cli("run", gru, "--format", "diagram", "--steps", "2").output
    assert files[1].read_text(encoding="utf-8") == one
    terminal = run_cli("run", gru, "--format", "svg", "--steps", "2-3", "--out-dir", str(tmp_path / "t"))
    assert terminal.exit_code == 0, terminal.stderr
    pictures = sorted((tmp_path / "t").iterdir())
    assert [f.name for f in pictures] == ["trace-step-02.svg", "trace-step-03.svg"]
    second = pictures[0].read_text(encoding="utf-8")
    assert second.startswith("<svg") and "t=2" in second and "t=3" not in second


def test_cli_draws_one_pass(tmp_path: Path) -> None:
    """--pass backward draws the δ's; the default stays forward, both is refused, and --out-dir names the files."""
    seed = str(SCENARIOS / "seed_backward.yaml")
    forward = run_cli("run", seed, "--format", "diagram", "--steps", "2")
    assert forward.exit_code == 0 and "backward pass" not in forward.output and 'data-q="d_' not in forward.output
    both = run_cli("run", seed, "--format", "diagram", "--pass", "both")
    assert both.exit_code == 2 and "pick --pass forward or --pass backward" in both.stderr
    assert "Traceback" not in both.stderr
    none = run_cli("run", str(SCENARIOS / "seed.yaml"), "--format", "diagram", "--pass", "backward")
    assert none.exit_code == 2 and "no backward block" in none.stderr
    written = run_cli("run", seed, "--format", "diagram", "--pass", "backward", "--out-dir", str(tmp_path))
    assert written.exit_code == 0, written.stderr
    files = sorted(tmp_path.iterdir())
    assert [f.name for f in files] == [f"diagram-backward-step-0{t}.svg" for t in (1, 2, 3)]
    assert files[1].read_text(encoding="utf-8") == (GOLDEN / "diagram_seed_backward.svg").read_text(encoding="utf-8")


def test_help_names_the_options() -> None:
    text = " ".join(run_cli("run", "--help").output.split())
    assert "diagram: the cell drawn" in text and "--out-dir DIR" in text and "diagram-step-01.svg" in text
    assert "--format diagram draws one pass (default forward)" in text and "backward-step-01.svg" in text
