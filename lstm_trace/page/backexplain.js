/* The arithmetic behind each number of the backward pass, in the project's notation (δ is dL/d,
 * δh₂[1] is dL/dh₂[1], step as subscript, unit in brackets), with its numbers:
 *
 *     δc₂[1] = δh₂[1]·o₂[1]·linear′(c₂[1]) + δc₃[1]·f₃[1] = 3·2·1 + 0·0 = 6
 *
 * The pieces are numbers LstmBackward recorded and the forward run's; the result is the value
 * the backward pass recorded, never recomputed here (a sum of products that does not add up
 * would show a defect). The numbers part is plain arithmetic (·, +, −, parentheses), so it
 * can be evaluated as written. `explain(el)` returns null for a number that is not the
 * backward pass's own (a forward value shown beside the δ's): the forward explanations say those.
 */
"use strict";

function LstmBackExplain(ctx, lossText) {
  const { S, fmt } = ctx;
  const DATA = ctx.data;
  const { sub, num, factor, idx } = fmt;
  const { run, spec, arr, ident, blk, preName, op, update, colOf, quantity, active, back, delta, slope, slopeC, xName } = ctx;

  const MANY = 8; // more products than this in one Σ: one partial sum per gate block
  const DERIVATIVES = {
    sigmoid: "σ′(z) = σ(z)·(1 − σ(z))",
    tanh: "tanh′(z) = 1 − tanh²(z)",
    linear: "linear′(z) = 1",
    relu: "relu′(z) = 1 where z > 0, else 0",
  };
  const sel = (q, b, u) => `.n[data-q="${q}"][data-b="${b + 1}"][data-u="${u + 1}"]`;
  const nm = (name, t, k) => `${name}${sub(t)}[${k}]`;
  const within = (v, bound) => v >= -bound && v <= bound; // as backward.js: a clip passes its bounds
  const dz = () => (spec().kind === "gru" ? "δpre" : "δz");

  /** Pieces of a sum with their signs: 3·2 − 1·4, never + -1·4 (a product's sign is its first factor's). */
  function signed(parts) {
    let out = parts[0];
    for (const p of parts.slice(1)) out += p.startsWith("-") ? ` − ${p.slice(1)}` : ` + ${p}`;
    return out;
  }

  /** lhs = symbols = numbers = value, leaving out a part that repeats the one before it (or is missing). */
  function chain(lhs, symbols, numbers, value) {
    const parts = [lhs];
    for (const p of [symbols, numbers, num(value)]) if (p !== null && p !== undefined && p !== parts[parts.length - 1]) parts.push(p);
    return parts.join(" = ");
  }

  function derivativeNote(act) {
    return DERIVATIVES[act.name] || `${act.label}′: the derivative of ${act.label}(x) = ${act.formula}`;
  }

  /** Σⱼ d[j]·w[j] with its numbers: the products that are not 0, or one partial sum per block when many;
   * in parentheses when more than one, unless `bare` (the whole right-hand side). */
  function dot(groups, bare) {
    const pairs = [];
    for (const [ds, ws] of groups) for (let j = 0; j < ds.length; j++) if (ds[j] !== 0 && ws[j] !== 0) pairs.push([ds[j], ws[j]]);
    if (!pairs.length) return "0";
    let parts = pairs.map(([d, w]) => `${num(d)}·${factor(w)}`);
    if (pairs.length > MANY) {
      parts = groups.map(([ds, ws]) => ds.reduce((acc, d, j) => acc + d * ws[j], 0)).filter((v) => v !== 0).map(num);
      if (!parts.length) return "0";
    }
    return parts.length === 1 || bare ? signed(parts) : `(${signed(parts)})`;
  }

  /** Where units j of the listed blocks meet a nonzero product: the δ's a Σ read, to outline. */
  function used(groups, q) {
    const out = [];
    for (const [g, ds, ws] of groups) for (let j = 0; j < ds.length; j++) if (ds[j] !== 0 && ws[j] !== 0) out.push(q(g, j));
    return out;
  }

  // ---- slices of the record: step s's row b, one block's columns, one weight row's block ----------
  const W = () => spec().gates.length * spec().units;
  const blockCols = (a, base, g) => a.subarray(base + colOf(g, 0), base + colOf(g, 0) + spec().units);
  const stepRow = (s, b) => (s * run().B + b) * W();

  /** The Σ over gate blocks of δ[j]·M[k,j] (δ: a (T, B, G·H) record, M: a (rows, G·H) weight): groups and outlines. */
  function through(a, s, b, matrix, k, gates, q, bare) {
    const base = stepRow(s, b);
    const mrow = k * W();
    const groups = gates.map((g) => [g, blockCols(a, base, g), blockCols(matrix, mrow, g)]);
    return { numbers: dot(groups.map(([, ds, ws]) => [ds, ws]), bare), src: s === S.step - 1 ? used(groups, q) : [] };
  }

  // ---- the state ---------------------------------------------------------------------------------
  /** δh at state index ts (0: the initial state): from outside, plus what step ts + 1 sends back. */
  function dh(ts, b, u) {
    const r = run();
    const k = u + 1;
    const bk = back();
    const at = (ts * r.B + b) * r.Hout + u;
    const syms = [];
    const nums = [];
    const src = [];
    if (ts > 0 || bk.dhOut[at] !== 0) {
      syms.push(nm("δh_out", ts, k));
      nums.push(num(bk.dhOut[at]));
      if (ts === S.step) src.push(sel("d_h_out", b, u));
    }
    if (ts < r.T) {
      const next = hFromNext(ts, b, u);
      syms.push(...next.syms);
      nums.push(...next.nums);
      src.push(...next.src);
    }
    const lines = [chain(nm("δh", ts, k), syms.join(" + "), signed(nums), bk.dh[at])];
    const later = ts < r.T ? `, and through step ${ts + 1}` : "";
    lines.push(ts === 0 ? "dL/d the initial state h₀" : `every path from h${sub(ts)}[${k}] to L: what reads it outside the recurrence${later}`);
    return { lines, src };
  }

  /** What step ts + 1 (record index ts) sends back to h_ts[u]: through U, and a GRU's z and reset. */
  function hFromNext(s1, b, u) {
    const r = run();
    const c = spec();
    const k = u + 1;
    const t1 = s1 + 1;
    const bk = back();
    if (!active(s1, b)) {
      return { syms: [`${nm("δh", t1, k)} (step ${t1} held this row's state)`], nums: [num(bk.dh[((s1 + 1) * r.B + b) * r.Hout + u])], src: [] };
    }
    const U = arr("recurrent");
    const shown = (q) => (g, j) => sel(`${q}_${g}`, b, j);
    if (c.kind !== "gru") {
      const all = through(bk.dhu, s1, b, U, u, c.gates, shown("d_pre"));
      return { syms: [`Σⱼ δz${sub(t1)}[j]·U[${k},j]`], nums: [all.numbers], src: all.src };
    }
    const z = quantity("z", s1, b, u);
    const dhNext = bk.dh[((s1 + 1) * r.B + b) * r.Hout + u];
    const swapped = c.rules.update_swapped;
    const syms = [`${nm("δh", t1, k)}·${swapped ? `(1 − ${nm("z", t1, k)})` : nm("z", t1, k)}`];
    const nums = [`${num(dhNext)}·${swapped ? `(1 − ${num(z)})` : factor(z)}`];
    const src = [];
    if (c.reset_after) {
      const all = through(bk.dhu, s1, b, U, u, c.gates, shown("d_hu"));
      syms.push(`Σⱼ δ(h·U)${sub(t1)}[j]·U[${k},j]`);
      nums.push(all.numbers);
      src.push(...all.src);
    } else {
      const zr = through(bk.dhu, s1, b, U, u, ["z", "r"], shown("d_pre"));
      const n = through(bk.dpre, s1, b, U, u, ["n"], shown("d_pre"));
      syms.push(`Σⱼ δpre_zr${sub(t1)}[j]·U_zr[${k},j]`, `${nm("r", t1, k)}·Σⱼ δpre_n${sub(t1)}[j]·U_n[${k},j]`);
      nums.push(zr.numbers, `${num(quantity("r", s1, b, u))}·${n.numbers}`);
      src.push(...zr.src, ...n.src);
      if (s1 === S.step - 1) src.push(sel("r", b, u));
    }
    if (s1 === S.step - 1) src.push(sel("z", b, u));
    return { syms, nums, src };
  }

  /** δc at state index ts: from outside, through its own h (and o's peephole), and from step ts + 1. */
  function dc(ts, b, u) {
    const r = run();
    const c = spec();
    const k = u + 1;
    const bk = back();
    const at = (ts * r.B + b) * r.H + u;
    const value = bk.dc[at];
    const here = ts === S.step;
    const kept = ts >= 1 && !active(ts - 1, b); // step ts held this row's state: c_ts is c_{ts−1}
    const parts = [];
    if (bk.dcOut.some((v) => v !== 0)) {
      parts.push({ sym: nm("δc_out", ts, k), num: num(bk.dcOut[at]) });
      if (here) parts[0].src = [sel("d_c_out", b, u)];
    }
    if (ts >= 1 && !kept) {
      const s = ts - 1;
      if (c.rules.new_cell_state) parts.push(cFromH(s, b, u, ts));
      if (arr("peepholes")) {
        parts.push({
          sym: `${nm(`δ${preName("o")}`, ts, k)}·w_o[${k}]`,
          num: `${num(delta("pre_o", s, b, u))}·${factor(arr("peepholes")[2 * c.units + u])}`,
          src: here ? [sel("d_pre_o", b, u)] : [],
        });
      }
    }
    if (ts < r.T) parts.push(...cFromNext(ts, b, u));
    if (!parts.length) return { lines: [`${nm("δc", ts, k)} = ${num(value)}`, "nothing reads this c"], src: [] };
    const numbers = signed(parts.map((p) => p.num));
    const lines = [chain(nm("δc", ts, k), parts.map((p) => p.sym).join(" + "), numbers, value)];
    const later = ts < r.T ? `, and through step ${ts + 1}` : "";
    if (kept) lines.push(`step ${ts} held this row's state: all of it passes on to c${sub(ts - 1)}`);
    else lines.push(ts === 0 ? "dL/d the initial state c₀" : `every path from c${sub(ts)}[${k}] to L: through h${sub(ts)}${later}`);
    return { lines, src: parts.flatMap((p) => p.src || []) };
  }

  /** c's path through the h (or m) made from it at step s: δh·o·act′(c), cIndex the state index of that c. */
  function cFromH(s, b, u, cIndex) {
    const c = spec();
    const r = run();
    const k = u + 1;
    const t = s + 1;
    const proj = update("projection");
    const name = proj ? "δm" : "δh";
    const act = update("act_c").activation;
    const here = t === S.step;
    const src = here ? [sel(proj ? "d_m" : "d_h", b, u)] : [];
    let sym = nm(name, t, k);
    let numbers = num(delta(proj ? "m" : "h", s, b, u));
    if (c.rules.output_gate) {
      sym += `·${nm("o", t, k)}`;
      numbers += `·${factor(quantity("o", s, b, u))}`;
      if (here) src.push(sel("o", b, u));
    }
    const v = slopeC(s, b, u);
    if (v !== null) {
      if (here) src.push(sel("c_slope", b, u));
      return { sym: `${sym}·${act.label}′(${nm("c", cIndex, k)})`, num: `${numbers}·${factor(v)}`, src };
    }
    // an activation over all units (softmax): y ⊙ (δy − Σⱼ δy[j]·y[j]), δy = δ act(c)
    const base = (s * r.B + b) * r.H;
    const y = r.c_act.subarray(base, base + r.H);
    const dy = back().extra.act_c.subarray(base, base + r.H);
    const a = `${act.label}(c${sub(cIndex)})`;
    return { sym: `${a}[${k}]·(δ${a}[${k}] − Σⱼ δ${a}[j]·${a}[j])`, num: `${num(y[u])}·(${num(dy[u])} − ${dot([[dy, y]])})`, src };
  }

  /** c_ts[u]'s paths into step ts + 1: f (through its cell clip), i's and f's peepholes. */
  function cFromNext(s1, b, u) {
    const c = spec();
    const r = run();
    const k = u + 1;
    const t1 = s1 + 1;
    const here = t1 === S.step;
    if (!active(s1, b)) return [{ sym: `${nm("δc", t1, k)} (step ${t1} held this row's state)`, num: num(delta("c", s1, b, u)), src: here ? [sel("d_c", b, u)] : [] }];
    const parts = [];
    if (c.rules.forget_term) {
      let sym = nm("δc", t1, k);
      let numbers = num(delta("c", s1, b, u));
      const clip = update("cell_clip");
      if (clip) {
        sym += `·clip′(${nm("ĉ", t1, k)})`;
        numbers += `·${within(r.c_unclipped[(s1 * r.B + b) * r.H + u], clip.bound) ? 1 : 0}`;
      }
      parts.push({ sym: `${sym}·${nm("f", t1, k)}`, num: `${numbers}·${factor(quantity("f", s1, b, u))}`, src: here ? [sel("d_c", b, u), sel("f", b, u)] : [] });
    }
    const peep = arr("peepholes");
    if (peep) {
      ["i", "f"].forEach((g, row) => {
        parts.push({
          sym: `${nm(`δ${preName(g)}`, t1, k)}·w_${g}[${k}]`,
          num: `${num(delta(`pre_${g}`, s1, b, u))}·${factor(peep[row * c.units + u])}`,
          src: here ? [sel(`d_pre_${g}`, b, u)] : [],
        });
      });
    }
    if (!c.rules.new_cell_state) parts.push(cFromH(s1, b, u, s1));
    return parts;
  }

  /** What reaches the state from outside the recurrence: returned outputs' gradients, and the layer above's δx. */
  function fromOutside(which, s, b, u) {
    const r = run();
    const k = u + 1;
    const t = s + 1;
    const width = which === "h" ? r.Hout : r.H;
    const value = which === "h" ? delta("h_out", s, b, u) : delta("c_out", s, b, u);
    const syms = [];
    const nums = [];
    const offset = ctx.model.offsets[`${S.layer - 1}.${S.direction - 1}.${which}`];
    if (offset !== undefined) {
      const code = offset + ((s + 1) * r.B + b) * width + u;
      for (const [name, out] of Object.entries(ctx.model.outputs)) {
        const label = (DATA.returns.find((p) => p[1] === name) || [name])[0];
        out.codes.forEach((cd, flat) => {
          if (cd !== code) return;
          syms.push(`dL/d ${label}${idx(unravel(flat, out.shape))}`);
          nums.push(num(ctx.back.upstream[name][flat]));
        });
      }
    }
    const above = ctx.back.runs[S.layer];
    if (which === "h" && above) {
      let start = 0;
      for (let d = 0; d < S.direction - 1; d++) start += ctx.result.runs[S.layer - 1][d].Hout;
      for (const bk of above) {
        const s2 = Array.from(bk.run.reads).indexOf(r.reads[s]);
        syms.push(`δx${sub(s2 + 1)}[${start + k}] of layer ${S.layer + 1} ${bk.run.direction}`);
        nums.push(num(bk.dx[(s2 * bk.run.B + b) * bk.run.F + start + u]));
      }
    }
    const lhs = nm(`δ${which}_out`, t, k);
    if (!syms.length) return { lines: [`${lhs} = ${num(value)}`, `nothing outside the recurrence reads ${which}${sub(t)}[${k}]`], src: [] };
    return { lines: [chain(lhs, syms.join(" + "), signed(nums), value), `what reaches ${which}${sub(t)}[${k}] from outside the recurrence`], src: [] };
  }

  function unravel(flat, shape) {
    const index = [];
    let rest = flat;
    for (let a = shape.length - 1; a >= 0; a--) {
      index.unshift(rest % shape[a]);
      rest = Math.floor(rest / shape[a]);
    }
    return index;
  }

  // ---- inside the step: the update's δ's, each gate's δ after and before its activation --------------
  function held(lhs, s, b, value) {
    return { lines: [`${lhs} = ${num(value)}`, `step ${s + 1} held this row's state: nothing passes through its operations`], src: [] };
  }

  /** δ act(c_t) = δh ⊙ o (δm with a projection). */
  function dActC(s, b, u) {
    const c = spec();
    const t = s + 1;
    const k = u + 1;
    const act = update("act_c").activation;
    const cIndex = c.rules.new_cell_state ? t : t - 1;
    const lhs = `δ${act.label}(${nm("c", cIndex, k)})`;
    const value = delta("act_c", s, b, u);
    if (!active(s, b)) return held(lhs, s, b, value);
    const proj = update("projection");
    const src = [sel(proj ? "d_m" : "d_h", b, u)];
    const from = proj ? "m" : "h";
    if (!c.rules.output_gate) return { lines: [chain(lhs, nm(`δ${from}`, t, k), num(delta(from, s, b, u)), value)], src };
    src.push(sel("o", b, u));
    const numbers = `${num(delta(from, s, b, u))}·${factor(quantity("o", s, b, u))}`;
    return { lines: [chain(lhs, `${nm(`δ${from}`, t, k)}·${nm("o", t, k)}`, numbers, value)], src };
  }

  /** δm = δp·Pᵀ (δp: δh, or δh through the projection's clip). */
  function dM(s, b, u) {
    const c = spec();
    const r = run();
    const k = u + 1;
    const t = s + 1;
    const value = delta("m", s, b, u);
    const lhs = nm("δm", t, k);
    if (!active(s, b)) return held(lhs, s, b, value);
    const P = arr("projection");
    const base = (s * r.B + b) * r.Hout;
    const dp = back().extra.p_in.subarray(base, base + r.Hout);
    const prow = P.subarray(u * r.Hout, (u + 1) * r.Hout);
    const from = update("proj_clip") ? "δp" : "δh";
    const src = [];
    for (let j = 0; j < r.Hout; j++) if (dp[j] !== 0 && prow[j] !== 0) src.push(sel(from === "δp" ? "d_p_in" : "d_h", b, j));
    return { lines: [chain(lhs, `Σⱼ ${from}${sub(t)}[j]·${c.names.projection}[${k},j]`, dot([[dp, prow]], true), value)], src };
  }

  /** δp = δh·clip′(p̂): the projection's clip passes δ where it passed its input. */
  function dP(s, b, u) {
    const r = run();
    const k = u + 1;
    const t = s + 1;
    const value = delta("p_in", s, b, u);
    const lhs = nm("δp", t, k);
    if (!active(s, b)) return held(lhs, s, b, value);
    const pass = within(r.p_unclipped[(s * r.B + b) * r.Hout + u], update("proj_clip").bound) ? 1 : 0;
    return { lines: [chain(lhs, `${nm("δh", t, k)}·clip′(${nm("p̂", t, k)})`, `${num(delta("h", s, b, u))}·${pass}`, value)], src: [sel("d_h", b, u)] };
  }

  /** δ of gate g after its activation: what the state update sends it. */
  function dGate(g, s, b, u) {
    const c = spec();
    const t = s + 1;
    const k = u + 1;
    const lhs = nm(`δ${g}`, t, k);
    const value = delta(g, s, b, u);
    if (c.kind === "gru") return gruGate(g, s, b, u, lhs, value);
    const rules = c.rules;
    if (g === "o") {
      if (!rules.output_gate) return { lines: [`${lhs} = ${num(value)}`, "h = act(c): the output gate is not used"], src: [] };
      const proj = update("projection");
      const from = proj ? "m" : "h";
      const act = update("act_c").activation;
      const cName = nm("c", rules.new_cell_state ? t : t - 1, k);
      const inner = act.name === "linear" ? cName : `${act.label}(${cName})`;
      const numbers = `${num(delta(from, s, b, u))}·${factor(ctx.at(run().c_act, s, b, c.units, u))}`;
      return { lines: [chain(lhs, `${nm(`δ${from}`, t, k)}·${inner}`, numbers, value)], src: [sel(`d_${from}`, b, u), sel("act_c", b, u)] };
    }
    let dcSym = nm("δc", t, k);
    let dcNum = num(delta("c", s, b, u));
    const clip = update("cell_clip");
    if (clip) {
      dcSym += `·clip′(${nm("ĉ", t, k)})`;
      dcNum += `·${within(run().c_unclipped[(s * run().B + b) * c.units + u], clip.bound) ? 1 : 0}`;
    }
    const src = [sel("d_c", b, u)];
    const other = { i: ["g", nm("g", t, k)], f: ["c_prev", nm("c", t - 1, k)], g: ["i", nm("i", t, k)] }[g];
    if ((g === "f" && !rules.forget_term) || (g === "i" && !rules.input_gate && !op("f", "one_minus"))) {
      return { lines: [`${lhs} = ${num(value)}`, `the cell update does not use ${g}`], src: [] };
    }
    if (g === "g" && !rules.input_gate) return { lines: [chain(lhs, dcSym, dcNum, value)], src };
    let symbols = `${dcSym}·${other[1]}`;
    let numbers = `${dcNum}·${factor(quantity(other[0], s, b, u))}`;
    src.push(sel(other[0], b, u));
    if (g === "i" && op("f", "one_minus")) {
      symbols += ` − ${nm("δf", t, k)}`;
      numbers = signed([numbers, `-${factor(delta("f", s, b, u))}`]);
      src.push(sel("d_f", b, u));
    }
    return { lines: [chain(lhs, symbols, numbers, value)], src };
  }

  function gruGate(g, s, b, u, lhs, value) {
    const c = spec();
    const r = run();
    const t = s + 1;
    const k = u + 1;
    const swapped = c.rules.update_swapped;
    const dhSym = nm("δh", t, k);
    const dhNum = num(delta("h", s, b, u));
    const z = quantity("z", s, b, u);
    if (g === "n") {
      const keep = swapped ? [nm("z", t, k), factor(z)] : [`(1 − ${nm("z", t, k)})`, `(1 − ${num(z)})`];
      return { lines: [chain(lhs, `${dhSym}·${keep[0]}`, `${dhNum}·${keep[1]}`, value)], src: [sel("d_h", b, u), sel("z", b, u)] };
    }
    if (g === "z") {
      const hp = [nm("h", t - 1, k), quantity("h_prev", s, b, u)];
      const n = [nm("n", t, k), quantity("n", s, b, u)];
      const [a, bb] = swapped ? [n, hp] : [hp, n];
      return {
        lines: [chain(lhs, `${dhSym}·(${a[0]} − ${bb[0]})`, `${dhNum}·(${num(a[1])} − ${factor(bb[1])})`, value)],
        src: [sel("d_h", b, u), sel("h_prev", b, u), sel("n", b, u)],
      };
    }
    // r: through the candidate's reset
    const dpn = delta("pre_n", s, b, u);
    if (c.reset_after) {
      const hu = ctx.at(r.hu, s, b, r.G * r.H, colOf("n", u));
      const rb = arr("recurrent_bias");
      const product = `h${sub(t - 1)}·U_n[:,${k}]`;
      const label = c.names.recurrent_bias_label;
      const symbols = rb ? `${nm("δpre_n", t, k)}·(${product} + ${label}_n[${k}])` : `${nm("δpre_n", t, k)}·${product}`;
      const numbers = rb ? `${num(dpn)}·(${signed([num(hu), num(rb[colOf("n", u)])])})` : `${num(dpn)}·${factor(hu)}`;
      return { lines: [chain(lhs, symbols, numbers, value)], src: [sel("d_pre_n", b, u)] };
    }
    const n = through(back().dpre, s, b, arr("recurrent"), u, ["n"], (gg, j) => sel(`d_pre_${gg}`, b, j));
    return {
      lines: [chain(lhs, `(Σⱼ δpre_n${sub(t)}[j]·U_n[${k},j])·${nm("h", t - 1, k)}`, `${n.numbers}·${factor(quantity("h_prev", s, b, u))}`, value)],
      src: [...n.src, sel("h_prev", b, u)],
    };
  }

  /** δ of gate g's sum: δ after the activation ⊙ act′ (⊙ clip′ where the sum was clipped). */
  function dPre(g, s, b, u) {
    const c = spec();
    const r = run();
    const t = s + 1;
    const k = u + 1;
    const lhs = nm(`δ${preName(g)}`, t, k);
    const value = delta(`pre_${g}`, s, b, u);
    if (op(g, "one_minus")) return { lines: [`${lhs} = ${num(value)}`, "f = 1 − i: its own sum is unused; its δ goes to i"], src: [] };
    const act = op(g, "act").activation;
    const dgSym = c.kind === "rnn" ? nm("δh", t, k) : nm(`δ${g}`, t, k);
    const dg = back().dact[stepRow(s, b) + colOf(g, u)];
    const src = [sel(c.kind === "rnn" ? "d_h" : `d_${g}`, b, u)];
    const zSym = nm(preName(g), t, k);
    const clip = op(g, "clip");
    const inner = clip ? `clip(${zSym})` : zSym;
    let clipSym = "";
    let clipNum = "";
    if (clip) {
      const pre = r.pre[(s * r.B + b) * W() + colOf(g, u)];
      clipSym = `·clip′(${zSym})`;
      clipNum = `·${within(pre, clip.bound) ? 1 : 0}`;
    }
    const v = slope(g, s, b, u);
    if (v === null) {
      // softmax over the block's units: y ⊙ (δy − Σⱼ δy[j]·y[j])
      const base = stepRow(s, b);
      const y = blockCols(r.act, base, g);
      const dy = blockCols(back().dact, base, g);
      const symbols = `${nm(g, t, k)}·(${dgSym} − Σⱼ δ${g}${sub(t)}[j]·${g}${sub(t)}[j])${clipSym}`;
      return { lines: [chain(lhs, symbols, `${num(y[u])}·(${num(dg)} − ${dot([[dy, y]])})${clipNum}`, value), derivativeNote(act)], src };
    }
    src.push(sel(`slope_${g}`, b, u));
    const lines = [chain(lhs, `${dgSym}·${act.label}′(${inner})${clipSym}`, `${num(dg)}·${factor(v)}${clipNum}`, value), derivativeNote(act)];
    return { lines, src };
  }

  /** δ(h·U) of a GRU with reset_after: n's product was scaled by r, the others' are their δpre. */
  function dHu(g, s, b, u) {
    const t = s + 1;
    const k = u + 1;
    const lhs = nm(`δ(h·U)_${g}`, t, k);
    const value = delta(`hu_${g}`, s, b, u);
    if (g !== "n") return { lines: [chain(lhs, nm(`δpre_${g}`, t, k), num(delta(`pre_${g}`, s, b, u)), value)], src: [sel(`d_pre_${g}`, b, u)] };
    const numbers = `${num(delta("pre_n", s, b, u))}·${factor(quantity("r", s, b, u))}`;
    return { lines: [chain(lhs, `${nm("δpre_n", t, k)}·${nm("r", t, k)}`, numbers, value)], src: [sel("d_pre_n", b, u), sel("r", b, u)] };
  }

  /** act′ where the gate's activation read its sum. */
  function slopeOf(g, s, b, u) {
    const r = run();
    const t = s + 1;
    const k = u + 1;
    const act = op(g, "act").activation;
    const clip = op(g, "clip");
    const zSym = nm(preName(g), t, k);
    const at = (s * r.B + b) * W() + colOf(g, u);
    const x = clip ? r.pre_clipped[at] : r.pre[at];
    const inner = clip ? `clip(${zSym}, ±${num(clip.bound)})` : zSym;
    return { lines: [`${act.label}′(${inner}) = ${act.label}′(${num(x)}) = ${num(slope(g, s, b, u))}`, derivativeNote(act)], src: [sel(g, b, u)] };
  }

  function slopeOfC(s, b, u) {
    const c = spec();
    const t = s + 1;
    const k = u + 1;
    const act = update("act_c").activation;
    const newC = c.rules.new_cell_state;
    const cv = quantity(newC ? "c" : "c_prev", s, b, u);
    const line = `${act.label}′(${nm("c", newC ? t : t - 1, k)}) = ${act.label}′(${num(cv)}) = ${num(slopeC(s, b, u))}`;
    return { lines: [line, derivativeNote(act)], src: [sel(newC ? "c" : "c_prev", b, u)] };
  }

  /** δx_t = δz_t·Wᵀ: what the step's sums send to its input. */
  function dX(s, b, f) {
    const c = spec();
    const lhs = `δ${xName(s)}[${f + 1}]`;
    const value = delta("x", s, b, f);
    if (!active(s, b)) return held(lhs, s, b, value);
    const all = through(back().dpre, s, b, arr("kernel"), f, c.gates, (g, j) => sel(`d_pre_${g}`, b, j), true);
    const lines = [chain(lhs, `Σⱼ ${dz()}${sub(s + 1)}[j]·W[${f + 1},j]`, all.numbers, value)];
    if (S.layer > 1) lines.push(`part of what reaches the layer below's h at input time ${run().reads[s] + 1}`);
    else if (ctx.result.runs[0].length > 1) lines.push("the inputs' gradient adds this to the other direction's δx of the same input time");
    return { lines, src: all.src };
  }

  // ---- what the step adds to the weights' gradients, and the totals --------------------------------
  /** One number of what step t adds to a canonical weight's gradient: Σ over batch rows of input·δ. */
  function explainAdd(name, flat) {
    const c = spec();
    const r = run();
    const s = S.step - 1;
    const t = S.step;
    const H = c.units;
    const value = back().adds(s)[name][flat];
    const bk = back();
    const rows = [...Array(r.B).keys()];
    const bi = (b) => (r.B > 1 ? `[${b + 1},` : "[");
    let lhs;
    let pairs; // [left value, δ value] per batch row
    let sym;
    const from = LstmEngine.sourceOf(ctx.model, ident(name), flat);
    if (name === "projection") {
      const P = c.output_size;
      const j = Math.floor(flat / P);
      const u = flat % P;
      lhs = `d${c.names.projection}[${j + 1},${u + 1}]`;
      const dp = update("proj_clip") ? "δp" : "δh";
      sym = (b) => `m${sub(t)}${bi(b)}${j + 1}]·${dp}${sub(t)}${bi(b)}${u + 1}]`;
      pairs = rows.map((b) => [ctx.at(r.m, s, b, H, j), bk.extra.p_in[(s * r.B + b) * r.Hout + u]]);
    } else if (name === "peepholes") {
      const g = ["i", "f", "o"][Math.floor(flat / H)];
      const u = flat % H;
      lhs = `dw_${g}[${u + 1}]`;
      const ct = g === "o" ? t : t - 1;
      sym = (b) => `${dz()}_${g}${sub(t)}${bi(b)}${u + 1}]·c${sub(ct)}${bi(b)}${u + 1}]`;
      pairs = rows.map((b) => [delta(`pre_${g}`, s, b, u), quantity(g === "o" ? "c" : "c_prev", s, b, u)]);
    } else {
      const matrix = name === "kernel" || name === "recurrent";
      const col = matrix ? flat % W() : flat;
      const g = c.gates[Math.floor(col / H)];
      const u = col % H;
      const sfx = blk(g);
      const ofSum = name === "kernel" || name === "bias"; // δz; the recurrent ones take δ(h·U), which r scales in a GRU's n
      const dSym = !ofSum && c.kind === "gru" && g === "n" && c.reset_after ? "δ(h·U)_n" : `${dz()}${sfx}`;
      const dArr = ofSum ? bk.dpre : bk.dhu;
      const d = (b) => dArr[stepRow(s, b) + col];
      if (!matrix) {
        const label = name === "bias" ? c.names.bias_label : c.names.recurrent_bias_label;
        lhs = `d${label}${sfx}[${u + 1}]`;
        sym = (b) => `${dSym}${sub(t)}${bi(b)}${u + 1}]`;
        pairs = rows.map((b) => [d(b), null]);
      } else {
        const row = Math.floor(flat / W());
        const gated = name === "recurrent" && c.kind === "gru" && g === "n" && !c.reset_after;
        const left = name === "kernel" ? xName(s) : gated ? `(r${sub(t)}⊙h${sub(t - 1)})` : `h${sub(t - 1)}`;
        lhs = `d${name === "kernel" ? "W" : "U"}${sfx}[${row + 1},${u + 1}]`;
        sym = (b) => `${left}${bi(b)}${row + 1}]·${dSym}${sub(t)}${bi(b)}${u + 1}]`;
        const input = (b) => (name === "kernel" ? quantity("x", s, b, row) : gated ? ctx.at(r.gated, s, b, H, row) : quantity("h_prev", s, b, row));
        pairs = rows.map((b) => [input(b), d(b)]);
      }
    }
    const term = ([a, d]) => (d === null ? num(a) : `${num(a)}·${factor(d)}`);
    const shown = pairs.length > MANY ? null : signed(pairs.map(term));
    const symbols = r.B > 1 ? `Σ_b ${sym(0).replace(/\[1,/g, "[b,")}` : sym(0);
    const lines = [chain(`${lhs} += ${symbols}`, null, shown, value)];
    if (from) lines.push(`adds to dL/d ${from.name}${idx(from.index)} (The gradients)`);
    return { lines, src: [] };
  }

  function explainGrad(name, flat) {
    const g = ctx.back;
    const m = ctx.model;
    const isInput = name === "inputs";
    const state = name in g.initial_state;
    const values = isInput ? g.inputs : state ? g.initial_state[name] : g.weights[name];
    const shape = isInput ? [m.B, m.T, m.F] : (DATA.sources.find((src) => src.name === name) || { shape: [values.length] }).shape;
    const lines = [`dL/d ${name}${idx(unravel(flat, shape))} = ${num(values[flat])}`];
    if (isInput) lines.push(`δx at input time ${unravel(flat, shape)[1] + 1}${ctx.result.runs[0].length > 1 ? ", both directions' summed" : ""}`);
    else if (state) lines.push("δh₀ or δc₀ of the run that starts from it");
    else lines.push("the sum over every step and batch row of what each step adds to it");
    return { lines, src: [] };
  }

  function explainLoss() {
    const b = DATA.backward;
    const values = b.loss === "sum" ? ctx.result.outputs[b.of].values : [];
    const sum = values.length && values.length <= 16 ? ` = ${fmt.signedSum(Array.from(values))}` : "";
    const lines = [`${lossText()}${sum} = ${num(ctx.back.loss)}`];
    if (b.upstream) lines.push("the upstream gradients are dL/d each output: each is multiplied into the output it belongs to");
    else if (b.loss === "sum") lines.push(`each number of ${b.of} sends δ = 1 to the state it came from`);
    else if (b.loss === "half_squared_error") lines.push(`each number y of ${b.of} sends δ = y − target`);
    else lines.push(`each number y of ${b.of} sends δ = 2·(y − target)/n, n its count`);
    return { lines, src: [] };
  }

  /** The arithmetic of a number of the backward view, or null when it is a forward value. */
  function explain(el) {
    const d = el.dataset;
    const q = d.q || "";
    if (q === "loss") return explainLoss();
    if (q === "grad") return explainGrad(d.g, +d.i);
    if (q.startsWith("add_")) return explainAdd(q.slice(4), +d.i);
    const s = S.step - 1;
    const b = +d.b - 1;
    const u = +d.u - 1;
    if (q === "c_slope") return slopeOfC(s, b, u);
    if (q.startsWith("slope_")) return slopeOf(q.slice(6), s, b, u);
    if (!q.startsWith("d_")) return null;
    const name = q.slice(2);
    if (name === "h" || name === "h_prev") return dh(name === "h" ? S.step : S.step - 1, b, u);
    if (name === "c" || name === "c_prev") return dc(name === "c" ? S.step : S.step - 1, b, u);
    if (name === "h_out" || name === "c_out") return fromOutside(name[0], s, b, u);
    if (name === "x") return dX(s, b, u);
    if (name === "act_c") return dActC(s, b, u);
    if (name === "m") return dM(s, b, u);
    if (name === "p_in") return dP(s, b, u);
    if (name.startsWith("pre_")) return dPre(name.slice(4), s, b, u);
    if (name.startsWith("hu_")) return dHu(name.slice(3), s, b, u);
    return dGate(name, s, b, u);
  }

  return { explain };
}
