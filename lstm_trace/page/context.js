/* What every part of the page shares: the state it shows, where that is in the engine's
 * record (which run, which gate block), and the number elements every view writes.
 *
 * The views, the diagram and the explanations each receive this context; page.js owns it
 * and sets `model` (LstmEngine.decode) and `result` (LstmEngine.run) on it. A number
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
  const ctx = { data, S, fmt, TERM_KEYS, TITLES, CANDIDATES, model: null, result: null };

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

  Object.assign(ctx, {
    runs, run, spec, arr, ident, steps, blk, preName, block, op, update, colOf, at, quantity, active, gateMark,
    cellAttrs, span, stepNum, gateNum, keyOf, target, sourceOf, editedKeys, xName, skipReason, actLabel, readsNote,
    td, row, table,
  });
  return ctx;
}
