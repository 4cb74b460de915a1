/* What every part of the page shares: the state it shows, where that is in the engine's
 * record (which run, which gate block), and the number elements every view writes.
 *
 * The views, the diagram and the explanations each receive this context; page.js owns it
 * and sets `model` (LstmEngine.decode), `result` (LstmEngine.run) and `back`
 * (LstmBackward.backward of that result, or null without a backward block) on it. A number
 * element carries data-q (what it is), data-b and data-u (batch row and unit, from 1) and
 * data-v (its exact value); a weight carries data-w (its canonical array) and data-i.
 */
"use strict";

function LstmContext(data) {
  const TERM_KEYS = ["xW", "hU", "b", "b_rec", "forget_bias", "peephole", "reset"];
  const TITLES = { i: "input", f: "forget", g: "candidate", o: "output", z: "update", r: "reset", n: "candidate", h: "state" };
  const BOUNDED = ["sigmoid", "hard_sigmoid", "sparse_sigmoid"];
  const CANDIDATES = ["g", "n", "h"];
  const S = { pass: "forward", step: 1, batch: 1, unit: 1, layer: 1, direction: 1, digits: 4, theme: "auto", edits: [] };
  const fmt = LstmFormat(data.dtype, () => S.digits);
  const { sub, shortest, num, esc } = fmt;
  const ctx = { data, S, fmt, TERM_KEYS, TITLES, CANDIDATES, model: null, result: null, back: null };

  // ---- where we are -----------------------------------------------------------------------------
  const runs = () => ctx.result.runs.flatMap((layer) => layer);
  const run = () => ctx.result.runs[S.layer - 1][S.direction - 1];
  const spec = () => ctx.model.layers[S.layer - 1][S.direction - 1];
  const arr = (name) => spec().arrays[name]; // a typed array, or undefined where the cell has none
  const ident = (name) => `${S.layer - 1}.${S.direction - 1}.${name}`;
  const steps = () => run().T;
  const blk = (g) => (spec().gates.length > 1 ? `_${g}` : "");
  const preName = (g) => (spec().kind === "gru" ? `pre${blk(g)}` : `z${blk(g)}`);
  const block = (g) => spec().blocks.find((x) => x.gate === g);
  const op = (g, kind) => block(g).ops.find((o) => o.kind === kind);
  const update = (kind) => spec().updates.find((o) => o.kind === kind);
  const colOf = (g, u) => spec().gates.indexOf(g) * spec().units + u;
  const at = (a, s, b, width, u) => a[(s * run().B + b) * width + u];

  function quantity(q, s, b, u) {
    return run().quantity(q, s, b, u);
  }

  function active(s, b) {
    const a = run().active;
    return !a || a[s * run().B + b] !== 0;
  }

  function gateMark(g, v) {
    const act = op(g, "act");
    if (CANDIDATES.includes(g) || !act || !act.activation || !BOUNDED.includes(act.activation.name)) return "";
    return v <= 0.05 ? "shut" : v >= 0.95 ? "open" : "";
  }

  function cellAttrs(q, b, u) {
    return `data-q="${esc(q)}" data-b="${b + 1}" data-u="${u + 1}"`;
  }

  function span(attrs, v, cls) {
    return `<span class="n${cls ? " " + cls : ""}" tabindex="-1" ${attrs} data-v="${shortest(v)}">${esc(num(v))}</span>`;
  }

  function stepNum(q, b, u, v, cls) {
    return span(cellAttrs(q, b, u), v, cls);
  }

  /** A number of the step, with the marks of a gate all but shut or wide open (text, not colour alone). */
  function gateNum(g, b, u, v) {
    const mark = gateMark(g, v);
    return span(cellAttrs(g, b, u), v, mark ? `gate-${mark}` : "");
  }

  function keyOf(name, index) {
    return `${name}|${index.join(",")}`;
  }

  /** Which canonical element an on-page number is, if it is one the scenario gives. */
  function target(el) {
    const d = el.dataset;
    if (d.w) return { ident: ident(d.w), flat: +d.i };
    const s = S.step - 1;
    const b = +d.b - 1;
    const u = +d.u - 1;
    if (d.q === "x" && S.layer === 1) {
      const T = run().T;
      const F = run().F;
      return { ident: "inputs", flat: (b * T + run().reads[s]) * F + u };
    }
    if (s === 0 && (d.q === "h_prev" || d.q === "c_prev")) {
      const width = d.q === "h_prev" ? run().Hout : run().H;
      return { ident: ident(d.q === "h_prev" ? "h0" : "c0"), flat: b * width + u };
    }
    return null;
  }

  function sourceOf(el) {
    if (data.no_edit) return null;
    const t = target(el);
    return t ? LstmEngine.sourceOf(ctx.model, t.ident, t.flat) : null;
  }

  function editedKeys() {
    return new Set(S.edits.map((e) => keyOf(e.name, e.index)));
  }

  function xName(s) {
    return `x${sub(run().reads[s] + 1)}`;
  }

  function skipReason(s, b) {
    const r = run();
    if (ctx.model.mask) {  // Keras's mask: any step may be skipped, and the layer says what its output is there
      return `the mask skips ${xName(s)} for batch row ${b + 1}: nothing is computed at this step, and its state is carried through unchanged.`;
    }
    let length = 0;
    for (let k = 0; k < r.T; k++) if (active(k, b)) length++;
    if (length === 0) return `batch row ${b + 1} has sequence length 0: nothing is computed for it, and its output rows are zero.`;
    if (r.direction === "reverse") {
      return `x${sub(r.reads[s] + 1)} lies past batch row ${b + 1}'s sequence length ${length}: nothing is computed at this step, its state is carried and its output row is zero.`;
    }
    return `batch row ${b + 1} has ended (sequence length ${length}): nothing is computed at this step; its state is carried through unchanged and its output row is zero.`;
  }

  function actLabel(g) {
    if (op(g, "one_minus")) return "1 − i";
    const act = op(g, "act");
    return act && act.activation ? act.activation.label : "";
  }

  function readsNote(s) {
    const r = run();
    const read = r.reads[s] + 1;
    let note = `step ${s + 1} reads input time ${read}`;
    if (S.layer > 1) note += ", the output of the layer below";
    if (r.direction === "reverse") note += " (the reverse direction reads the sequence from its end)";
    return note + ".";
  }

  function td(content, u, cls) {
    const focus = u === S.unit - 1 ? " fu" : "";
    return `<td class="${(cls || "") + focus}">${content}</td>`;
  }

  function row(label, cells, cls) {
    return `<tr class="${cls || ""}"><th scope="row" class="rowh">${esc(label)}</th>${cells}</tr>`;
  }

  /** A table of numbers that scrolls in its own box; arrow keys move between its numbers (data-grid). */
  function table(content, caption) {
    return `<div class="scroll"><table class="grid" data-grid><caption class="sr">${esc(caption)}</caption>${content}</table></div>`;
  }

  /** A header cell per unit, each a button that puts the unit in focus. */
  function unitHeader(units) {
    let cells = "";
    for (let u = 0; u < units; u++) {
      const on = u + 1 === S.unit;
      cells += `<th scope="col" class="u${on ? " fu" : ""}"><button type="button" class="unit" data-unit="${u + 1}" aria-pressed="${on}" aria-label="unit ${u + 1}">${u + 1}</button></th>`;
    }
    return cells;
  }

  /** The two header rows of a table with a column per unit of each gate block (in the framework's order). */
  function blockHeads(blocks) {
    const H = spec().units;
    const head = blocks
      .map((g) => {
        const b = block(g);
        const name = b.native === g ? g : `${b.native}→${g}`;
        return `<th scope="colgroup" colspan="${H}" class="blockh">${esc(name)} <span class="title">${TITLES[g]}</span></th>`;
      })
      .join("");
    return `<tr><th scope="col" class="rowh"></th>${head}</tr><tr><th scope="col" class="rowh">unit</th>${blocks.map(() => unitHeader(H)).join("")}</tr>`;
  }

  /** An array of `shape` written as numpy nests it, each number made by `cell(flat)`; long axes elided to `edge` each side. */
  function nested(shape, cell, edge, axis = 0, offset = 0) {
    if (axis === shape.length) return cell(offset);
    const n = shape[axis];
    const stride = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const picks = n <= 2 * edge + 1 ? [...Array(n).keys()] : [0, 1, 2, null, n - 3, n - 2, n - 1];
    const parts = picks.map((k) => (k === null ? "…" : nested(shape, cell, edge, axis + 1, offset + k * stride)));
    return `[${parts.join(axis === shape.length - 1 ? " " : axis === shape.length - 2 ? ",<br>" : ",<br><br>")}]`;
  }

  // ---- the backward pass: the record of the shown run, read as backward.py's BackRun.quantity names it
  const back = () => ctx.back.runs[S.layer - 1][S.direction - 1];

  /** Step s's recorded δ of `q` (h, h_prev, c, c_prev, h_out, c_out, x, a gate, pre_g, hu_g, act_c, m, p_in). */
  function delta(q, s, b, u) {
    const bk = back();
    const { B, H, Hout, G, F } = bk.run;
    const W = G * H;
    if (q === "h" || q === "h_prev") return bk.dh[((s + (q === "h")) * B + b) * Hout + u];
    if (q === "c" || q === "c_prev") return bk.dc[((s + (q === "c")) * B + b) * H + u];
    if (q === "h_out") return bk.dhOut[((s + 1) * B + b) * Hout + u];
    if (q === "c_out") return bk.dcOut[((s + 1) * B + b) * H + u];
    if (q === "x") return bk.dx[(s * B + b) * F + u];
    if (q in bk.extra) return bk.extra[q][(s * B + b) * (q === "p_in" ? Hout : H) + u];
    if (q.startsWith("pre_")) return bk.dpre[(s * B + b) * W + colOf(q.slice(4), u)];
    if (q.startsWith("hu_")) return bk.dhu[(s * B + b) * W + colOf(q.slice(3), u)];
    return bk.dact[(s * B + b) * W + colOf(q, u)];
  }

  /** f′(x) at one number, by the backward pass's own derivative (dy = 1), in the scenario's dtype. */
  function derivative(activation, x, y) {
    const { Float } = ctx.model;
    const dx = new Float(1);
    LstmBackward.activationBack(activation)(Float.of(x), Float.of(y), Float.of(1), dx, 1);
    return dx[0];
  }

  /** act′ of gate block g's activation where it read its sum at step s (null: f = 1 − i, or softmax over units). */
  function slope(g, s, b, u) {
    const act = op(g, "act");
    if (!act || !act.activation || act.activation.name === "softmax") return null;
    const r = run();
    const k = (s * r.B + b) * r.G * r.H + colOf(g, u);
    return derivative(act.activation, op(g, "clip") ? r.pre_clipped[k] : r.pre[k], r.act[k]);
  }

  /** act′ of the cell activation where it read c at step s (null for softmax). */
  function slopeC(s, b, u) {
    const act = update("act_c").activation;
    if (act.name === "softmax") return null;
    const r = run();
    const which = spec().rules.new_cell_state ? s + 1 : s;
    return derivative(act, r.c[(which * r.B + b) * r.H + u], r.c_act[(s * r.B + b) * r.H + u]);
  }

  Object.assign(ctx, {
    runs, run, spec, arr, ident, steps, blk, preName, block, op, update, colOf, at, quantity, active, gateMark,
    cellAttrs, span, stepNum, gateNum, keyOf, target, sourceOf, editedKeys, xName, skipReason, actLabel, readsNote,
    td, row, table, unitHeader, blockHeads, nested, back, delta, slope, slopeC,
  });
  return ctx;
}
