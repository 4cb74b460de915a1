"""The three pictures of the cell diagram (LSTM, GRU, simple RNN), laid out on the 1280×720 canvas.

Each picture reads like the familiar textbook one: the state runs along the
top line (an LSTM's c, a GRU's h), the layers sit in a row of boxes fed from
below by the concatenation [h_{t−1}, x_t], and ⊙ and + nodes join them. Every
number comes from `Numbers`, which reads the run's record; this module only
decides where it goes. The backward pass is drawn by the same code: `Numbers`
then gives the δ's, the canvas turns the arrows round, and only the notes and
what has no δ of its own in the record differ.
"""

from __future__ import annotations

from ..model import Cell
from ..trace import TERM_KEYS
from .diagram import Numbers
from .diagram_svg import LINE, Canvas, Shown, Slot, text_width
from .explain import term_row_label
from .numbers import AUTO, num, sub

TOP = 215  # the top line: an LSTM's cell state, a GRU's h
MUL_Y = 268  # the ⊙ nodes under the top line
BOX_Y = 445  # the row of layer boxes
BUS_Y = 610  # the concatenated [h, x] on its way to the layers
CONCAT_X = 210
RIGHT = 1265  # where the lines leave the picture
LAYER_BOX = 130  # the widest a layer box may be and leave room for its neighbour's name
ABOVE_BOX = BOX_Y - 30  # the lowest a block above a box may reach
BELOW_BOX = BOX_Y + 33  # the highest a block below a box may start
ABOVE_BUS = BUS_Y - 8


def tag(cell: Cell, gate: str) -> str:
    """A block as the framework names it and as the picture does: 'c→g' for Keras's candidate."""
    native = cell.native_name(gate)
    return gate if native == gate else f"{native}→{gate}"


def sum_notes(n: Numbers) -> list[str]:
    """What each layer's sum adds, read off the record's terms; gates that sum alike share a line."""
    cell = n.run.cell
    h, x = f"h{sub(n.t - 1)}", n.x_name

    def label(key: str, gate: str) -> str:
        if key == "hU" and cell.kind == "gru" and gate == "n":  # without reset_after, r resets h first
            return f"(r⊙{h})·U"
        return term_row_label(key, cell, x, h)

    terms = {gate: [(term.key, label(term.key, gate)) for term in n.run.blocks[gate].terms] for gate in cell.gates}
    groups: dict[tuple[str, ...], list[str]] = {}
    for gate in cell.gates:
        groups.setdefault(tuple(text for _, text in terms[gate]), []).append(gate)
    if len(groups) == 1:
        lead = "each layer sums" if len(cell.gates) > 1 else "the layer sums"
        return [f"{lead} pre = {' + '.join(next(iter(groups)))}"]
    if cell.kind == "gru":
        return [f"{', '.join(gates)} sum pre = {' + '.join(texts)}" for texts, gates in groups.items()]
    parts = []
    for key in TERM_KEYS:  # one line: each term, and the gates that add it where not all do
        having = [gate for gate in cell.gates if any(k == key for k, _ in terms[gate])]
        if having:
            only = "" if len(having) == len(cell.gates) else f" ({', '.join(having)})"
            parts.append(label(key, having[0]) + only)
    return ["each layer sums pre = " + " + ".join(parts)]


def back_notes(n: Numbers) -> list[str]:
    """Where the layers' δpre go in the backward pass: to x through W, to h_{t−1} through U (a GRU: and z, r)."""
    t = n.t
    pre, h = f"δpre{sub(t)}", f"δh{sub(t - 1)}"
    outside = f"δh_out{sub(t - 1)}"
    kind = n.run.cell.kind
    if kind == "rnn":
        return [f"δ{n.x_name} = δpre_h{sub(t)}·Wᵀ, {h} = {outside} + δpre_h{sub(t)}·Uᵀ"]
    if kind == "gru":
        return [f"δ{n.x_name} = {pre}·Wᵀ; {h} = {outside} + what z, r", "and U send back (δpre: every layer's)"]
    return [f"δ{n.x_name} = {pre}·Wᵀ, {h} = {outside} + {pre}·Uᵀ", f"({pre}: every layer's δpre side by side)"]


def inputs(cv: Canvas, n: Numbers, h_from: float | None) -> float:
    """x from below and h from the left (or from the top line at x = `h_from`) joined by concatenation.

    Returns the x where the concatenated vector leaves for the layers.
    """
    t = n.t
    h = f"h{sub(t - 1)}"
    top = BUS_Y - 56
    upper, _, right = cv.concat(CONCAT_X, top, h, n.x_name)
    left = CONCAT_X - 35
    if h_from is None:
        cv.wire([(20, upper), (left, upper)], "hstate")
        shown = n.common("h_prev", h)  # all of h enters every unit's sums
        cv.blocks(Slot(24, 360, upper - 8, left - 36, up=True), [shown])
    else:
        cv.dot(h_from, TOP, "hstate")
        cv.wire([(h_from, TOP), (h_from, upper), (left, upper)], "hstate")
    cv.wire([(CONCAT_X, 718), (CONCAT_X, top + 118)])
    cv.blocks(Slot(CONCAT_X + 16, 682, 718, 1000), [n.common("x", n.x_name, 700)])
    notes = back_notes(n) if n.backward else sum_notes(n)
    cv.blocks(Slot(right + 40, BUS_Y + 8, 672, 1080 - right - 40), list(notes), gap=False)
    return right


def layer(
    cv: Canvas, n: Numbers, gate: str, x: float, width: float, above: float | None = MUL_Y + 24, wide: float = 0
) -> float:
    """A layer box at x fed from the bus; its half width.

    Its sum is written below it, right of the wire, `width` wide; its activation above it, no higher
    than `above` (None: not written), `wide` wide if given.
    """
    cell = n.run.cell
    kind = "layer candidate" if gate in ("g", "n", "h") else "layer"
    half = cv.box(x, BOX_Y, cell.activation_of(gate).label, kind, tag(cell, gate), widest=LAYER_BOX)
    cv.wire([(x, BUS_Y), (x, BOX_Y + 25)])
    cv.blocks(Slot(x + 12, BELOW_BOX, ABOVE_BUS, width), n.pre(gate))
    if above is not None:
        cv.blocks(Slot(x + 12, above, ABOVE_BOX, wide or width, up=True), n.gate(gate))
    return half


def draw_cell(cv: Canvas, n: Numbers, top: float) -> str:
    """The picture for the run's kind of cell; returns its one-sentence description."""
    return {"lstm": _lstm, "gru": _gru, "rnn": _rnn}[n.run.cell.kind](cv, n, top)


def _lstm(cv: Canvas, n: Numbers, top: float) -> str:
    run, cell, t = n.run, n.run.cell, n.t
    xf, xi, xg, xo, xa = 300, 490, 680, 860, 1070
    c_prev, c_new = f"c{sub(t - 1)}", f"c{sub(t)}"
    right = inputs(cv, n, None)
    cv.wire([(right, BUS_Y), (xo, BUS_Y)], arrow=False)
    for x in (xf, xi, xg):
        cv.dot(x, BUS_Y)
    # the cell state along the top: c_{t−1} → ⊙ f → + i ⊙ g → (clip) → c_t
    c_top = top
    if n.backward and t > 1:
        c_top = _back_c_note(cv, n, top)
    cv.blocks(Slot(24, c_top, TOP - 20, 560, up=True), [n.quantity("c_prev", c_prev)])
    cv.wire([(20, TOP), (xf - 17, TOP)], "cstate")
    cv.node(xf, TOP, "mul")
    cv.wire([(xf + 17, TOP), (xg - 17, TOP)], "cstate")
    cv.node(xg, TOP, "add")
    clip = run.update("cell_clip")
    c_left, c_width = float(xg + 24), 520.0  # where c_t's numbers may start, and how wide they may be at the right
    if clip is not None:
        xc = (xg + xa) / 2
        half = cv.box(xc, TOP, f"clip ±{num(clip.bound or 0, AUTO)}", "op", minimum=60, height=40)
        cv.wire([(xg + 17, TOP), (xc - half, TOP)], "cstate")
        cv.wire([(xc + half, TOP), (RIGHT, TOP)], "cstate")
        if not n.backward:  # backward, the clip passes δc where c was within the bound: no δ of its own
            before = n.update("cell_update", "c_unclipped", f"{c_new} before clip")
            cv.blocks(Slot(xg + 24, top, TOP - 28, xc + half - xg - 24, up=True), [before])
        c_left = xc + half + 12
        c_width = 1260 - c_left
    else:
        cv.wire([(xg + 17, TOP), (RIGHT, TOP)], "cstate")
    if n.backward:  # δc_t is whole where h_t's path joins the line, left of act(c); from the right comes a part
        cv.blocks(Slot(xa - 14, top, TOP - 20, xa - 14 - c_left, up=True, end=True), [n.quantity("c", c_new)])
        source = f"from step {t + 1}" if t < run.steps else "from outside"
        cv.blocks(Slot(1260, top, TOP - 20, 1260 - xa - 14, up=True, end=True), [source])
    else:
        cv.blocks(Slot(1260, top, TOP - 20, c_width, up=True, end=True), [n.quantity("c", c_new)])
    # the four layers and how their outputs meet
    layer(cv, n, "f", xf, xi - xf - 24, TOP + 24)
    layer(cv, n, "i", xi, xg - xi - 24)
    layer(cv, n, "g", xg, xo - xg - 24)
    cv.wire([(xf, BOX_Y - 25), (xf, TOP + 17)])
    cv.wire([(xi, BOX_Y - 25), (xi, MUL_Y), (xg - 17, MUL_Y)])
    cv.wire([(xg, BOX_Y - 25), (xg, MUL_Y + 17)])
    cv.node(xg, MUL_Y, "mul")
    cv.wire([(xg, MUL_Y - 17), (xg, TOP + 17)])
    # act(c) and the output gate: h = o ⊙ act(c)
    act_y = 262
    cv.dot(xa, TOP, "cstate")
    act_half = cv.box(xa, act_y, cell.cell_activation.label, "layer candidate", widest=LAYER_BOX)
    cv.wire([(xa, TOP), (xa, act_y - 25)], "cstate")
    cv.wire([(xa, act_y + 25), (xa, BOX_Y - 17)])
    act_slot = Slot(xa + act_half + 12, TOP + 24, ABOVE_BOX, 1260 - xa - act_half - 12)
    act = cell.cell_activation.label
    act = act if text_width(f"{'δ' if n.backward else ''}{act}({c_new}) =") <= act_slot.width else "act"
    cv.blocks(act_slot, [n.update("act_c", "act_c", f"{act}({c_new})")])
    o_half = layer(cv, n, "o", xo, xa - xo - 24, act_y + 33)  # o written under act(c)'s box, clear of its wire
    cv.wire([(xo + o_half, BOX_Y), (xa - 17, BOX_Y)])
    cv.node(xa, BOX_Y, "mul")
    h_slot = Slot(xa + 20, BOX_Y + 22, 716, 1260 - xa - 20)
    h_new = n.state("h", f"h{sub(t)}")
    if run.update("projection") is not None:
        xp = 1180
        proj_clip = run.update("proj_clip")
        half = cv.box(xp, BOX_Y, "·P", "op", minimum=60)
        cv.wire([(xa + 17, BOX_Y), (xp - half, BOX_Y)])
        cv.wire([(xp + half, BOX_Y), (RIGHT, BOX_Y)], "hstate")
        clipped = [f"then clip ±{num(proj_clip.bound or 0, AUTO)}"] if proj_clip is not None else []
        cv.blocks(h_slot, [n.update("output", "m", f"m{sub(t)}"), *clipped, h_new])
    else:
        cv.wire([(xa + 17, BOX_Y), (RIGHT, BOX_Y)], "hstate")
        cv.blocks(h_slot, [h_new])
    if n.backward:
        return (
            f"LSTM cell at step {t}, backward: δ{c_new} and δh{sub(t)} come in from the right; δ{c_new} flows back "
            f"along the top to δ{c_prev} and down to the layers f, i, g, o, whose δpre go back to "
            f"δh{sub(t - 1)} and δ{n.x_name}."
        )
    return (
        f"LSTM cell at step {t}: the cell state {c_prev} runs along the top through ⊙ f and + i ⊙ g to {c_new}; "
        f"h{sub(t - 1)} and {n.x_name} are concatenated and feed the layers f, i, g, o; h{sub(t)} = o ⊙ act({c_new})."
    )


def _back_c_note(cv: Canvas, n: Numbers, top: float) -> float:
    """Backward, above c_{t−1}: its δ is the whole dL/dc_{t−1}, more than this step sends back; returns where the
    space below the note starts."""
    t = n.t
    c, h = f"c{sub(t - 1)}", f"h{sub(t - 1)}"
    note = f"δ{c} = dL/d{c} in all: what this step sends back, and what reaches {c} through {h} at step {t - 1}"
    cv.blocks(Slot(24, top, top + LINE, 1230), [note])
    return top + LINE + 8


def _gru(cv: Canvas, n: Numbers, top: float) -> str:
    run, cell, t = n.run, n.run.cell, n.t
    xz, xr, xm, xn = 300, 490, 640, 940
    h_prev, h_new = f"h{sub(t - 1)}", f"h{sub(t)}"
    right = inputs(cv, n, 150)
    cv.wire([(right, BUS_Y), (xn, BUS_Y)], arrow=False)
    for x in (xz, xr, xm):
        cv.dot(x, BUS_Y)
    # h along the top: h_{t−1} → ⊙ z → + (1 − z) ⊙ n → h_t
    cv.blocks(Slot(24, top, TOP - 20, 560, up=True), [n.quantity("h_prev", h_prev)])
    cv.blocks(Slot(1260, top, TOP - 20, 320, up=True, end=True), [n.quantity("h", h_new)])
    cv.wire([(20, TOP), (xz - 17, TOP)], "hstate")
    cv.node(xz, TOP, "mul")
    cv.wire([(xz + 17, TOP), (xn - 17, TOP)], "hstate")
    cv.node(xn, TOP, "add")
    cv.wire([(xn + 17, TOP), (RIGHT, TOP)], "hstate")
    # z: keeps h_{t−1} where it is 1, takes n where it is 0
    layer(cv, n, "z", xz, xr - xz - 24)
    cv.wire([(xz, BOX_Y - 25), (xz, TOP + 17)])
    cv.dot(xz, MUL_Y)
    x1 = 790
    one_half = cv.box(x1, MUL_Y, "1 − z", "op", height=44)
    cv.wire([(xz, MUL_Y), (x1 - one_half, MUL_Y)])
    cv.wire([(x1 + one_half, MUL_Y), (xn - 17, MUL_Y)])
    # r: resets h's part of the candidate, after the product with reset_after, before it without
    r_half = layer(cv, n, "r", xr, xm - xr - 24)
    n_half = cv.box(xn, BOX_Y, cell.activation.label, "layer candidate", tag(cell, "n"), widest=LAYER_BOX)
    ym = BOX_Y + 12  # the reset node, level with the lower half of the boxes
    cv.wire([(xr + r_half, ym), (xm - 17, ym)])
    cv.node(xm, ym, "mul")
    cv.wire([(xm, BUS_Y), (xm, ym + 17)])
    cv.wire([(xm + 17, ym), (xn - n_half, ym)])
    gated: list[Shown | str] = []
    if cell.reset_after:
        rb = f"+{cell.names.recurrent_bias_label}" if cell.recurrent_bias is not None else ""
        reset = next(term for term in run.blocks["n"].terms if term.key == "reset")
        into: Shown | str = f"{h_prev}·U{rb}"
        if n.back is not None:  # the product's δ, δpre_n ⊙ r; what r ⊙ (...) gets is δpre_n itself
            into = n.unitwise("d_hu", f"δ({into})", n.back.dhu[n.s, n.b][cell.block("n")])
        else:
            gated.append(n.unitwise("reset", f"r⊙({h_prev}·U{rb})", reset.at(n.s, n.b)))
    else:
        assert run.gated is not None
        if not n.backward:  # backward, r ⊙ h's δ is δpre_n·U_nᵀ, which the record does not keep apart
            gated.append(n.unitwise("reset_h", f"r⊙{h_prev}", run.gated[n.s, n.b]))
        into = h_prev
    cv.blocks(Slot(xm + 12, MUL_Y + 32, ABOVE_BOX, xn - n_half - xm - 20), gated)
    cv.blocks(Slot(xm + 12, BELOW_BOX + 12, ABOVE_BUS, xn - xm - 24), [into])
    # n: the candidate, taken where z is 0
    cv.wire([(xn, BUS_Y), (xn, BOX_Y + 25)])
    cv.blocks(Slot(xn + 12, BELOW_BOX, ABOVE_BUS, 1260 - xn - 12), n.pre("n"))
    cv.blocks(Slot(xn + 12, MUL_Y + 24, ABOVE_BOX, 1260 - xn - 12, up=True), n.gate("n"))
    cv.wire([(xn, BOX_Y - 25), (xn, MUL_Y + 17)])
    cv.node(xn, MUL_Y, "mul")
    cv.wire([(xn, MUL_Y - 17), (xn, TOP + 17)])
    if n.backward:
        return (
            f"GRU cell at step {t}, backward: δ{h_new} comes in from the right and flows back along the top to "
            f"δ{h_prev} and down to z and n, whose δpre (and r's) go back to δ{h_prev} and δ{n.x_name}."
        )
    return (
        f"GRU cell at step {t}: {h_prev} runs along the top through ⊙ z and + (1 − z) ⊙ n to {h_new}; "
        f"{h_prev} and {n.x_name} are concatenated and feed z, r and n; r scales {h_prev}'s part of n."
    )


def _rnn(cv: Canvas, n: Numbers, top: float) -> str:
    cell, t = n.run.cell, n.t
    xh = 640
    right = inputs(cv, n, None)
    cv.wire([(right, BUS_Y), (xh, BUS_Y)], arrow=False)
    layer(cv, n, "h", xh, 1060 - xh, above=None)
    cv.blocks(Slot(xh + 12, MUL_Y + 24, ABOVE_BOX, 600, up=True), n.gate("h")[:-1])  # the clipped sum, if any
    cv.wire([(xh, BOX_Y - 25), (xh, TOP), (RIGHT, TOP)], "hstate")
    act = cell.activation.label
    state = f"the layer's output is the new state: h{sub(t)} = {act}(pre_h{sub(t)})"
    if n.backward:
        state = f"δpre_h{sub(t)} = δh{sub(t)} ⊙ {act}′(pre_h{sub(t)})"
    cv.blocks(Slot(xh + 12, TOP + 24, ABOVE_BOX, 600), [state])
    cv.blocks(Slot(1260, top, TOP - 20, 560, up=True, end=True), [n.quantity("h", f"h{sub(t)}")])
    if n.backward:
        return (
            f"Simple RNN cell at step {t}, backward: δh{sub(t)} comes in from the right and goes back through the "
            f"{act} layer to δh{sub(t - 1)} and δ{n.x_name}."
        )
    return (
        f"Simple RNN cell at step {t}: h{sub(t - 1)} and {n.x_name} are concatenated and feed one {act} layer, "
        f"whose output is h{sub(t)}."
    )


def draw_skipped(cv: Canvas, n: Numbers, top: float) -> str:
    """A row past its sequence length at this step: nothing is computed, its state is carried through (going
    back, its δ's pass on, to which the state before adds what else reaches it)."""
    run, t = n.run, n.t
    carried = "its δ passes back" if n.backward else "its state is carried through"
    why = "the mask skips this step for it" if run.masked else "it is past its sequence length"
    said = [
        f"batch row {n.b + 1} has no input at step {t}: {why}.",
        f"Nothing is computed for it; {carried} unchanged.",
    ]
    if n.backward:
        names = [f"{name}{sub(t - 1)}" for name in ("h", "c") if name == "h" or run.c is not None]
        deltas, are = " and ".join(f"δ{name}" for name in names), "are" if len(names) > 1 else "is"
        said.append(f"{deltas} {are} that, plus what else reaches {' and '.join(names)}.")
    cv.blocks(Slot(24, top + 20, 300, 1230), said)
    states = [("h_prev", "h", "h", "hstate", 560)]
    if run.c is not None:
        states.insert(0, ("c_prev", "c", "c", "cstate", 380))
    for prev, new, name, cls, y in states:
        cv.wire([(300, y), (980, y)], cls)
        cv.text(640, y - 12, "passed back unchanged" if n.backward else "carried through unchanged", "note", "middle")
        before = n.state(prev, f"{name}{sub(t - 1)}")
        after = n.state(new, f"{name}{sub(t)}")
        cv.blocks(Slot(290, y - 140, y + 10, 260, up=True, end=True), [before])
        cv.blocks(Slot(990, y - 140, y + 10, 270, up=True), [after])
    why = "is masked" if run.masked else "is past its sequence length"
    return f"Step {t} of batch row {n.b + 1} {why}: {carried}."
