/* The interactive page: what one step shows, the arithmetic behind each number, and edits.
 *
 * Every number comes from LstmEngine (engine.js), which runs the layer from the
 * weights, the inputs and the layer's operations carried in the page's data; this
 * script only lays numbers out and says how each was made, reading the engine's
 * record (quantity, term, clipped) and never recomputing what the engine has.
 * Only the shown step is rendered. The state lives in `S` and in the address
 * (#t=3&b=1&u=2&l=1&d=1&e=kernel[0,3]=0.5;inputs[0,1,0]=2), so a link restores it.
 * The page's views are keyed by pass (`forward`), so another pass can be added
 * beside it with its own sections.
 */
(function () {
  "use strict";

  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const DATA = JSON.parse($("#lstm-trace-data").textContent);
  const F32 = DATA.dtype === "float32";
  const TERM_KEYS = ["xW", "hU", "b", "b_rec", "forget_bias", "peephole", "reset"];
  const TITLES = { i: "input", f: "forget", g: "candidate", o: "output", z: "update", r: "reset", n: "candidate", h: "state" };
  const BOUNDED = ["sigmoid", "hard_sigmoid", "sparse_sigmoid"];
  const CANDIDATES = ["g", "n", "h"];
  const SUBS = "₀₁₂₃₄₅₆₇₈₉";

  let model = null;
  let result = null;
  const S = { pass: "forward", step: 1, batch: 1, unit: 1, layer: 1, direction: 1, digits: 4, theme: "auto", edits: [] };
  const originals = new Map(); // "name|i,j" → the scenario's own value, for undoing an edit

  // ---- numbers as text ------------------------------------------------------------------------
  function sub(n) {
    return String(n).replace(/[0-9]/g, (d) => SUBS[+d]).replace("-", "₋");
  }

  /** The fewest digits that read back to the same value in the scenario's dtype (data-v, the address). */
  function shortest(v) {
    if (Number.isNaN(v)) return "nan";
    if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
    if (F32 && Math.fround(v) === v) {
      // the fewest significant digits (1 to 9) that read back: reading back only gets truer with more digits
      let lo = 1;
      let hi = 9;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (Math.fround(Number(v.toPrecision(mid))) === v) hi = mid;
        else lo = mid + 1;
      }
      return String(Number(v.toPrecision(lo)));
    }
    return String(v);
  }

  /** As the terminal prints: integers exactly, others with 4 digits after the point (or the shortest). */
  function num(v) {
    if (Number.isNaN(v)) return "nan";
    if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
    if (Number.isInteger(v) && Math.abs(v) < 1e16) return v === 0 ? "0" : String(v);
    if (S.digits === "auto") return shortest(v);
    const p = S.digits;
    const a = Math.abs(v);
    if (a >= Math.pow(10, -p) && a < 1e7) return v.toFixed(p);
    return v.toExponential(p).replace(/e([+-])(\d)$/, "e$10$2");
  }

  const factor = (v) => (num(v).startsWith("-") ? `(${num(v)})` : num(v));

  function signedSum(values) {
    let out = num(values[0]);
    for (const v of values.slice(1)) {
      const t = num(v);
      out += t.startsWith("-") ? ` − ${t.slice(1)}` : ` + ${t}`;
    }
    return out;
  }

  function esc(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  function idx(index) {
    return `[${index.join(", ")}]`;
  }

  // ---- where we are -----------------------------------------------------------------------------
  const runs = () => result.runs.flatMap((layer) => layer);
  const run = () => result.runs[S.layer - 1][S.direction - 1];
  const spec = () => model.layers[S.layer - 1][S.direction - 1];
  const arr = (name) => {
    const a = spec().arrays[name];
    return a && !ArrayBuffer.isView(a) && a.values ? a.values : a;
  };
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

  // ---- number elements --------------------------------------------------------------------------
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

  // ---- the sources of scenario numbers (editing) ---------------------------------------------
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
    if (DATA.no_edit) return null;
    const t = target(el);
    return t ? LstmEngine.sourceOf(model, t.ident, t.flat) : null;
  }

  function editedKeys() {
    return new Set(S.edits.map((e) => keyOf(e.name, e.index)));
  }

  // ---- views ------------------------------------------------------------------------------------
  function unitHeader(units, width, label) {
    let cells = "";
    for (let u = 0; u < units; u++) {
      const on = u + 1 === S.unit;
      cells += `<th scope="col" class="u${on ? " fu" : ""}"><button type="button" class="unit" data-unit="${u + 1}" aria-pressed="${on}" aria-label="unit ${u + 1}">${u + 1}</button></th>`;
    }
    return label === undefined ? cells : `<th scope="col" class="rowh">${esc(label)}</th>` + cells.repeat(width);
  }

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

  function row(label, cells, cls) {
    return `<tr class="${cls || ""}"><th scope="row" class="rowh">${esc(label)}</th>${cells}</tr>`;
  }

  function td(content, u, cls) {
    const focus = u === S.unit - 1 ? " fu" : "";
    return `<td class="${(cls || "") + focus}">${content}</td>`;
  }

  function table(content, caption, wide) {
    return `<div class="scroll${wide ? " wide" : ""}" tabindex="-1"><table class="grid" data-grid><caption class="sr">${esc(caption)}</caption>${content}</table></div>`;
  }

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

  function xName(s) {
    return `x${sub(run().reads[s] + 1)}`;
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
    let html = table(`<thead>${blockHeads(order)}</thead><tbody>${body}</tbody>`, `step ${t}: each gate block's terms, sum and activation, per unit`, true);
    html += stepNotes(s, b);
    el.innerHTML = html;
  }

  function cellsOf(order, H, fn) {
    let cells = "";
    for (const g of order) for (let u = 0; u < H; u++) cells += td(fn(g, u), u);
    return cells;
  }

  function actLabel(g) {
    if (op(g, "one_minus")) return "1 − i";
    const act = op(g, "act");
    return act && act.activation ? act.activation.label : "";
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

  function readsNote(s) {
    const r = run();
    const read = r.reads[s] + 1;
    let note = `step ${s + 1} reads input time ${read}`;
    if (S.layer > 1) note += ", the output of the layer below";
    if (r.direction === "reverse") note += " (the reverse direction reads the sequence from its end)";
    return note + ".";
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
          const src = LstmEngine.sourceOf(model, ident(name), flat);
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
    if (runtime) body += vectorRow("runtime_bias", n.runtime_bias_label, false, (g) => order.length && Array.from({ length: H }, (_, u) => runtime[colOf(g, u)]).some((v) => v !== 0));
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
    html += table(`<thead>${blockHeads(order)}</thead><tbody>${body}</tbody>`, "the weights, one row per input feature and per state unit", true);
    const proj = arr("projection");
    if (proj) {
      const P = c.output_size;
      let rows = "";
      for (let k = 0; k < H; k++) {
        let cells = "";
        for (let u = 0; u < P; u++) cells += `<td>${span(`data-w="projection" data-i="${k * P + u}"`, proj[k * P + u], DATA.no_edit ? "w" : "w ed")}</td>`;
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
    html += `<p class="shapes">[${DATA.returns.map(([label, key]) => `${esc(label)} (${result.outputs[key].shape.join(", ")})`).join(", ")}]</p>`;
    for (const [label, key] of DATA.returns) {
      const out = result.outputs[key];
      const edge = out.values.length > 1000 ? 3 : Infinity;
      html += `<div class="ret"><span class="vname">${esc(label)}</span> = <span class="arr" data-grid>${nested(out, key, 0, 0, edge)}</span></div>`;
    }
    el.innerHTML = html;
  }

  function nested(out, key, axis, offset, edge) {
    const shape = out.shape;
    if (axis === shape.length) return span(`data-o="${esc(key)}" data-i="${offset}"`, out.values[offset], "o");
    const n = shape[axis];
    const stride = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const picks = n <= 2 * edge + 1 ? [...Array(n).keys()] : [0, 1, 2, null, n - 3, n - 2, n - 1];
    const parts = picks.map((k) => (k === null ? "…" : nested(out, key, axis + 1, offset + k * stride, edge)));
    return `[${parts.join(axis === shape.length - 1 ? " " : axis === shape.length - 2 ? ",<br>" : ",<br><br>")}]`;
  }

  // ---- the diagram ------------------------------------------------------------------------------
  function svgNum(q, x, y, v, anchor) {
    const b = S.batch - 1;
    const u = S.unit - 1;
    const mark = spec().gates.includes(q) ? gateMark(q, v) : "";
    const text = num(v) + (mark === "shut" ? " ○" : mark === "open" ? " ●" : "");
    return `<text class="n${mark ? " gate-" + mark : ""}" tabindex="-1" x="${x}" y="${y}" text-anchor="${anchor || "middle"}" ${cellAttrs(q, b, u)} data-v="${shortest(v)}">${esc(text)}</text>`;
  }

  function svgLabel(text, x, y, anchor, cls) {
    return `<text class="${cls || "lbl"}" x="${x}" y="${y}" text-anchor="${anchor || "middle"}">${esc(text)}</text>`;
  }

  function gateBox(g, x, y) {
    const s = S.step - 1;
    const b = S.batch - 1;
    const u = S.unit - 1;
    const label = `${actLabel(g)} ${g}`;
    return (
      `<rect class="box" x="${x - 42}" y="${y - 24}" width="84" height="48" rx="6"/>` +
      svgLabel(label, x, y - 7) +
      svgNum(g, x, y + 15, quantity(g, s, b, u)) +
      svgLabel(spec().kind === "gru" ? "pre" : "z", x - 30, y + 44, "start", "small") +
      svgNum(`pre_${g}`, x + 6, y + 44, quantity(`pre_${g}`, s, b, u), "start")
    );
  }

  const node = (x, y, sym) => `<circle class="node" cx="${x}" cy="${y}" r="11"/>` + svgLabel(sym, x, y + 5, "middle", "sym");
  const arrow = (pts) => `<polyline class="wire" points="${pts.map((p) => p.join(",")).join(" ")}" marker-end="url(#arrow)"/>`;

  function viewDiagram(el) {
    const c = spec();
    const s = S.step - 1;
    const b = S.batch - 1;
    const u = S.unit - 1;
    const t = S.step;
    const k = S.unit;
    if (!active(s, b)) {
      el.innerHTML = `<p class="note skipped">${esc(skipReason(s, b))}</p>`;
      return;
    }
    let g = "";
    const busY = 278;
    g += svgLabel(`${xName(s)}, h${sub(t - 1)} (every unit) → x·W + h·U + b`, 20, busY + 20, "start", "small");
    if (c.kind === "lstm") {
      const proj = update("projection");
      g += arrow([[20, 50], [108, 50]]) + node(120, 50, "×") + arrow([[131, 50], [278, 50]]) + node(290, 50, "+") + arrow([[301, 50], [560, 50]]);
      g += svgLabel(`c${sub(t - 1)}[${k}]`, 20, 40, "start") + svgNum("c_prev", 20, 72, quantity("c_prev", s, b, u), "start");
      g += svgLabel(`c${sub(t)}[${k}]`, 560, 40, "end") + svgNum("c", 560, 72, quantity("c", s, b, u), "end");
      g += arrow([[20, busY], [440, busY]]);
      const gates = { f: 120, i: 215, g: 310, o: 405 };
      for (const [gate, x] of Object.entries(gates)) g += arrow([[x, busY], [x, 232]]) + gateBox(gate, x, 208);
      g += arrow([[120, 184], [120, 61]]);
      g += arrow([[215, 184], [215, 120], [251, 120]]) + arrow([[310, 184], [310, 120], [274, 120]]) + node(262, 120, "×") + arrow([[262, 109], [262, 80], [290, 80], [290, 61]]);
      const act = update("act_c").activation;
      g += arrow([[490, 50], [490, 96]]) + `<rect class="box" x="452" y="96" width="76" height="40" rx="6"/>` + svgLabel(act.label, 490, 112) + svgNum("act_c", 490, 129, at(run().c_act, s, b, c.units, u));
      g += arrow([[490, 136], [490, 197]]) + arrow([[452, 208], [479, 208]]) + node(490, 208, "×");
      const outQ = proj ? "m" : "h";
      const outV = proj ? at(run().m, s, b, c.units, u) : quantity("h", s, b, u);
      g += arrow([[501, 208], [560, 208]]) + svgLabel(`${outQ}${sub(t)}[${k}]`, 560, 198, "end") + `<text class="n" tabindex="-1" x="560" y="230" text-anchor="end" ${cellAttrs(outQ, b, u)} data-v="${shortest(outV)}">${esc(num(outV))}</text>`;
    } else if (c.kind === "gru") {
      const swapped = c.rules.update_swapped;
      g += arrow([[20, 50], [118, 50]]) + node(130, 50, "×") + arrow([[141, 50], [378, 50]]) + node(390, 50, "+") + arrow([[401, 50], [560, 50]]);
      g += svgLabel(`h${sub(t - 1)}[${k}]`, 20, 40, "start") + svgNum("h_prev", 20, 72, quantity("h_prev", s, b, u), "start");
      g += svgLabel(`h${sub(t)}[${k}]`, 560, 40, "end") + svgNum("h", 560, 72, quantity("h", s, b, u), "end");
      g += arrow([[20, busY], [440, busY]]);
      const gates = { z: 130, r: 260, n: 390 };
      for (const [gate, x] of Object.entries(gates)) g += arrow([[x, busY], [x, 232]]) + gateBox(gate, x, 208);
      g += arrow([[302, 208], [346, 208]]) + svgLabel("r resets h·U", 324, 176, "middle", "small");
      if (swapped) {
        g += arrow([[130, 184], [130, 106]]) + node(130, 95, "1−") + arrow([[130, 84], [130, 61]]);
        g += arrow([[130, 140], [379, 140], [379, 131]]);
      } else {
        g += arrow([[130, 184], [130, 61]]) + arrow([[130, 120], [239, 120]]) + node(250, 120, "1−") + arrow([[261, 120], [379, 120]]);
      }
      g += node(390, 120, "×") + arrow([[390, 184], [390, 131]]) + arrow([[390, 109], [390, 61]]);
      g += svgLabel(swapped ? "h = (1 − z)·h_prev + z·n" : "h = z·h_prev + (1 − z)·n", 480, 100, "middle", "small");
    } else {
      g += arrow([[20, busY], [300, busY], [300, 232]]) + gateBox("h", 300, 208) + arrow([[300, 184], [300, 50], [560, 50]]);
      g += svgLabel(`h${sub(t - 1)}[${k}]`, 20, 40, "start") + svgNum("h_prev", 20, 72, quantity("h_prev", s, b, u), "start");
      g += svgLabel(`h${sub(t)}[${k}]`, 560, 40, "end") + svgNum("h", 560, 72, quantity("h", s, b, u), "end");
    }
    const notes = [];
    if (c.arrays.peepholes) notes.push("peepholes: i and f also add w ⊙ c_prev, o adds w ⊙ c (the new c).");
    if (update("cell_clip")) notes.push(`c is clipped to ±${num(update("cell_clip").bound)}.`);
    if (update("projection")) notes.push(`h = m·${c.names.projection} mixes every unit's m.`);
    if (c.gates.some((x) => op(x, "clip"))) notes.push(`every sum is clipped to ±${num(c.gates.map((x) => op(x, "clip")).find(Boolean).bound)} before its activation.`);
    const title = `${c.kind.toUpperCase()} cell, unit ${k}, step ${t}, batch row ${S.batch}`;
    el.innerHTML =
      `<svg class="diagram" viewBox="0 0 580 310" role="group" aria-label="${esc(title)}" data-grid>` +
      `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>` +
      g +
      "</svg>" +
      notes.map((n) => `<p class="note">${esc(n)}</p>`).join("");
  }

  // ---- the arithmetic behind a number ---------------------------------------------------------
  const sel = (q, b, u) => `.n[data-q="${q}"][data-b="${b + 1}"][data-u="${u + 1}"]`;
  const wsel = (name, flat) => `.n[data-w="${name}"][data-i="${flat}"]`;
  const nm = (name, t, k) => `${name}${sub(t)}[${k}]`;

  /** A sum of products with its numbers, eliding the middle of a long one. */
  function products(pairs) {
    const shown = pairs.length > 16 ? [...pairs.slice(0, 8), null, ...pairs.slice(-4)] : pairs;
    return shown.map((p) => (p === null ? "…" : `${num(p[0])}·${factor(p[1])}`)).join(" + ");
  }

  function symbolic(pairs, fn) {
    return pairs.length <= 6 ? pairs.map((_, j) => fn(j)).join(" + ") : `Σⱼ ${fn("j")}`;
  }

  function explainTerm(key, g, s, b, u) {
    const r = run();
    const c = spec();
    const t = s + 1;
    const k = u + 1;
    const col = colOf(g, u);
    const GH = c.gates.length * c.units;
    const v = r.term(g, key, s, b, u);
    const x = xName(s);
    if (key === "xW") {
      const W = arr("kernel");
      const pairs = Array.from({ length: r.F }, (_, f) => [quantity("x", s, b, f), W[f * GH + col]]);
      const src = [...pairs.keys()].flatMap((f) => [sel("x", b, f), wsel("kernel", f * GH + col)]);
      const sym = symbolic(pairs, (j) => `${x}[${typeof j === "number" ? j + 1 : j}]·W${blk(g)}[${typeof j === "number" ? j + 1 : j},${k}]`);
      return { lines: [`${x}·W${blk(g)}[:,${k}] = ${sym} = ${products(pairs)} = ${num(v)}`], src };
    }
    if (key === "hU") {
      const U = arr("recurrent");
      const resetFirst = c.kind === "gru" && g === "n";
      const left = (j) => (resetFirst ? at(r.gated, s, b, c.units, j) : quantity("h_prev", s, b, j));
      const pairs = Array.from({ length: r.Hout }, (_, j) => [left(j), U[j * GH + col]]);
      const hname = resetFirst ? `(r${sub(t)}⊙h${sub(t - 1)})` : `h${sub(t - 1)}`;
      const src = [...pairs.keys()].flatMap((j) => [sel("h_prev", b, j), wsel("recurrent", j * GH + col)]);
      if (resetFirst) src.push(...[...pairs.keys()].map((j) => sel("r", b, j)));
      const sym = symbolic(pairs, (j) => `${hname}[${typeof j === "number" ? j + 1 : j}]·U${blk(g)}[${typeof j === "number" ? j + 1 : j},${k}]`);
      return { lines: [`${hname}·U${blk(g)}[:,${k}] = ${sym} = ${products(pairs)} = ${num(v)}`], src };
    }
    if (key === "b" || key === "b_rec") {
      const name = key === "b" ? "bias" : "recurrent_bias";
      const label = key === "b" ? c.names.bias_label : c.names.recurrent_bias_label;
      const from = LstmEngine.sourceOf(model, ident(name), col);
      return { lines: [`${label}${blk(g)}[${k}] = ${num(v)}`, from ? `${from.name}${idx(from.index)} in the scenario` : ""], src: [wsel(name, col)] };
    }
    if (key === "forget_bias") {
      return { lines: [`${c.names.runtime_bias_label} = ${num(v)}`, "added when the layer runs (a config option, not a weight)"], src: [wsel("runtime_bias", col)] };
    }
    if (key === "peephole") {
      const w = arr("peepholes")[{ i: 0, f: 1, o: 2 }[g] * c.units + u];
      const cq = g === "o" ? "c" : "c_prev";
      const cv = quantity(cq, s, b, u);
      return {
        lines: [`w_${g}[${k}]·${nm("c", g === "o" ? t : t - 1, k)} = ${num(w)}·${factor(cv)} = ${num(v)}`],
        src: [wsel("peepholes", { i: 0, f: 1, o: 2 }[g] * c.units + u), sel(cq, b, u)],
      };
    }
    // reset: r ⊙ (h·U_n + b_rec_n), the GRU's candidate with reset_after
    const rv = quantity("r", s, b, u);
    const hu = at(r.hu, s, b, GH, col);
    const rb = arr("recurrent_bias");
    const label = c.names.recurrent_bias_label;
    const inner = rb ? `h${sub(t - 1)}·U${blk(g)}[:,${k}] + ${label}${blk(g)}[${k}]` : `h${sub(t - 1)}·U${blk(g)}[:,${k}]`;
    const innerNum = rb ? signedSum([hu, rb[col]]) : num(hu);
    const src = [sel("r", b, u), ...Array.from({ length: r.Hout }, (_, j) => [sel("h_prev", b, j), wsel("recurrent", j * GH + col)]).flat()];
    if (rb) src.push(wsel("recurrent_bias", col));
    return { lines: [`${nm("r", t, k)}·(${inner}) = ${num(rv)}·(${innerNum}) = ${num(v)}`], src };
  }

  function termSymbol(key, g, s, k) {
    const c = spec();
    const t = s + 1;
    if (key === "xW") return `${xName(s)}·W${blk(g)}[:,${k}]`;
    if (key === "hU") return c.kind === "gru" && g === "n" ? `(r${sub(t)}⊙h${sub(t - 1)})·U${blk(g)}[:,${k}]` : `h${sub(t - 1)}·U${blk(g)}[:,${k}]`;
    if (key === "b") return `${c.names.bias_label}${blk(g)}[${k}]`;
    if (key === "b_rec") return `${c.names.recurrent_bias_label}${blk(g)}[${k}]`;
    if (key === "forget_bias") return c.names.runtime_bias_label;
    if (key === "peephole") return `w_${g}[${k}]·${nm("c", g === "o" ? t : t - 1, k)}`;
    return `${nm("r", t, k)}·(h${sub(t - 1)}·U${blk(g)}[:,${k}] + ${c.names.recurrent_bias_label}${blk(g)}[${k}])`;
  }

  function explainPre(g, s, b, u) {
    const r = run();
    const k = u + 1;
    const keys = block(g).terms;
    const lhs = `${preName(g)}${sub(s + 1)}[${k}]`;
    const total = quantity(`pre_${g}`, s, b, u);
    if (!keys.length) return { lines: [`${lhs} = ${num(total)}`], src: [] };
    const values = keys.map((key) => r.term(g, key, s, b, u));
    return {
      lines: [`${lhs} = ${keys.map((key) => termSymbol(key, g, s, k)).join(" + ")} = ${signedSum(values)} = ${num(total)}`],
      src: keys.map((key) => sel(`${key}_${g}`, b, u)),
    };
  }

  function explainGate(g, s, b, u) {
    const r = run();
    const t = s + 1;
    const k = u + 1;
    const v = quantity(g, s, b, u);
    const lhs = nm(g, t, k);
    const lines = [];
    let src;
    if (op(g, "one_minus")) {
      const i = quantity("i", s, b, u);
      lines.push(`${lhs} = 1 − ${nm("i", t, k)} = 1 − ${num(i)} = ${num(v)}`);
      src = [sel("i", b, u)];
    } else {
      const act = op(g, "act").activation;
      const clip = op(g, "clip");
      const pre = `${preName(g)}${sub(t)}[${k}]`;
      const given = clip ? r.clipped(g, s, b, u) : quantity(`pre_${g}`, s, b, u);
      const inner = clip ? `clip(${pre}, ±${num(clip.bound)})` : pre;
      if (act.name === "linear") lines.push(`${lhs} = ${inner} = ${num(given)}`);
      else lines.push(`${lhs} = ${act.label}(${inner}) = ${act.label}(${num(given)}) = ${num(v)}`);
      if (clip) lines.push(`clip(${num(quantity(`pre_${g}`, s, b, u))}, ±${num(clip.bound)}) = ${num(given)}`);
      lines.push(act.name === "linear" ? "linear: a(x) = x" : `${act.label}(x) = ${act.formula}`);
      src = [sel(clip ? `clip_${g}` : `pre_${g}`, b, u)];
    }
    const mark = gateMark(g, v);
    if (mark) lines.push(mark === "shut" ? "all but shut (≤ 0.05): ○" : "wide open (≥ 0.95): ●");
    return { lines, src };
  }

  function explainCell(s, b, u, rawOnly) {
    const c = spec();
    const t = s + 1;
    const k = u + 1;
    const rules = c.rules;
    const [f, i, g, cp] = ["f", "i", "g", "c_prev"].map((q) => quantity(q, s, b, u));
    const sym = [];
    const nums = [];
    const src = [sel("g", b, u)];
    if (rules.forget_term) {
      sym.push(`${nm("f", t, k)}·${nm("c", t - 1, k)}`);
      nums.push(`${num(f)}·${factor(cp)}`);
      src.push(sel("f", b, u), sel("c_prev", b, u));
    }
    if (rules.input_gate) {
      sym.push(`${nm("i", t, k)}·${nm("g", t, k)}`);
      nums.push(`${num(i)}·${factor(g)}`);
      src.push(sel("i", b, u));
    } else {
      sym.push(nm("g", t, k));
      nums.push(factor(g));
    }
    const clip = update("cell_clip");
    const value = quantity("c", s, b, u);
    if (rawOnly) return { lines: [`${sym.join(" + ")} = ${nums.join(" + ")} = ${num(at(run().c_unclipped, s, b, c.units, u))}`], src };
    if (!clip) return { lines: [`${nm("c", t, k)} = ${sym.join(" + ")} = ${nums.join(" + ")} = ${num(value)}`], src };
    const raw = at(run().c_unclipped, s, b, c.units, u);
    return {
      lines: [`${nm("c", t, k)} = clip(${sym.join(" + ")}, ±${num(clip.bound)}) = clip(${num(raw)}, ±${num(clip.bound)}) = ${num(value)}`],
      src: [sel("c_raw", b, u)],
    };
  }

  function explainActC(s, b, u) {
    const c = spec();
    const t = s + 1;
    const k = u + 1;
    const act = update("act_c").activation;
    const cq = c.rules.new_cell_state ? "c" : "c_prev";
    const cName = nm("c", c.rules.new_cell_state ? t : t - 1, k);
    const v = at(run().c_act, s, b, c.units, u);
    return { lines: [`${act.label}(${cName}) = ${act.label}(${num(quantity(cq, s, b, u))}) = ${num(v)}`], src: [sel(cq, b, u)] };
  }

  function explainOutput(s, b, u, name) {
    const c = spec();
    const t = s + 1;
    const k = u + 1;
    const act = update("act_c").activation;
    const cName = nm("c", c.rules.new_cell_state ? t : t - 1, k);
    const cv = quantity(c.rules.new_cell_state ? "c" : "c_prev", s, b, u);
    const ca = at(run().c_act, s, b, c.units, u);
    const out = name === "m" ? at(run().m, s, b, c.units, u) : quantity("h", s, b, u);
    const linear = act.name === "linear";
    const inner = linear ? cName : `${act.label}(${cName})`;
    const src = [sel("act_c", b, u), sel(c.rules.new_cell_state ? "c" : "c_prev", b, u)];
    if (!c.rules.output_gate) {
      return { lines: [[nm(name, t, k), inner, ...(linear ? [num(cv)] : [`${act.label}(${num(cv)})`, num(ca)]), num(out)].join(" = ")], src };
    }
    const o = num(quantity("o", s, b, u));
    src.push(sel("o", b, u));
    const nums = linear ? [`${o}·${factor(cv)}`] : [`${o}·${act.label}(${num(cv)})`, `${o}·${factor(ca)}`];
    return { lines: [[nm(name, t, k), `${nm("o", t, k)}·${inner}`, ...nums, num(out)].join(" = ")], src };
  }

  function explainProjection(s, b, u) {
    const c = spec();
    const r = run();
    const t = s + 1;
    const k = u + 1;
    const P = arr("projection");
    const Hout = r.Hout;
    const pairs = Array.from({ length: c.units }, (_, j) => [at(r.m, s, b, c.units, j), P[j * Hout + u]]);
    const clip = update("proj_clip");
    let formula = `m${sub(t)}·${c.names.projection}[:,${k}]`;
    if (clip) formula = `clip(${formula}, ±${num(clip.bound)})`;
    const src = [...pairs.keys()].flatMap((j) => [sel("m", b, j), wsel("projection", j * Hout + u)]);
    return { lines: [`${nm("h", t, k)} = ${formula} = ${clip ? "clip(" : ""}${products(pairs)}${clip ? `, ±${num(clip.bound)})` : ""} = ${num(quantity("h", s, b, u))}`], src };
  }

  function explainState(q, s, b, u) {
    const c = spec();
    const t = s + 1;
    const k = u + 1;
    if (!active(s, b)) {
      const prev = q === "c" ? "c_prev" : "h_prev";
      return { lines: [`${nm(q, t, k)} = ${nm(q, t - 1, k)} = ${num(quantity(q, s, b, u))}`, skipReason(s, b)], src: [sel(prev, b, u)] };
    }
    if (q === "c") return explainCell(s, b, u, false);
    if (c.kind === "rnn") return explainGate("h", s, b, u);
    if (c.kind === "gru") {
      const [z, hp, n, h] = ["z", "h_prev", "n", "h"].map((x) => quantity(x, s, b, u));
      const zs = nm("z", t, k);
      const hs = nm("h", t - 1, k);
      const ns = nm("n", t, k);
      const src = [sel("z", b, u), sel("h_prev", b, u), sel("n", b, u)];
      if (c.rules.update_swapped) {
        return { lines: [`${nm("h", t, k)} = (1 − ${zs})·${hs} + ${zs}·${ns} = (1 − ${num(z)})·${factor(hp)} + ${num(z)}·${factor(n)} = ${num(h)}`], src };
      }
      return { lines: [`${nm("h", t, k)} = ${zs}·${hs} + (1 − ${zs})·${ns} = ${num(z)}·${factor(hp)} + (1 − ${num(z)})·${factor(n)} = ${num(h)}`], src };
    }
    if (update("projection")) return explainProjection(s, b, u);
    return explainOutput(s, b, u, "h");
  }

  function explainGiven(q, s, b, u) {
    const t = s + 1;
    const k = u + 1;
    const v = quantity(q, s, b, u);
    const lines = [];
    if (q === "x") {
      lines.push(`${xName(s)}[${k}] = ${num(v)}`);
      if (S.layer > 1) lines.push(`the layer below's output at input time ${run().reads[s] + 1}`);
    } else {
      const name = q === "h_prev" ? "h" : "c";
      lines.push(`${nm(name, t - 1, k)} = ${num(v)}`);
      lines.push(s === 0 ? "the initial state" : `the state step ${t - 1} left`);
    }
    const from = sourceOf({ dataset: { q, b: String(b + 1), u: String(u + 1) } });
    if (from) lines.push(`${from.name}${idx(from.index)} in the scenario: click or press Enter to change it`);
    return { lines, src: [] };
  }

  function explainStep(d) {
    const q = d.q;
    const s = S.step - 1;
    const b = +d.b - 1;
    const u = +d.u - 1;
    const c = spec();
    if (q === "x" || q === "h_prev" || q === "c_prev") return explainGiven(q, s, b, u);
    if (q.startsWith("pre_")) return explainPre(q.slice(4), s, b, u);
    if (q.startsWith("clip_")) {
      const g = q.slice(5);
      const bound = op(g, "clip").bound;
      return { lines: [`clip(${preName(g)}${sub(s + 1)}[${u + 1}], ±${num(bound)}) = clip(${num(quantity(`pre_${g}`, s, b, u))}, ±${num(bound)}) = ${num(run().clipped(g, s, b, u))}`], src: [sel(`pre_${g}`, b, u)] };
    }
    if (q === "c_raw") return explainCell(s, b, u, true);
    if (q === "act_c") return explainActC(s, b, u);
    if (q === "m") return explainOutput(s, b, u, "m");
    if (q === "c" || q === "h") return explainState(q, s, b, u);
    if (c.gates.includes(q)) return explainGate(q, s, b, u);
    const cut = q.lastIndexOf("_");
    return explainTerm(q.slice(0, cut), q.slice(cut + 1), s, b, u);
  }

  function explainWeight(d) {
    const c = spec();
    const flat = +d.i;
    const v = Number(d.v);
    const from = LstmEngine.sourceOf(model, ident(d.w), flat);
    const where = from ? `${from.name}${idx(from.index)} in the scenario` : "";
    const H = c.units;
    const G = c.gates.length;
    const b = S.batch - 1;
    if (d.w === "projection") {
      const P = c.output_size;
      const j = Math.floor(flat / P);
      const k = flat % P;
      return { lines: [`${c.names.projection}[${j + 1},${k + 1}] = ${num(v)}`, `multiplies m[${j + 1}] into h[${k + 1}]`, where], src: [sel("h", b, k)] };
    }
    if (d.w === "peepholes") {
      const g = ["i", "f", "o"][Math.floor(flat / H)];
      const u = flat % H;
      return { lines: [`w_${g}[${u + 1}] = ${num(v)}`, `the peephole of ${g} unit ${u + 1}`, where], src: [sel(`peephole_${g}`, b, u)] };
    }
    const col = d.w === "kernel" || d.w === "recurrent" ? flat % (G * H) : flat;
    const g = c.gates[Math.floor(col / H)];
    const u = col % H;
    if (d.w === "kernel" || d.w === "recurrent") {
      const rowK = Math.floor(flat / (G * H)) + 1;
      const m = d.w === "kernel" ? "W" : "U";
      const what = d.w === "kernel" ? `x[${rowK}]` : `h[${rowK}]`;
      const key = d.w === "kernel" ? "xW" : c.kind === "gru" && g === "n" && block("n").terms.includes("reset") ? "reset" : "hU";
      return { lines: [`${m}${blk(g)}[${rowK},${u + 1}] = ${num(v)}`, `multiplies ${what} into unit ${u + 1} of ${g} (${TITLES[g]})`, where], src: [sel(`${key}_${g}`, b, u)] };
    }
    const key = { bias: "b", recurrent_bias: block(g).terms.includes("b_rec") ? "b_rec" : "reset", runtime_bias: "forget_bias" }[d.w];
    const label = { bias: c.names.bias_label, recurrent_bias: c.names.recurrent_bias_label, runtime_bias: c.names.runtime_bias_label }[d.w];
    return { lines: [`${label}${blk(g)}[${u + 1}] = ${num(v)}`, `added to unit ${u + 1} of ${g} (${TITLES[g]})`, where], src: [sel(`${key}_${g}`, b, u)] };
  }

  /** Where each returned number came from: a code into a run's h or c (the engine decoded them). */
  function codesOf(key) {
    return model.outputs[key].codes;
  }

  function explainOutputValue(d) {
    const out = result.outputs[d.o];
    const flat = +d.i;
    const index = [];
    let rest = flat;
    for (let a = out.shape.length - 1; a >= 0; a--) {
      index.unshift(rest % out.shape[a]);
      rest = Math.floor(rest / out.shape[a]);
    }
    const label = (DATA.returns.find((p) => p[1] === d.o) || [d.o])[0];
    const lines = [`${label}${idx(index)} = ${num(out.values[flat])}`];
    const code = codesOf(d.o)[flat];
    if (!code) {
      lines.push("a constant 0: nothing was computed for this row here");
      return { lines, src: [] };
    }
    const found = Object.entries(DATA.outputs.offsets)
      .filter(([, off]) => off <= code)
      .sort((a, b) => b[1] - a[1])[0];
    const [l, dd, which] = found[0].split(".");
    const r = result.runs[+l][+dd];
    const width = which === "h" ? r.Hout : r.H;
    let pos = code - found[1];
    const u = pos % width;
    pos = Math.floor(pos / width);
    const b = pos % r.B;
    const step = Math.floor(pos / r.B);
    const where = runs().length > 1 ? ` of layer ${+l + 1} ${r.direction}` : "";
    lines.push(`${which}${sub(step)}[${u + 1}]${where}, batch row ${b + 1}${step === 0 ? " (the initial state)" : `, step ${step}`}`);
    const here = +l === S.layer - 1 && +dd === S.direction - 1 && step === S.step;
    return { lines, src: here ? [sel(which, b, u)] : [] };
  }

  function explain(el) {
    const d = el.dataset;
    if (d.w) return explainWeight(d);
    if (d.o) return explainOutputValue(d);
    return explainStep(d);
  }

  // ---- the tooltip and the highlight -----------------------------------------------------------
  const tip = $("#tip");
  let tipFor = null;

  function showTip(el) {
    hideTip();
    let what;
    try {
      what = explain(el);
    } catch (err) {
      what = { lines: [String(err && err.message ? err.message : err)], src: [] };
    }
    tip.innerHTML = what.lines.filter(Boolean).map((l, k) => `<div class="${k ? "tip-note" : "tip-eq"}">${esc(l)}</div>`).join("");
    tip.hidden = false;
    el.setAttribute("aria-describedby", "tip");
    el.classList.add("current");
    tipFor = el;
    for (const selector of what.src) for (const s of $$(selector)) if (s !== el) s.classList.add("src");
    place(el);
  }

  function place(el) {
    const box = el.getBoundingClientRect();
    const w = tip.offsetWidth;
    const h = tip.offsetHeight;
    let left = Math.min(Math.max(8, box.left + box.width / 2 - w / 2), window.innerWidth - w - 8);
    let top = box.bottom + 8;
    if (top + h > window.innerHeight - 8 && box.top - h - 8 > 8) top = box.top - h - 8;
    tip.style.left = `${Math.max(8, left)}px`;
    tip.style.top = `${top}px`;
  }

  function hideTip() {
    if (tipFor) {
      tipFor.removeAttribute("aria-describedby");
      tipFor.classList.remove("current");
    }
    tipFor = null;
    tip.hidden = true;
    for (const s of $$(".n.src")) s.classList.remove("src");
  }

  // ---- rendering --------------------------------------------------------------------------------
  const PASSES = {
    forward: {
      label: "forward pass",
      views: [
        { key: "diagram", title: "The cell", render: viewDiagram, cls: "half tall" },
        { key: "given", title: "What the step starts from", render: viewGiven, cls: "half" },
        { key: "update", title: "The state update", render: viewUpdate, cls: "half" },
        { key: "step", title: "The gate blocks", render: viewStep },
        { key: "weights", title: "The weights", render: viewWeights, lazy: true, still: true },
        { key: "returns", title: "What the layer returns", render: viewReturns, still: true },
      ],
    },
  };

  function buildSections() {
    const main = $("#main");
    for (const [pass, def] of Object.entries(PASSES)) {
      const wrap = document.createElement("div");
      wrap.className = "pass";
      wrap.dataset.pass = pass;
      for (const view of def.views) {
        const section = document.createElement("section");
        section.className = `view ${view.cls || ""}`;
        section.id = view.key;
        section.dataset.view = view.key;
        section.setAttribute("aria-labelledby", `${view.key}-h`);
        const big = view.lazy && weightCount() > 6000;
        if (view.lazy) {
          section.innerHTML = `<details${big ? "" : " open"}><summary><h2 id="${view.key}-h">${esc(view.title)}</h2>${big ? ` <span class="hint">(${weightCount()} numbers: open to show and edit them)</span>` : ""}</summary><div class="body"></div></details>`;
          $("details", section).addEventListener("toggle", () => renderView(view, section));
        } else {
          section.innerHTML = `<h2 id="${view.key}-h">${esc(view.title)}</h2><div class="body"></div>`;
        }
        wrap.appendChild(section);
      }
      main.appendChild(wrap);
    }
  }

  function weightCount() {
    const c = spec();
    return (c.features + c.output_size + 2) * c.gates.length * c.units;
  }

  function renderView(view, section) {
    const details = $("details", section);
    if (details && !details.open) return;
    const body = $(".body", section);
    view.render(body);
    for (const grid of $$("[data-grid]", body)) {
      const first = $(".n", grid);
      if (first) first.tabIndex = 0;
    }
  }

  /** Draws what changed: `all` after an edit or a change of run, otherwise only the step's views. */
  function render(all) {
    const focused = document.activeElement && document.activeElement.classList.contains("n") ? identity(document.activeElement) : null;
    hideTip();
    for (const view of PASSES[S.pass].views) {
      if (view.still && !all) continue;
      renderView(view, document.getElementById(view.key));
    }
    syncControls();
    writeHash();
    if (focused) {
      const again = document.querySelector(focused);
      if (again) {
        for (const other of $$('.n[tabindex="0"]', again.closest("[data-grid]"))) other.tabIndex = -1;
        again.tabIndex = 0;
        again.focus();
      }
    }
  }

  function identity(el) {
    const d = el.dataset;
    const sectionId = el.closest("section") ? el.closest("section").id : "";
    const attrs = ["q", "b", "u", "w", "i", "o"].filter((k) => d[k] !== undefined).map((k) => `[data-${k}="${d[k]}"]`).join("");
    return `#${sectionId} .n${attrs}`;
  }

  function syncControls() {
    const T = steps();
    const slider = $("#step-slider");
    slider.max = String(T);
    slider.value = String(S.step);
    slider.setAttribute("aria-valuetext", `step ${S.step} of ${T}`);
    $("#step-out").textContent = `t = ${S.step} of ${T} · reads x${sub(run().reads[S.step - 1] + 1)}`;
    $("#prev").disabled = S.step <= 1;
    $("#next").disabled = S.step >= T;
    $("#batch-select").value = String(S.batch);
    $("#run-select").value = `${S.layer}.${S.direction}`;
    const units = $("#unit-select");
    if (units.options.length !== spec().units) units.innerHTML = options(spec().units, (u) => `unit ${u}`);
    units.value = String(S.unit);
    $("#digits-select").value = String(S.digits);
    $("#edits-group").hidden = !S.edits.length;
    $("#edits-count").textContent = S.edits.length === 1 ? `1 number changed: ${editText(S.edits[0])}` : `${S.edits.length} numbers changed`;
    $("#theme").textContent = { auto: "◐ system", light: "☀ light", dark: "☾ dark" }[S.theme];
    document.documentElement.dataset.theme = S.theme;
  }

  function options(n, label) {
    let html = "";
    for (let k = 1; k <= n; k++) html += `<option value="${k}">${esc(label(k))}</option>`;
    return html;
  }

  // ---- the address ------------------------------------------------------------------------------
  function editText(e) {
    return `${e.name}${idx(e.index)} = ${shortest(e.value)}`;
  }

  function writeHash() {
    const parts = [`t=${S.step}`, `b=${S.batch}`, `u=${S.unit}`, `l=${S.layer}`, `d=${S.direction}`];
    if (S.digits !== 4) parts.push(`p=${S.digits}`);
    if (S.edits.length) parts.push("e=" + S.edits.map((e) => `${encodeURIComponent(e.name)}[${e.index.join(",")}]=${shortest(e.value)}`).join(";"));
    const hash = "#" + parts.join("&");
    if (location.hash === hash) return;
    try {
      history.replaceState(null, "", hash);
    } catch (err) {
      /* a sandboxed frame (a notebook) may refuse: the page works without its address */
    }
  }

  function readHash(hash) {
    const out = {};
    for (const part of hash.replace(/^#/, "").split("&")) {
      const cut = part.indexOf("=");
      if (cut > 0) out[part.slice(0, cut)] = part.slice(cut + 1);
    }
    const edits = [];
    const bad = [];
    if (out.e) {
      for (const item of out.e.split(";")) {
        const m = /^(.*)\[([0-9,]*)\]=(.*)$/.exec(item);
        if (!m) {
          bad.push(item);
          continue;
        }
        let name;
        try {
          name = decodeURIComponent(m[1]);
        } catch (err) {
          bad.push(item);
          continue;
        }
        edits.push({ name, index: m[2] === "" ? [] : m[2].split(",").map(Number), value: parseNumber(decodeURIComponent(m[3])) });
      }
    }
    return { fields: out, edits, bad };
  }

  function restore(hash) {
    const { fields, edits, bad } = readHash(hash || "");
    if (!hash) for (const [k, v] of Object.entries(DATA.start || {})) fields[k] = String(v);
    const problems = bad.map((b) => `“${b}” is not an edit (name[i,j]=value)`);
    const undone = S.edits.length;
    undoAll(false);
    for (const e of edits) {
      try {
        applyEdit(e.name, e.index, e.value);
      } catch (err) {
        problems.push(`${e.name}${idx(e.index)}: ${err.message}`);
      }
    }
    if (undone || edits.length) result = LstmEngine.run(model);
    const int = (v, lo, hi, dflt) => {
      const n = Number(v);
      return Number.isInteger(n) && n >= lo && n <= hi ? n : dflt;
    };
    S.layer = int(fields.l, 1, result.runs.length, 1);
    S.direction = int(fields.d, 1, result.runs[S.layer - 1].length, 1);
    S.step = int(fields.t, 1, steps(), 1);
    S.batch = int(fields.b, 1, run().B, 1);
    S.unit = int(fields.u, 1, spec().units, 1);
    S.digits = fields.p === "auto" ? "auto" : 4;
    if (problems.length) say(`The address asked for edits that could not be made: ${problems.join("; ")}.`);
  }

  // ---- edits ------------------------------------------------------------------------------------
  function parseNumber(text) {
    const t = String(text).trim().toLowerCase();
    if (t === "nan") return NaN;
    if (t === "inf" || t === "+inf" || t === "infinity") return Infinity;
    if (t === "-inf" || t === "-infinity") return -Infinity;
    if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t)) return undefined;
    return Number(t);
  }

  function shapeOf(name) {
    const found = LstmEngine.sources(model).find((s) => s.name === name);
    if (!found) {
      const names = LstmEngine.sources(model).map((s) => s.name).join(", ");
      throw new Error(`no number of the scenario is called ${name} (editable: ${names})`);
    }
    return found.shape;
  }

  /** One number of the scenario changed in the model (no re-run): the engine refuses what it cannot edit. */
  function applyEdit(name, index, value) {
    if (DATA.no_edit) throw new Error(`editing is off: ${DATA.no_edit}`);
    const shape = shapeOf(name);
    const where = typeof index === "number" ? [index] : Array.from(index || []);
    if (where.length !== shape.length || where.some((k, a) => !Number.isInteger(k) || k < 0 || k >= shape[a])) {
      throw new Error(`${name} has shape (${shape.join(", ")}): index ${idx(where)} is not one of its numbers`);
    }
    if (typeof value !== "number") throw new Error(`${value} is not a number`);
    const key = keyOf(name, where);
    if (!originals.has(key)) originals.set(key, LstmEngine.value(model, name, where));
    LstmEngine.edit(model, name, where, value);
    const stored = LstmEngine.value(model, name, where);
    S.edits = S.edits.filter((e) => keyOf(e.name, e.index) !== key);
    if (!Object.is(stored, originals.get(key))) S.edits.push({ name, index: where, value: stored });
    return stored;
  }

  function undoAll(rerun) {
    for (const e of S.edits) {
      const key = keyOf(e.name, e.index);
      if (originals.has(key)) LstmEngine.edit(model, e.name, e.index, originals.get(key));
    }
    S.edits = [];
    if (rerun) {
      result = LstmEngine.run(model);
      render(true);
      say("Every number is the scenario's own again.");
    }
  }

  function say(text) {
    $("#status").textContent = text;
  }

  let editing = null;

  function startEdit(el) {
    if (editing) return;
    const src = sourceOf(el);
    if (!src) {
      say(DATA.no_edit ? `Editing is off: ${DATA.no_edit}.` : "This number is not one the scenario gives, so it cannot be edited here.");
      return;
    }
    hideTip();
    const input = document.createElement("input");
    input.type = "text";
    input.className = "edit";
    input.value = shortest(Number(el.dataset.v));
    input.setAttribute("inputmode", "decimal");
    input.setAttribute("aria-label", `new value of ${src.name}${idx(src.index)}`);
    input.size = Math.max(6, input.value.length + 1);
    el.hidden = true;
    el.after(input);
    editing = { el, input, src };
    input.focus();
    input.select();
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") {
        ev.preventDefault();
        commitEdit();
      } else if (ev.key === "Escape") {
        ev.preventDefault();
        cancelEdit(true);
      }
      ev.stopPropagation();
    });
    input.addEventListener("blur", () => setTimeout(() => editing && editing.input === input && cancelEdit(false), 0));
  }

  function commitEdit() {
    const { el, input, src } = editing;
    const value = parseNumber(input.value);
    if (value === undefined || !Number.isFinite(value)) {
      input.setAttribute("aria-invalid", "true");
      say(`“${input.value}” is not a number: write one such as -0.25, 3 or 1e-3 (Escape leaves the number as it was).`);
      return;
    }
    const id = identity(el);
    editing = null;
    input.remove();
    el.hidden = false;
    try {
      lstmTrace.edit(src.name, src.index, value);
      say(`${src.name}${idx(src.index)} is now ${shortest(LstmEngine.value(model, src.name, src.index))}; every number after it was computed again.`);
    } catch (err) {
      say(err.message);
    }
    const again = document.querySelector(id) || el;
    again.tabIndex = 0;
    again.focus();
  }

  function cancelEdit(refocus) {
    const { el, input } = editing;
    editing = null;
    input.remove();
    el.hidden = false;
    if (refocus) el.focus();
  }

  // ---- keyboard -------------------------------------------------------------------------------
  function moveInGrid(el, key) {
    const grid = el.closest("[data-grid]");
    let next = null;
    const cellOf = (n) => n.closest("td");
    if (grid.tagName === "TABLE" && cellOf(el)) {
      const td0 = cellOf(el);
      const tr = td0.parentElement;
      if (key === "ArrowLeft" || key === "ArrowRight") {
        const tds = Array.from(tr.cells);
        const step = key === "ArrowRight" ? 1 : -1;
        for (let k = td0.cellIndex + step; k >= 0 && k < tds.length && !next; k += step) next = $(".n", tds[k]);
      } else {
        const trs = $$("tbody tr", grid);
        const step = key === "ArrowDown" ? 1 : -1;
        for (let k = trs.indexOf(tr) + step; k >= 0 && k < trs.length && !next; k += step) {
          const cell = trs[k].cells[td0.cellIndex];
          next = cell ? $(".n", cell) : null;
        }
      }
    } else {
      const all = $$(".n", grid);
      const k = all.indexOf(el) + (key === "ArrowRight" || key === "ArrowDown" ? 1 : -1);
      next = all[k] || null;
    }
    if (next) {
      el.tabIndex = -1;
      next.tabIndex = 0;
      next.focus();
      const scroller = next.closest(".scroll");
      if (scroller && next.scrollIntoView) next.scrollIntoView({ block: "nearest", inline: "nearest" });
    }
  }

  function onKey(ev) {
    const el = ev.target;
    if (editing || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const tag = el.tagName;
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
    const inGrid = el.classList && el.classList.contains("n") && el.closest("[data-grid]");
    if (inGrid && ["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"].includes(ev.key)) {
      ev.preventDefault();
      moveInGrid(el, ev.key);
      return;
    }
    if (inGrid && (ev.key === "Enter" || ev.key === "F2") && el.classList.contains("ed")) {
      ev.preventDefault();
      startEdit(el);
      return;
    }
    if (ev.key === "Escape") {
      hideTip();
      return;
    }
    const moves = { ArrowLeft: -1, ArrowRight: 1, PageUp: -1, PageDown: 1 };
    if (ev.key in moves && (!inGrid || ev.key.startsWith("Page"))) {
      ev.preventDefault();
      go(S.step + moves[ev.key]);
    } else if ((ev.key === "Home" || ev.key === "End") && !inGrid) {
      ev.preventDefault();
      go(ev.key === "Home" ? 1 : steps());
    }
  }

  function go(t) {
    const clamped = Math.min(Math.max(1, t), steps());
    if (clamped !== S.step) {
      S.step = clamped;
      render(false);
    }
  }

  // ---- wiring -----------------------------------------------------------------------------------
  function wire() {
    document.addEventListener("keydown", onKey);
    $("#step-slider").addEventListener("input", (ev) => go(Number(ev.target.value)));
    $("#prev").addEventListener("click", () => go(S.step - 1));
    $("#next").addEventListener("click", () => go(S.step + 1));
    $("#batch-select").addEventListener("change", (ev) => lstmTrace.setBatch(Number(ev.target.value)));
    $("#unit-select").addEventListener("change", (ev) => lstmTrace.setUnit(Number(ev.target.value)));
    $("#run-select").addEventListener("change", (ev) => {
      const [l, d] = ev.target.value.split(".").map(Number);
      lstmTrace.setRun(l, d);
    });
    $("#digits-select").addEventListener("change", (ev) => {
      S.digits = ev.target.value === "auto" ? "auto" : 4;
      render(true);
    });
    $("#theme").addEventListener("click", () => {
      S.theme = { auto: "light", light: "dark", dark: "auto" }[S.theme];
      syncControls();
    });
    $("#undo-all").addEventListener("click", () => undoAll(true));
    const main = $("#main");
    main.addEventListener("focusin", (ev) => ev.target.classList.contains("n") && showTip(ev.target));
    main.addEventListener("focusout", (ev) => ev.target === tipFor && hideTip());
    main.addEventListener("mouseover", (ev) => {
      const el = ev.target.closest && ev.target.closest(".n");
      if (el && el !== tipFor) showTip(el);
    });
    main.addEventListener("mouseout", (ev) => {
      const el = ev.target.closest && ev.target.closest(".n");
      if (el && el === tipFor && el !== document.activeElement && !(ev.relatedTarget && el.contains(ev.relatedTarget))) hideTip();
    });
    main.addEventListener("click", (ev) => {
      const unit = ev.target.closest("button.unit");
      if (unit) {
        lstmTrace.setUnit(Number(unit.dataset.unit));
        return;
      }
      const el = ev.target.closest(".n.ed");
      if (el) startEdit(el);
    });
    window.addEventListener("hashchange", () => {
      restore(location.hash);
      render(true);
    });
    window.addEventListener("resize", () => tipFor && place(tipFor));
  }

  function header() {
    $("#title").textContent = DATA.title || DATA.header;
    const config = [DATA.header, DATA.dtype].filter(Boolean).join(" · ");
    $("#header").textContent = config;
    if (DATA.description) {
      $("#description").textContent = DATA.description;
      $("#description").hidden = false;
    }
    $("#notes").innerHTML = DATA.notes.map((n) => `<li>${esc(n)}</li>`).join("");
    $("#warnings").innerHTML = DATA.warnings.map((n) => `<li>⚠ ${esc(n)}</li>`).join("");
    const B = result.runs[0][0].B;
    $("#batch-select").innerHTML = options(B, (b) => `row ${b} of ${B}`);
    $("#batch-select").disabled = B === 1;
    const all = runs();
    if (all.length > 1) {
      $("#run-group").hidden = false;
      $("#run-select").innerHTML = result.runs
        .flatMap((layer, l) => layer.map((r, d) => `<option value="${l + 1}.${d + 1}">layer ${l + 1} · ${esc(r.direction)}</option>`))
        .join("");
    }
  }

  // ---- the interface for tests and scripts ---------------------------------------------------------
  let resolveReady;
  const lstmTrace = {
    ready: new Promise((resolve) => (resolveReady = resolve)),
    isReady: false,
    /** Shows step t (from 1). */
    goTo(t) {
      if (!Number.isInteger(t) || t < 1 || t > steps()) throw new RangeError(`step ${t} is not in 1..${steps()}`);
      S.step = t;
      render(false);
    },
    /** Changes one number of the scenario (its own name; index 0-based, as numpy) and recomputes everything. */
    edit(name, index, value) {
      const stored = applyEdit(name, index, Number(value));
      result = LstmEngine.run(model);
      render(true);
      return stored;
    },
    setBatch(b) {
      if (!Number.isInteger(b) || b < 1 || b > run().B) throw new RangeError(`batch row ${b} is not in 1..${run().B}`);
      S.batch = b;
      render(true);
    },
    setUnit(u) {
      if (!Number.isInteger(u) || u < 1 || u > spec().units) throw new RangeError(`unit ${u} is not in 1..${spec().units}`);
      S.unit = u;
      render(true);
    },
    /** Shows another run: layer from 1; direction 1, 2 or "forward", "reverse". */
    setRun(layer, direction) {
      const d = direction === "forward" ? 1 : direction === "reverse" ? 2 : direction === undefined ? 1 : direction;
      if (!result.runs[layer - 1] || !result.runs[layer - 1][d - 1]) throw new RangeError(`there is no layer ${layer} direction ${direction}`);
      S.layer = layer;
      S.direction = d;
      S.unit = Math.min(S.unit, spec().units);
      render(true);
    },
    undoAll() {
      undoAll(true);
    },
    state() {
      return {
        pass: S.pass,
        step: S.step,
        unit: S.unit,
        batch: S.batch,
        layer: S.layer,
        direction: S.direction,
        directionName: run().direction,
        steps: steps(),
        edits: S.edits.map((e) => ({ name: e.name, index: e.index.slice(), value: e.value })),
      };
    },
  };
  window.lstmTrace = lstmTrace;

  function start() {
    try {
      model = LstmEngine.decode(DATA);
      result = LstmEngine.run(model);
      header();
      restore(location.hash);
      buildSections();
      wire();
      render(true);
      lstmTrace.isReady = true;
      document.documentElement.dataset.ready = "true";
      if (window.performance && performance.mark) performance.mark("lstm-trace-ready");
      resolveReady(true);
    } catch (err) {
      say(`The page could not be drawn: ${err && err.message ? err.message : err}`);
      document.documentElement.dataset.ready = "error";
      resolveReady(false);
      throw err;
    }
  }

  start();
})();
