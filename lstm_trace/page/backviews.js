/* The backward pass of the shown step, each part drawn into its section: L and what it is, the
 * state's δ's (what reaches step t and what it sends back), each gate block's δ after and before
 * its activation, what the step adds to each weight's gradient, and the gradients under the
 * scenario's own names. They lay out what LstmBackward recorded (ctx.back) and compute nothing
 * but act′, which they take from the backward pass's own derivative (ctx.slope).
 *
 * A δ number carries data-q `d_` + BackRun.quantity's name (d_h, d_c, d_h_prev, d_i, d_pre_i,
 * d_x, ...), `d_h_out`/`d_c_out` for what reaches the state from outside, `slope_i`/`c_slope`
 * for act′, with data-b and data-u; a step's part of a weight's gradient `add_kernel` ... with
 * data-i (its canonical index) and data-u, summed over batch rows; a total gradient `grad` with
 * data-g (the scenario's name) and data-i; L `loss`.
 */
"use strict";

function LstmBackViews(ctx) {
  const { S, fmt } = ctx;
  const DATA = ctx.data;
  const { sub, num, esc } = fmt;
  const { run, spec, arr, op, update, quantity, active, back, delta, slope, slopeC } = ctx;
  const { span, stepNum, gateNum, td, row, table, unitHeader, blockHeads, nested, xName, skipReason } = ctx;

  /** What L is, as the scenario's backward block says it (gradients.py's Backward.describe). */
  function lossText() {
    const b = DATA.backward;
    if (b.upstream) return `L = Σ upstream ⊙ output (upstream gradients given for ${Object.keys(b.upstream).join(", ")})`;
    return { half_squared_error: `L = ½ Σ (${b.of} − target)²`, mean_squared_error: `L = mean((${b.of} − target)²)`, sum: `L = Σ ${b.of}` }[b.loss];
  }

  /** The header: L, and how the backward pass walks the steps. */
  function viewHead(el) {
    const T = run().T;
    const t = S.step;
    const order = t === T ? "first" : `after step${T - t > 1 ? `s ${t + 1}–${T}` : ` ${T}`}, from what they sent back`;
    let html = `<p class="loss"><span data-grid>${esc(lossText())} = ${span('data-q="loss"', ctx.back.loss, "")}</span></p>`;
    html += `<p class="note">${esc(`δ is dL/d: δh${sub(t)}[1] is dL/dh${sub(t)}[1]. Going back, the steps are undone from t = ${T} down to 1: step ${t} ${t === T ? "is undone first" : `is undone ${order}`}.`)}</p>`;
    el.innerHTML = html;
  }

  /** The state's δ's per unit: what reaches h_t and c_t, the chain through the state update, what goes back. */
  function viewState(el) {
    const r = run();
    const c = spec();
    const s = S.step - 1;
    const b = S.batch - 1;
    const t = S.step;
    const width = Math.max(r.H, r.Hout);
    const line = (label, w, value, cls) => {
      let cells = "";
      for (let u = 0; u < width; u++) cells += u < w ? td(value(u), u) : td("", u, "empty");
      return row(label, cells, cls || "");
    };
    const d = (label, name, w, cls) => line(label, w, (u) => stepNum(`d_${name}`, b, u, delta(name, s, b, u)), cls);
    const fwd = (label, q, w) => line(label, w, (u) => stepNum(q, b, u, quantity(q, s, b, u)), "fwd");
    const tn = sub(t);
    const tp = sub(t - 1);
    const proj = c.kind === "lstm" && update("projection");
    let body = "";
    let formula;
    if (c.kind === "lstm") {
      const act = update("act_c").activation;
      body += fwd(`c${tp}`, "c_prev", r.H) + fwd(`c${tn}`, "c", r.H);
      body += line(`${act.label}(c${tn})`, r.H, (u) => stepNum("act_c", b, u, ctx.at(r.c_act, s, b, r.H, u)), "fwd");
      body += d(`δh_out${tn}`, "h_out", r.Hout);
      body += d(`= δh${tn}`, "h", r.Hout, "gate");
      if (proj && update("proj_clip")) body += d(`δp${tn}`, "p_in", r.Hout);
      if (proj) body += d(`δm${tn} = δ·${c.names.projection}ᵀ`, "m", r.H);
      const out = proj ? "δm" : "δh";
      body += d(`δ${act.label}(c${tn}) = ${c.rules.output_gate ? `${out} ⊙ o` : out}`, "act_c", r.H);
      body += line(`${act.label}′(c${tn})`, r.H, (u) => {
        const v = slopeC(s, b, u);
        return v === null ? "" : stepNum("c_slope", b, u, v);
      });
      if (back().dcOut.some((v) => v !== 0)) body += d(`δc_out${tn}`, "c_out", r.H);
      body += d(`= δc${tn}`, "c", r.H, "gate");
      const from = c.rules.forget_term ? ` + δc${sub(t + 1)} ⊙ f${sub(t + 1)}` : "";
      formula = `δh${tn} = δh_out${tn} + δz${sub(t + 1)}·Uᵀ; δc${tn} = ${out}${tn}${c.rules.output_gate ? ` ⊙ o${tn}` : ""} ⊙ ${act.label}′(c${tn})${from}`;
      if (arr("peepholes")) formula += " (+ the peepholes' paths)";
    } else if (c.kind === "gru") {
      body += fwd(`h${tp}`, "h_prev", r.Hout);
      body += d(`δh_out${tn}`, "h_out", r.Hout);
      body += d(`= δh${tn}`, "h", r.Hout, "gate");
      const keep = c.rules.update_swapped ? `(1 − z${sub(t + 1)})` : `z${sub(t + 1)}`;
      formula = `δh${tn} = δh_out${tn} + δh${sub(t + 1)} ⊙ ${keep} + what step ${t + 1}'s sums send back through U`;
    } else {
      body += d(`δh_out${tn}`, "h_out", r.Hout);
      body += d(`= δh${tn}`, "h", r.Hout, "gate");
      formula = `δh${tn} = δh_out${tn} + δz${sub(t + 1)}·Uᵀ`;
    }
    let html = `<p class="formula">${esc(formula)}</p>`;
    const head = `<thead><tr><th scope="col" class="rowh">unit</th>${unitHeader(width)}</tr></thead>`;
    html += table(`${head}<tbody>${body}</tbody>`, `step ${t}: the state's δ's per unit`);
    let sent = d(`δh${tp}`, "h_prev", r.Hout);
    if (c.kind === "lstm") sent += d(`δc${tp}`, "c_prev", r.H);
    html += `<p class="note">${esc(`What step ${t} sends back${t === 1 ? ": the initial state's gradients" : ` (the totals step ${t - 1} starts from)`}, and δx:`)}</p>`;
    html += table(`${head}<tbody>${sent}</tbody>`, `step ${t}: what it sends back`);
    let items = "";
    for (let f = 0; f < r.F; f++) items += stepNum("d_x", b, f, delta("x", s, b, f)) + " ";
    html += `<div class="vecrow"><span class="vname">${esc(`δ${xName(s)}`)}</span> = <span class="vec" data-grid>[ ${items}]</span></div>`;
    if (!active(s, b)) html += `<p class="note">${esc(skipReason(s, b))}</p>`;
    el.innerHTML = html;
  }

  /** Each gate block (framework's order): its value, δ after the activation, act′, δ before it. */
  function viewGates(el) {
    const c = spec();
    const s = S.step - 1;
    const b = S.batch - 1;
    const t = S.step;
    const H = c.units;
    const order = c.order;
    if (!active(s, b)) {
      el.innerHTML = `<p class="note skipped">${esc(`${skipReason(s, b)} Its δ's pass back to step ${t - 1} untouched.`)}</p>`;
      return;
    }
    const cells = (fn) => {
      let out = "";
      for (const g of order) for (let u = 0; u < H; u++) {
        const html = fn(g, u);
        out += html === null ? td("", u, "empty") : td(html, u);
      }
      return out;
    };
    const z = c.kind === "gru" ? "pre" : "z";
    const tn = sub(t);
    let body = row(`gate${tn}`, cells((g, u) => gateNum(g, b, u, quantity(g, s, b, u))), "fwd");
    if (c.kind !== "rnn") body += row(`δgate${tn}`, cells((g, u) => stepNum(`d_${g}`, b, u, delta(g, s, b, u))), "");
    body += row(`act′(${z}${tn})`, cells((g, u) => {
      const v = slope(g, s, b, u);
      return v === null ? null : stepNum(`slope_${g}`, b, u, v);
    }), "");
    body += row(`= δ${z}${tn}`, cells((g, u) => stepNum(`d_pre_${g}`, b, u, delta(`pre_${g}`, s, b, u))), "gate");
    if (c.kind === "gru" && c.reset_after) {
      body += row(`δ(h·U)${tn}`, cells((g, u) => stepNum(`d_hu_${g}`, b, u, delta(`hu_${g}`, s, b, u))), "");
    }
    const gate = c.kind === "rnn" ? `δh${tn} (the state is the h block)` : `δgate = dL/d gate`;
    let html = `<p class="formula">${esc(`δ${z}${tn} = ${gate} ⊙ act′(${z}${tn})`)}</p>`;
    html += table(`<thead>${blockHeads(order)}</thead><tbody>${body}</tbody>`, `step ${t}: each gate block's δ after and before its activation`);
    if (c.gates.includes("f") && op("f", "one_minus")) html += `<p class="note">${esc("f = 1 − i: its own sum is unused, so its δ goes to i (δi takes − δf).")}</p>`;
    if (c.gates.some((g) => op(g, "clip"))) html += `<p class="note">${esc("a clipped sum passes δ only where it was within its bounds (clip′ = 1), else 0.")}</p>`;
    el.innerHTML = html;
  }

  /** What step t adds to each canonical weight's gradient, in the weights panel's layout. */
  function viewAdds(el) {
    const c = spec();
    const r = run();
    const s = S.step - 1;
    const H = c.units;
    const G = c.gates.length;
    const order = c.order;
    const n = c.names;
    const adds = back().adds(s);
    const num_ = (name, flat, u) => span(`data-q="add_${name}" data-i="${flat}" data-u="${u + 1}"`, adds[name][flat], "");
    const colOf = ctx.colOf;
    const matrix = (name, label, rows) => {
      let out = "";
      for (let k = 0; k < rows; k++) {
        let cells = "";
        for (const g of order) for (let u = 0; u < H; u++) cells += td(num_(name, k * G * H + colOf(g, u), u), u);
        out += row(`${label}[${k + 1}]`, cells, "");
      }
      return out;
    };
    let body = matrix("kernel", "x", c.features) + matrix("recurrent", "h", c.output_size);
    const vector = (name, label) => {
      if (!adds[name]) return "";
      let cells = "";
      for (const g of order) for (let u = 0; u < H; u++) cells += td(num_(name, colOf(g, u), u), u);
      return row(label, cells, "sum");
    };
    body += vector("bias", n.bias_label) + vector("recurrent_bias", n.recurrent_bias_label);
    if (adds.peepholes) {
      const rowOf = { i: 0, f: 1, o: 2 };
      let cells = "";
      for (const g of order) for (let u = 0; u < H; u++) cells += g in rowOf ? td(num_("peepholes", rowOf[g] * H + u, u), u) : td("", u, "empty");
      body += row("w_diag", cells, "sum");
    }
    const batch = r.B > 1 ? `, summed over the ${r.B} batch rows` : "";
    const z = c.kind === "gru" ? "pre" : "z";
    let html = `<p class="note">${esc(`x rows: what step ${S.step} adds to dL/d ${n.kernel}, x${sub(r.reads[s] + 1)}ᵀ·δ${z}${sub(S.step)}; h rows: to dL/d ${n.recurrent}, h${sub(S.step - 1)}ᵀ·δ(h·U)${sub(S.step)}${batch}. Columns in ${DATA.framework}'s block order; the sums over every step are under “The gradients”.`)}</p>`;
    html += table(`<thead>${blockHeads(order)}</thead><tbody>${body}</tbody>`, `what step ${S.step} adds to each weight's gradient`);
    if (adds.projection) {
      const P = c.output_size;
      let rows = "";
      for (let k = 0; k < H; k++) {
        let cells = "";
        for (let u = 0; u < P; u++) cells += `<td>${num_("projection", k * P + u, u)}</td>`;
        rows += row(`m[${k + 1}]`, cells, "");
      }
      let head = "";
      for (let u = 0; u < P; u++) head += `<th scope="col">h ${u + 1}</th>`;
      html += `<p class="note">${esc(`d${n.projection} += m${sub(S.step)}ᵀ·δp${sub(S.step)}`)}</p>`;
      html += table(`<thead><tr><th class="rowh"></th>${head}</tr></thead><tbody>${rows}</tbody>`, "what the step adds to the projection's gradient");
    }
    el.innerHTML = html;
  }

  /** dL/d every number of the scenario, under its own names and shapes (run --format json's gradients). */
  function viewTotals(el) {
    const g = ctx.back;
    const shapes = Object.fromEntries((DATA.sources || []).map((src) => [src.name, src.shape]));
    const m = ctx.model;
    const groups = [
      ["weights", g.weights],
      ["initial_state", g.initial_state],
      ["inputs", { inputs: g.inputs }],
    ];
    let html = "";
    if (DATA.no_edit) html += `<p class="note">${esc(`Only the inputs' gradient can be given under the scenario's names here: ${DATA.no_edit}.`)}</p>`;
    html += `<p class="note">${esc(`dL/d each number of the scenario, in its own names and shapes: the weights' gradients are the sums over every step (and batch row) of what each step adds; the initial state's are δh₀${run().c ? " and δc₀" : ""}; the inputs' δx, in input time (B, T, F).`)}</p>`;
    for (const [group, values] of groups) {
      for (const [name, array] of Object.entries(values)) {
        const shape = group === "inputs" ? [m.B, m.T, m.F] : shapes[name];
        const edge = array.length > 1000 ? 3 : Infinity;
        const cell = (flat) => span(`data-q="grad" data-g="${esc(name)}" data-i="${flat}"`, array[flat], "");
        html += `<div class="ret"><span class="vname">${esc(`dL/d ${name}`)}</span> = <span class="arr" data-grid>${nested(shape, cell, edge)}</span></div>`;
      }
    }
    el.innerHTML = html;
  }

  return { head: viewHead, state: viewState, gates: viewGates, adds: viewAdds, totals: viewTotals, lossText };
}
