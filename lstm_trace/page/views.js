/* The views of one step, each drawn into its section: the gate blocks' table, what the step
 * starts from, the state update, the weights in the framework's layout, and what the layer returns.
 * They lay out numbers the engine recorded (quantity, term, clipped) and compute none.
 */
"use strict";

function LstmViews(ctx) {
  const { S, fmt, TERM_KEYS, CANDIDATES } = ctx;
  const DATA = ctx.data;
  const { sub, num, esc } = fmt;
  const { runs, run, spec, arr, ident, block, op, update, colOf, at, quantity, active } = ctx;
  const { span, stepNum, gateNum, keyOf, sourceOf, editedKeys, xName, skipReason, actLabel, readsNote } = ctx;
  const { td, row, table, unitHeader, blockHeads } = ctx;

  function termLabel(key, x, hPrev) {
    const n = spec().names;
    return {
      xW: `${x}·W`,
      hU: `${hPrev}·U`,
      b: n.bias_label,
      b_rec: n.recurrent_bias_label,
      forget_bias: n.runtime_bias_label,
      peephole: "w⊙c",
      reset: `r⊙(${hPrev}·U+${n.recurrent_bias_label})`,
    }[key];
  }

  /** The step's table: per gate block in the framework's order, each term, the sum, clip, act, the gate. */
  function viewStep(el) {
    const r = run();
    const c = spec();
    const s = S.step - 1;
    const b = S.batch - 1;
    const t = S.step;
    const H = c.units;
    const order = c.order;
    if (!active(s, b)) {
      el.innerHTML = `<p class="note skipped">${esc(skipReason(s, b))}</p>`;
      return;
    }
    let body = "";
    const rows = [];
    for (const key of TERM_KEYS) {
      if (!order.some((g) => block(g).terms.includes(key))) continue;
      const label = termLabel(key, xName(s), `h${sub(t - 1)}`);
      let cells = "";
      for (const g of order) {
        for (let u = 0; u < H; u++) {
          cells += block(g).terms.includes(key) ? td(stepNum(`${key}_${g}`, b, u, r.term(g, key, s, b, u)), u) : td("", u, "empty");
        }
      }
      rows.push(row(rows.length ? `+ ${label}` : label, cells, "term"));
    }
    body += rows.join("");
    body += row(`= ${c.kind === "gru" ? "pre" : "z"}${sub(t)}`, cellsOf(order, H, (g, u) => stepNum(`pre_${g}`, b, u, quantity(`pre_${g}`, s, b, u))), "sum");
    const clipped = order.filter((g) => op(g, "clip"));
    if (clipped.length) {
      const bound = op(clipped[0], "clip").bound;
      body += row(`clip ±${num(bound)}`, cellsOf(order, H, (g, u) => (op(g, "clip") ? stepNum(`clip_${g}`, b, u, r.clipped(g, s, b, u)) : "")), "sum");
    }
    body += row("act", order.map((g) => `<td colspan="${H}" class="act">${esc(actLabel(g))}</td>`).join(""), "act");
    body += row("= gate", cellsOf(order, H, (g, u) => gateNum(g, b, u, quantity(g, s, b, u))), "gate");
    let html = table(`<thead>${blockHeads(order)}</thead><tbody>${body}</tbody>`, `step ${t}: each gate block's terms, sum and activation, per unit`);
    html += stepNotes(s, b);
    el.innerHTML = html;
  }

  function cellsOf(order, H, fn) {
    let cells = "";
    for (const g of order) for (let u = 0; u < H; u++) cells += td(fn(g, u), u);
    return cells;
  }

  function stepNotes(s, b) {
    const c = spec();
    const notes = [];
    const t = s + 1;
    if (c.arrays.peepholes) {
      const clip = update("cell_clip") ? " after clipping" : "";
      notes.push(`peepholes (w⊙c): i and f add w ⊙ c${sub(t - 1)}, the previous c; o adds w ⊙ c${sub(t)}, the new c${clip}.`);
    }
    if (c.kind === "gru") {
      const n = block("n").native;
      const hPrev = `h${sub(t - 1)}`;
      if (c.reset_after) {
        notes.push(`${n} sums differently: pre = x·W + ${c.names.bias_label} + r ⊙ (${hPrev}·U + ${c.names.recurrent_bias_label}); its ${hPrev}·U enters only through r.`);
      } else {
        notes.push(`the ${n} block's ${hPrev}·U row is (r ⊙ ${hPrev})·U: r resets h before the product.`);
      }
    }
    if (c.gates.includes("f") && op("f", "one_minus")) {
      notes.push("f = 1 − i: the forget gate is coupled to the input gate; its own sum is not used.");
    }
    return notes.map((n) => `<p class="note">${esc(n)}</p>`).join("");
  }

  /** What the step starts from: x_t (editable in layer 1), h_{t-1} and c_{t-1} (editable at t = 1). */
  function viewGiven(el) {
    const r = run();
    const s = S.step - 1;
    const b = S.batch - 1;
    const t = S.step;
    const edited = editedKeys();
    const vector = (q, name, width) => {
      let items = "";
      for (let u = 0; u < width; u++) {
        const html = stepNum(q, b, u, quantity(q, s, b, u), "");
        items += editable(html, q, b, u, edited) + " ";
      }
      return `<div class="vecrow"><span class="vname">${esc(name)}</span> = <span class="vec" data-grid>[ ${items}]</span></div>`;
    };
    let html = vector("x", xName(s), r.F);
    html += vector("h_prev", `h${sub(t - 1)}`, r.Hout);
    if (r.c) html += vector("c_prev", `c${sub(t - 1)}`, r.H);
    html += `<p class="note">${esc(readsNote(s))}</p>`;
    el.innerHTML = html;
  }

  /** Marks a rendered number editable (and edited) when it is a number the scenario gives. */
  function editable(html, q, b, u, edited) {
    const probe = { dataset: { q, b: String(b + 1), u: String(u + 1) } };
    const src = sourceOf(probe);
    if (!src) return html;
    const cls = edited.has(keyOf(src.name, src.index)) ? "ed edited" : "ed";
    return html.replace('class="n', `class="n ${cls}`);
  }

  /** The state update per unit, as the layer computes it (units as columns). */
  function viewUpdate(el) {
    const r = run();
    const c = spec();
    const s = S.step - 1;
    const b = S.batch - 1;
    const t = S.step;
    const H = c.units;
    const line = (label, q, width) => {
      let cells = "";
      for (let u = 0; u < (width || H); u++) {
        const v = quantity(q, s, b, u);
        cells += td(CANDIDATES.includes(q) || !c.gates.includes(q) ? stepNum(q, b, u, v) : gateNum(q, b, u, v), u);
      }
      return row(label, cells, q === "c" || q === "h" || q === "m" ? "gate" : "");
    };
    const raw = (label, q, a, width) => {
      let cells = "";
      for (let u = 0; u < width; u++) cells += td(stepNum(q, b, u, at(a, s, b, width, u)), u);
      return row(label, cells, "sum");
    };
    let body = "";
    const tp = sub(t - 1);
    const tn = sub(t);
    let formula = "";
    if (!active(s, b)) {
      body += line(`h${tp}`, "h_prev", r.Hout) + line(`= h${tn} (carried)`, "h", r.Hout);
      if (r.c) body += line(`c${tp}`, "c_prev") + line(`= c${tn} (carried)`, "c");
      formula = `nothing is computed: h${tn} = h${tp}${r.c ? `, c${tn} = c${tp}` : ""}`;
    } else if (c.kind === "lstm") {
      const clip = update("cell_clip");
      const act = update("act_c").activation;
      const proj = update("projection");
      body += line(`c${tp}`, "c_prev") + line("f", "f") + line("i", "i") + line("g", "g");
      const cTerms = [c.rules.forget_term ? `f ⊙ c${tp}` : null, c.rules.input_gate ? "i ⊙ g" : "g"].filter(Boolean).join(" + ");
      if (clip) {
        body += raw(cTerms, "c_raw", r.c_unclipped, H);
        body += line(`= c${tn} = clip(…, ±${num(clip.bound)})`, "c");
      } else {
        body += line(`= c${tn} = ${cTerms}`, "c");
      }
      body += raw(`${act.label}(c${tn})`, "act_c", r.c_act, H);
      body += line("o", "o");
      const out = c.rules.output_gate ? `o ⊙ ${act.label}(c${tn})` : `${act.label}(c${tn})`;
      if (proj) {
        body += raw(`= m${tn} = ${out}`, "m", r.m, H);
      } else {
        body += line(`= h${tn} = ${out}`, "h");
      }
      formula = `c${tn} = ${cTerms}${clip ? ` (clipped to ±${num(clip.bound)})` : ""}; ${proj ? "m" : "h"}${tn} = ${out}`;
    } else if (c.kind === "gru") {
      const rule = c.rules.update_swapped ? `(1 − z) ⊙ h${tp} + z ⊙ n` : `z ⊙ h${tp} + (1 − z) ⊙ n`;
      body += line(`h${tp}`, "h_prev", r.Hout) + line("z", "z") + line("n", "n") + line(`= h${tn} = ${rule}`, "h");
      formula = `h${tn} = ${rule}`;
    } else {
      const act = op("h", "act").activation;
      body += line(`h${tp}`, "h_prev", r.Hout) + line(`= h${tn} = ${act.label}(z${tn})`, "h");
      formula = `h${tn} = ${act.label}(z${tn}): the state is the h block`;
    }
    let html = `<p class="formula">${esc(formula)}</p>`;
    html += table(`<thead><tr><th scope="col" class="rowh">unit</th>${unitHeader(H)}</tr></thead><tbody>${body}</tbody>`, `step ${t}: the state update per unit`);
    if (update("projection") && active(s, b)) {
      const P = r.Hout;
      const clip = update("proj_clip");
      let cells = "";
      for (let u = 0; u < P; u++) cells += `<td>${stepNum("h", b, u, quantity("h", s, b, u))}</td>`;
      let head = "";
      for (let u = 0; u < P; u++) head += `<th scope="col">${u + 1}</th>`;
      const label = `= h${tn} = ${clip ? `clip(m${tn}·${c.names.projection}, ±${num(clip.bound)})` : `m${tn}·${c.names.projection}`}`;
      html += table(`<thead><tr><th scope="col" class="rowh">h unit</th>${head}</tr></thead><tbody>${row(label, cells, "gate")}</tbody>`, "the projection");
    }
    if (!active(s, b)) html += `<p class="note">${esc(skipReason(s, b))}</p>`;
    el.innerHTML = html;
  }

  /** The weights in the framework's layout: x rows from the kernel, h rows from the recurrent kernel. */
  function viewWeights(el) {
    const c = spec();
    const H = c.units;
    const G = c.gates.length;
    const order = c.order;
    const n = c.names;
    const edited = S.edits.length ? editedKeys() : null;
    const wcell = (name, flat, v, u, edit) => {
      let cls = "w";
      if (edit && !DATA.no_edit) {
        cls += " ed";
        if (edited) {
          const src = LstmEngine.sourceOf(ctx.model, ident(name), flat);
          if (src && edited.has(keyOf(src.name, src.index))) cls += " edited";
        }
      }
      return td(span(`data-w="${name}" data-i="${flat}"`, v, cls), u);
    };
    const matrixRows = (name, rowName, rows) => {
      const a = arr(name);
      let out = "";
      for (let k = 0; k < rows; k++) {
        let cells = "";
        for (const g of order) for (let u = 0; u < H; u++) {
          const col = colOf(g, u);
          cells += wcell(name, k * G * H + col, a[k * G * H + col], u, true);
        }
        out += row(`${rowName}[${k + 1}]`, cells, "");
      }
      return out;
    };
    let body = matrixRows("kernel", "x", c.features) + matrixRows("recurrent", "h", c.output_size);
    const vectorRow = (name, label, edit, only) => {
      const a = arr(name);
      if (!a) return "";
      let cells = "";
      for (const g of order) for (let u = 0; u < H; u++) {
        const col = colOf(g, u);
        cells += only && !only(g) ? td("", u, "empty") : wcell(name, col, a[col], u, edit);
      }
      return row(label, cells, "sum");
    };
    body += vectorRow("bias", n.bias_label, true);
    body += vectorRow("recurrent_bias", n.recurrent_bias_label, true);
    const runtime = arr("runtime_bias");
    const touched = (g) => Array.from({ length: H }, (_, u) => runtime[colOf(g, u)]).some((v) => v !== 0);
    if (runtime) body += vectorRow("runtime_bias", n.runtime_bias_label, false, touched); // TF1's forget_bias: f only
    const peep = arr("peepholes");
    if (peep) {
      const rowOf = { i: 0, f: 1, o: 2 };
      let cells = "";
      for (const g of order) for (let u = 0; u < H; u++) {
        cells += g in rowOf ? wcell("peepholes", rowOf[g] * H + u, peep[rowOf[g] * H + u], u, true) : td("", u, "empty");
      }
      body += row("w_diag", cells, "sum");
    }
    const where = runs().length > 1 ? `layer ${S.layer} ${run().direction} · ` : "";
    let html = `<p class="note">${esc(`${where}x rows from ${n.kernel}, h rows from ${n.recurrent}; columns in ${DATA.framework}'s block order. ${DATA.no_edit ? "Editing is off: " + DATA.no_edit + "." : "Click a weight (or focus it and press Enter) to change it."}`)}</p>`;
    html += table(`<thead>${blockHeads(order)}</thead><tbody>${body}</tbody>`, "the weights, one row per input feature and per state unit");
    const proj = arr("projection");
    if (proj) {
      const P = c.output_size;
      let rows = "";
      for (let k = 0; k < H; k++) {
        let cells = "";
        for (let u = 0; u < P; u++) cells += wcell("projection", k * P + u, proj[k * P + u], -1, true);
        rows += row(`m[${k + 1}]`, cells, "");
      }
      let head = "";
      for (let u = 0; u < P; u++) head += `<th scope="col">h ${u + 1}</th>`;
      html += `<p class="note">${esc(`${n.projection} (${H}, ${P}) projects m = o ⊙ act(c) to h.`)}</p>`;
      html += table(`<thead><tr><th class="rowh"></th>${head}</tr></thead><tbody>${rows}</tbody>`, "the projection");
    }
    el.innerHTML = html;
  }

  /** What the framework returns, in its own names and shapes (long arrays elided like numpy). */
  function viewReturns(el) {
    let html = "";
    if (DATA.returns_note) html += `<p class="note">${esc(DATA.returns_note)}</p>`;
    html += `<p class="shapes">[${DATA.returns.map(([label, key]) => `${esc(label)} (${ctx.result.outputs[key].shape.join(", ")})`).join(", ")}]</p>`;
    for (const [label, key] of DATA.returns) {
      const out = ctx.result.outputs[key];
      const edge = out.values.length > 1000 ? 3 : Infinity;
      const cell = (flat) => span(`data-o="${esc(key)}" data-i="${flat}"`, out.values[flat], "o");
      html += `<div class="ret"><span class="vname">${esc(label)}</span> = <span class="arr" data-grid>${ctx.nested(out.shape, cell, edge)}</span></div>`;
    }
    el.innerHTML = html;
  }

  return { step: viewStep, given: viewGiven, update: viewUpdate, weights: viewWeights, returns: viewReturns };
}
