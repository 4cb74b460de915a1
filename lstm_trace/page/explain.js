/* The arithmetic behind each number, in the project's notation (h₂[3] is h at step 2, unit 3),
 * with its numbers, and the number elements it came from (CSS selectors), for the tooltip:
 *
 *     z_f₁[2] = x₁·W_f[:,2] + h₀·U_f[:,2] + b_f[2] = 0.3 + 0 + 1 = 1.3
 *
 * Every value is read from the engine's record or the model's arrays, never recomputed.
 */
"use strict";

function LstmExplain(ctx) {
  const { S, fmt, TITLES } = ctx;
  const DATA = ctx.data;
  const { sub, num, factor, signedSum, idx } = fmt;
  const { runs, run, spec, arr, ident, blk, preName, block, op, update, colOf, at, quantity, active, gateMark } = ctx;
  const { sourceOf, xName, skipReason } = ctx;

  // a number of the shown step, a weight, and a name with its step and unit (c₁[2])
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
      const from = LstmEngine.sourceOf(ctx.model, ident(name), col);
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
    const from = LstmEngine.sourceOf(ctx.model, ident(d.w), flat);
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
    return ctx.model.outputs[key].codes;
  }

  function explainOutputValue(d) {
    const out = ctx.result.outputs[d.o];
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
    const r = ctx.result.runs[+l][+dd];
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

  return { explain };
}
