/* lstm-trace: the page's backward pass. lstm_trace/backward.py and gradients.py in
 * JavaScript: a run's record played in reverse, one vector-Jacobian product per operation
 * kind, in the same order; dL/d what the layer returns comes from the scenario's `backward`
 * block (a loss or upstream gradients), lands on the runs' h and c through the same codes the
 * forward pass uses for the returns, and the canonical weights' gradients go back to the
 * scenario's own names through the codes that brought the weights in.
 */
"use strict";

const LstmBackward = (() => {
  const clip01 = (v) => v >= 0 && v <= 1;
  const sigmoid = (x) => 1 / (1 + Math.exp(-x));
  const softplus = (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
  const SELU_ALPHA = 1.6732632423543772;
  const SELU_SCALE = 1.0507009873554805;
  const step = (lo, hi, slope, inclusive) => (x) =>
    (inclusive ? x >= lo && x <= hi : x > lo && x < hi) ? slope : 0;
  const eluGrad = (alpha) => (x) => (x > 0 ? 1 : alpha * Math.exp(Math.min(x, 0)));
  const normalPdf = (x) => Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI);

  // f′(x, y) by name, with the values the frameworks take at the kinks (as lstm_trace/activations.py)
  const GRADS = {
    linear: () => () => 1,
    tanh: () => (x, y) => 1 - y * y,
    sigmoid: () => (x, y) => y * (1 - y),
    relu: () => step(0, Infinity, 1, false),
    relu6: () => step(0, 6, 1, false),
    hard_sigmoid: ([a, b]) =>
      a === 1 / 6 ? step(-3, 3, 1 / 6, false) : a === 0.2 && b === 0.5 ? step(-2.5, 2.5, 0.2, true)
        : (x) => (clip01(a * x + b) ? a : 0),
    affine: ([a]) => () => a,
    scaled_tanh: ([a, b]) => (x) => a * b * (1 - Math.tanh(b * x) ** 2),
    leaky_relu: ([a]) => (a === 0.2 ? (x) => (x > 0 ? 1 : 0.2) : (x) => (x >= 0 ? 1 : a)),
    thresholded_relu: ([a]) => (x) => (x > a ? 1 : 0),
    elu: ([a]) => eluGrad(a),
    celu: () => eluGrad(1),
    selu: () => (x) => SELU_SCALE * eluGrad(SELU_ALPHA)(x),
    softplus: () => sigmoid,
    softsign: () => (x) => 1 / ((1 + Math.abs(x)) * (1 + Math.abs(x))),
    exponential: () => (x, y) => y,
    silu: () => (x) => sigmoid(x) * (1 + x * (1 - sigmoid(x))),
    gelu: () => (x) => LstmEngine.normalCdf(x) + x * normalPdf(x),
    mish: () => (x) => {
      const t = Math.tanh(softplus(x));
      return t + x * (1 - t * t) * sigmoid(x);
    },
    log_sigmoid: () => (x) => sigmoid(-x),
    hard_silu: () => (x) => Math.min(Math.max(x / 6 + 0.5, 0), 1) + x * step(-3, 3, 1 / 6, false)(x),
    hard_tanh: () => step(-1, 1, 1, false),
    tanh_shrink: () => (x) => Math.tanh(x) ** 2,
    squareplus: () => (x) => (1 + x / Math.sqrt(x * x + 4)) / 2,
    soft_shrink: () => (x) => (Math.abs(x) > 0.5 ? 1 : 0),
    hard_shrink: () => (x) => (Math.abs(x) > 0.5 ? 1 : 0),
    sparse_plus: () => (x) => (x <= -1 ? 0 : x >= 1 ? 1 : (x + 1) / 2),
    sparse_sigmoid: () => step(-1, 1, 0.5, false),
  };

  /** dL/dx from dL/dy over n values: dy ⊙ f′(x), or softmax's y ⊙ (dy − Σ dy ⊙ y). Writes into dx. */
  function activationBack(spec) {
    if (spec.name === "softmax") {
      return (x, y, dy, dx, n) => {
        let dot = 0;
        for (let k = 0; k < n; k++) dot += dy[k] * y[k];
        for (let k = 0; k < n; k++) dx[k] = y[k] * (dy[k] - dot);
      };
    }
    const make = GRADS[spec.name];
    if (!make) throw new Error(`the page has no derivative of ${spec.name}`);
    const fn = make(spec.params || []);
    return (x, y, dy, dx, n) => {
      for (let k = 0; k < n; k++) dx[k] = dy[k] * fn(x[k], y[k]);
    };
  }

  const within = (v, bound) => v >= -bound && v <= bound; // a clip passes its bounds, as torch and TF do

  /** Step s's row b of a (T, B, W) array, columns [c0, c0 + n). */
  const row = (a, s, b, B, W, c0, n) => a.subarray((s * B + b) * W + c0, (s * B + b) * W + c0 + n);

  function backRun(model, run, dhOut, dcOut) {
    const { Float } = model;
    const { T, B, H, Hout, G, F, cell } = run;
    const W = G * H, a = cell.arrays, rules = cell.rules;
    const lstm = cell.kind === "lstm", gru = cell.kind === "gru";
    const dh = new Float((T + 1) * B * Hout), dc = dcOut ? new Float((T + 1) * B * H) : null;
    const dact = new Float(T * B * W), dpre = new Float(T * B * W), dhu = new Float(T * B * W);
    const extra = {};
    const kinds = new Set(cell.updates.map((op) => op.kind));
    const upd = Object.fromEntries(cell.updates.map((op) => [op.kind, op]));
    const blocks = Object.fromEntries(cell.blocks.map((blk, k) => [blk.gate, { ...blk, k }]));
    const tmp = new Float(1);
    const r = (v) => { tmp[0] = v; return tmp[0]; };
    let carryH = new Float(B * Hout), carryC = dc ? new Float(B * H) : null;
    const keep = (name, s, values) => {
      if (!extra[name]) extra[name] = new Float(T * B * values.length / B);
      extra[name].set(values, s * values.length);
    };

    /** δ after block `gate`'s activation (B·H) → δ of its sum, recorded; `adj.i` takes a coupled f's. */
    function block(s, gate, d, adj) {
      const { k, ops } = blocks[gate];
      const out = new Float(B * H);
      for (let b = 0; b < B; b++) {
        const base = (s * B + b) * W + k * H;
        for (let u = 0; u < H; u++) dact[base + u] = d[b * H + u];
        let g = Float.from(d.subarray(b * H, (b + 1) * H));
        const clipOp = ops.find((op) => op.kind === "clip");
        const source = clipOp ? run.pre_clipped : run.pre;
        for (let o = ops.length - 1; o >= 0; o--) {
          const op = ops[o];
          if (op.kind === "act") {
            const next = new Float(H);
            activationBack(op.activation)(source.subarray(base, base + H), run.act.subarray(base, base + H), g, next, H);
            g = next;
          } else if (op.kind === "clip") {
            for (let u = 0; u < H; u++) if (!within(run.pre[base + u], op.bound)) g[u] = 0;
          } else if (op.kind === "one_minus") {
            for (let u = 0; u < H; u++) adj.i[b * H + u] = r(adj.i[b * H + u] - g[u]);
            g.fill(0);
          }
        }
        for (let u = 0; u < H; u++) { dpre[base + u] = g[u]; out[b * H + u] = g[u]; }
      }
      return out;
    }

    /** The terms of `gate`'s sum, undone: δ to h_{t−1} (through U later, or a GRU's reset), c, r. */
    function terms(s, gate, d, adj) {
      const { k, terms: keys } = blocks[gate];
      for (const key of keys) {
        for (let b = 0; b < B; b++) {
          const base = (s * B + b) * W + k * H;
          if (key === "hU") {
            for (let u = 0; u < H; u++) dhu[base + u] = d[b * H + u];
            if (gru && gate === "n" && !cell.reset_after) {  // (r ⊙ h)·U_n
              for (let j = 0; j < H; j++) {
                let g = 0;
                for (let u = 0; u < H; u++) g += d[b * H + u] * a.recurrent[j * W + k * H + u];
                const rr = run.act[(s * B + b) * W + blocks.r.k * H + j];
                adj.r[b * H + j] = r(adj.r[b * H + j] + r(g * run.h[(s * B + b) * Hout + j]));
                adj.h_prev[b * Hout + j] = r(adj.h_prev[b * Hout + j] + r(g * rr));
              }
            }
          } else if (key === "peephole") {
            const p = "ifo".indexOf(gate), target = gate === "o" ? adj.c : adj.c_prev;
            for (let u = 0; u < H; u++) target[b * H + u] = r(target[b * H + u] + r(d[b * H + u] * a.peepholes[p * H + u]));
          } else if (key === "reset") {  // r ⊙ (h·U_n + b_rec_n)
            for (let u = 0; u < H; u++) {
              const inner = a.recurrent_bias ? r(run.hu[base + u] + a.recurrent_bias[k * H + u]) : run.hu[base + u];
              const rr = run.act[(s * B + b) * W + blocks.r.k * H + u];
              adj.r[b * H + u] = r(adj.r[b * H + u] + r(d[b * H + u] * inner));
              dhu[base + u] = d[b * H + u] * rr;
            }
          }
        }
      }
    }

    const gate = (name, s, b, u) => run.act[(s * B + b) * W + blocks[name].k * H + u];
    for (let s = T - 1; s >= 0; s--) {
      const adj = { h: new Float(B * Hout), h_prev: new Float(B * Hout) };
      for (let k = 0; k < B * Hout; k++) {
        dh[(s + 1) * B * Hout + k] = dhOut[(s + 1) * B * Hout + k] + carryH[k];
        adj.h[k] = dh[(s + 1) * B * Hout + k];
      }
      if (dc) {
        adj.c = new Float(B * H); adj.c_prev = new Float(B * H);
        for (let k = 0; k < B * H; k++) adj.c[k] = dcOut[(s + 1) * B * H + k] + carryC[k];
      }
      if (run.active) {  // a row past its length kept its state: its gradient passes back untouched
        for (let b = 0; b < B; b++) {
          if (run.active[s * B + b]) continue;
          for (let u = 0; u < Hout; u++) { adj.h_prev[b * Hout + u] += adj.h[b * Hout + u]; adj.h[b * Hout + u] = 0; }
          if (dc) for (let u = 0; u < H; u++) { adj.c_prev[b * H + u] += adj.c[b * H + u]; adj.c[b * H + u] = 0; }
        }
      }
      if (lstm) {
        let dOut = adj.h;
        if (kinds.has("projection")) {
          if (kinds.has("proj_clip")) {
            for (let b = 0; b < B; b++) for (let u = 0; u < Hout; u++) {
              if (!within(run.p_unclipped[(s * B + b) * Hout + u], upd.proj_clip.bound)) dOut[b * Hout + u] = 0;
            }
          }
          keep("p_in", s, dOut);
          const dm = new Float(B * H);
          for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) {
            let g = 0;
            for (let u = 0; u < Hout; u++) g += dOut[b * Hout + u] * a.projection[j * Hout + u];
            dm[b * H + j] = g;
          }
          keep("m", s, dm);
          dOut = dm;
        }
        adj.o = new Float(B * H);
        const dActC = new Float(B * H);
        for (let b = 0; b < B; b++) for (let u = 0; u < H; u++) {
          const i = b * H + u, ca = run.c_act[(s * B + b) * H + u];
          if (rules.output_gate) { adj.o[i] = dOut[i] * ca; dActC[i] = dOut[i] * gate("o", s, b, u); } else dActC[i] = dOut[i];
        }
        keep("act_c", s, dActC);
        const which = rules.new_cell_state ? s + 1 : s, target = rules.new_cell_state ? adj.c : adj.c_prev;
        const g = new Float(B * H);
        for (let b = 0; b < B; b++) {
          activationBack(upd.act_c.activation)(run.c.subarray((which * B + b) * H, (which * B + b + 1) * H),
            run.c_act.subarray((s * B + b) * H, (s * B + b + 1) * H), dActC.subarray(b * H, (b + 1) * H),
            g.subarray(b * H, (b + 1) * H), H);
        }
        for (let k = 0; k < B * H; k++) target[k] = r(target[k] + g[k]);
        terms(s, "o", block(s, "o", adj.o, adj), adj);
        for (let k = 0; k < B * H; k++) dc[(s + 1) * B * H + k] = adj.c[k];
        if (run.active) {  // a row that kept its state: c_t is c_{t−1}, and what reaches it passes on
          for (let b = 0; b < B; b++) {
            if (!run.active[s * B + b]) for (let u = 0; u < H; u++) dc[((s + 1) * B + b) * H + u] = adj.c_prev[b * H + u];
          }
        }
        if (kinds.has("cell_clip")) {
          for (let k = 0; k < B * H; k++) if (!within(run.c_unclipped[s * B * H + k], cell_clip(cell, upd))) adj.c[k] = 0;
        }
        adj.i = new Float(B * H); adj.f = new Float(B * H); adj.g = new Float(B * H);
        for (let b = 0; b < B; b++) for (let u = 0; u < H; u++) {
          const k = b * H + u, d = adj.c[k];
          if (rules.forget_term) {
            adj.f[k] = d * run.c[(s * B + b) * H + u];
            adj.c_prev[k] = r(adj.c_prev[k] + r(d * gate("f", s, b, u)));
          }
          if (rules.input_gate) { adj.i[k] = d * gate("g", s, b, u); adj.g[k] = d * gate("i", s, b, u); } else adj.g[k] = d;
        }
        for (const name of ["f", "i", "g"]) terms(s, name, block(s, name, adj[name], adj), adj);
      } else if (gru) {
        adj.z = new Float(B * H); adj.n = new Float(B * H); adj.r = new Float(B * H);
        for (let b = 0; b < B; b++) for (let u = 0; u < H; u++) {
          const k = b * H + u, d = adj.h[k], z = gate("z", s, b, u), n = gate("n", s, b, u);
          const hp = run.h[(s * B + b) * H + u];
          const kept = rules.update_swapped ? r(1 - z) : z;
          adj.h_prev[k] = r(adj.h_prev[k] + r(d * kept));
          adj.n[k] = d * r(1 - kept);
          adj.z[k] = (rules.update_swapped ? -1 : 1) * d * r(hp - n);
        }
        terms(s, "n", block(s, "n", adj.n, adj), adj);
        for (const name of ["z", "r"]) terms(s, name, block(s, name, adj[name], adj), adj);
      } else {
        terms(s, "h", block(s, "h", adj.h, adj), adj);
      }
      // what leaves the step for the one before: dL/dh_{t−1} through U (not a GRU's n before its reset), c_{t−1}
      carryH = Float.from(adj.h_prev);
      for (let b = 0; b < B; b++) for (let j = 0; j < Hout; j++) {
        let g = 0;
        for (let col = 0; col < W; col++) {
          if (gru && !cell.reset_after && col >= blocks.n.k * H && col < (blocks.n.k + 1) * H) continue;
          g += dhu[(s * B + b) * W + col] * a.recurrent[j * W + col];
        }
        carryH[b * Hout + j] = r(carryH[b * Hout + j] + g);
      }
      if (dc) carryC = Float.from(adj.c_prev);
    }
    for (let k = 0; k < B * Hout; k++) dh[k] = dhOut[k] + carryH[k];
    if (dc) for (let k = 0; k < B * H; k++) dc[k] = dcOut[k] + carryC[k];
    const dx = new Float(T * B * F);
    for (let sb = 0; sb < T * B; sb++) for (let f = 0; f < F; f++) {
      let g = 0;
      for (let col = 0; col < W; col++) g += dpre[sb * W + col] * a.kernel[f * W + col];
      dx[sb * F + f] = g;
    }
    const back = { run, dh, dhOut, dc, dcOut, dact, dpre, dhu, dx, extra };
    back.grads = weightGrads(model, back, 0, T);
    back.adds = (s) => weightGrads(model, back, s, s + 1);
    return back;
  }

  const cell_clip = (cell, upd) => upd.cell_clip.bound;

  /** Each canonical weight's gradient over steps [s0, s1), summed over batch rows (as backward.py). */
  function weightGrads(model, back, s0, s1) {
    const { run, dpre, dhu, extra } = back;
    const { Float } = model;
    const { B, H, Hout, G, F, cell } = run;
    const W = G * H, a = cell.arrays;
    const nCols = cell.kind === "gru" && !cell.reset_after ? [cell.gates.indexOf("n") * H, (cell.gates.indexOf("n") + 1) * H] : null;
    const kernel = new Float(F * W), recurrent = new Float(Hout * W);
    const acc = (out, ins, width, deltas, col0, col1, stride) => {
      for (let s = s0; s < s1; s++) for (let b = 0; b < B; b++) {
        for (let k = 0; k < width; k++) {
          const v = ins(s, b, k);
          for (let col = col0; col < col1; col++) out[k * W + col] += v * deltas[(s * B + b) * stride + col];
        }
      }
    };
    acc(kernel, (s, b, k) => run.x[(s * B + b) * F + k], F, dpre, 0, W, W);
    if (nCols) {
      acc(recurrent, (s, b, k) => run.h[(s * B + b) * Hout + k], Hout, dhu, 0, nCols[0], W);
      acc(recurrent, (s, b, k) => run.gated[(s * B + b) * H + k], H, dhu, nCols[0], nCols[1], W);
      acc(recurrent, (s, b, k) => run.h[(s * B + b) * Hout + k], Hout, dhu, nCols[1], W, W);
    } else {
      acc(recurrent, (s, b, k) => run.h[(s * B + b) * Hout + k], Hout, dhu, 0, W, W);
    }
    const grads = { kernel, recurrent };
    const colSum = (deltas) => {
      const out = new Float(W);
      for (let s = s0; s < s1; s++) for (let b = 0; b < B; b++) for (let col = 0; col < W; col++) out[col] += deltas[(s * B + b) * W + col];
      return out;
    };
    if (a.bias) grads.bias = colSum(dpre);
    if (a.recurrent_bias) grads.recurrent_bias = colSum(dhu);
    if (a.peepholes) {
      const p = new Float(3 * H);
      ["i", "f", "o"].forEach((g, k) => {
        const col0 = cell.gates.indexOf(g) * H;
        for (let s = s0; s < s1; s++) for (let b = 0; b < B; b++) for (let u = 0; u < H; u++) {
          const c = run.c[((g === "o" ? s + 1 : s) * B + b) * H + u];
          p[k * H + u] += dpre[(s * B + b) * W + col0 + u] * c;
        }
      });
      grads.peepholes = p;
    }
    if (a.projection) {
      const P = new Float(H * Hout);
      for (let s = s0; s < s1; s++) for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) {
        const m = run.m[(s * B + b) * H + j];
        for (let u = 0; u < Hout; u++) P[j * Hout + u] += m * extra.p_in[(s * B + b) * Hout + u];
      }
      grads.projection = P;
    }
    return grads;
  }

  // ---------------------------------------------------------------- the whole layer

  /** (L, dL/d each returned output) for the block and what the layer returned (result.outputs). */
  function upstream(model, outputs) {
    const spec = model.data.backward;
    const grads = {};
    for (const [name, out] of Object.entries(outputs)) grads[name] = new Float64Array(out.values.length);
    let loss = 0;
    if (spec.upstream) {
      for (const [name, packed] of Object.entries(spec.upstream)) {
        const u = LstmEngine.decodeArray(packed);
        grads[name].set(u);
        for (let k = 0; k < u.length; k++) loss += u[k] * outputs[name].values[k];
      }
      return { loss, grads };
    }
    const y = outputs[spec.of].values, g = grads[spec.of];
    if (spec.loss === "sum") {
      g.fill(1);
      for (let k = 0; k < y.length; k++) loss += y[k];
      return { loss, grads };
    }
    const target = LstmEngine.decodeArray(spec.target);
    for (let k = 0; k < y.length; k++) {
      const d = y[k] - target[k];
      loss += d * d;
      g[k] = spec.loss === "half_squared_error" ? d : (2 * d) / y.length;
    }
    loss = spec.loss === "half_squared_error" ? loss / 2 : loss / y.length;
    return { loss, grads };
  }

  /** The whole backward pass of `result` (LstmEngine.run), or null where the scenario has no backward block. */
  function backward(model, result) {
    if (!model.data.backward) return null;
    const { loss, grads } = upstream(model, result.outputs);
    const pool = new Float64Array(1 + Object.entries(model.offsets).reduce((n, [id]) => n + stateOf(result, id).length, 0));
    const scatter = (codes, g) => { for (let k = 0; k < codes.length; k++) if (codes[k]) pool[codes[k]] += g[k]; };
    for (const [name, g] of Object.entries(grads)) {
      const m = model.merged[name];
      if (!m) { scatter(model.outputs[name].codes, g); continue; }
      const [gf, gb] = mergeBack(m.mode, ...result.outputs[name].parts, g, model.mergedShapes[name].at(-1));
      scatter(m.forward, gf);  // each direction's part gets its share of the merge's gradient
      scatter(m.backward, gb);
    }
    const outside = (l, d, which) => {
      const state = result.runs[l][d][which];
      const start = model.offsets[`${l}.${d}.${which}`];
      return model.Float.from(pool.subarray(start, start + state.length));
    };
    const layers = [];
    let above = null;
    for (let l = result.runs.length - 1; l >= 0; l--) {
      const runs = result.runs[l];
      let shares = null;  // dL/d each direction's outputs (B, T, H_out), input time: the merge undone
      if (above) {
        shares = runs.length === 1 ? [above.values]
          : mergeBack(LstmEngine.mergeMode(model, l), ...runs.map((run) => inputTimeOf(run)), above.values, runs[0].Hout);
      }
      const backs = runs.map((run, d) => {
        const dhOut = outside(l, d, "h");
        const dcOut = run.c ? outside(l, d, "c") : null;
        if (shares) {
          for (let s = 0; s < run.T; s++) for (let b = 0; b < run.B; b++) for (let u = 0; u < run.Hout; u++) {
            dhOut[((s + 1) * run.B + b) * run.Hout + u] += shares[d][(b * run.T + run.reads[s]) * run.Hout + u];
          }
        }
        return backRun(model, run, dhOut, dcOut);
      });
      layers.unshift(backs);
      above = inputTime(backs);
    }
    const fed = model.codes.inputs;  // 0 where the layer read a constant, not x (a Keras Masking layer's zero)
    if (fed) for (let k = 0; k < fed.length; k++) if (!fed[k]) above.values[k] = 0;
    return { loss, upstream: grads, runs: layers, inputs: above.values, ...named(model, layers, above.values) };
  }

  /** merge.py's merge_back: (dL/d forward part, dL/d backward part) from dL/d merged, parts (…, H). */
  function mergeBack(mode, f, b, g, H) {
    const gf = new Float64Array(f.length), gb = new Float64Array(b.length);
    for (let r = 0; r < f.length / H; r++) for (let u = 0; u < H; u++) {
      const k = r * H + u;
      if (mode === "concat") { gf[k] = g[r * 2 * H + u]; gb[k] = g[r * 2 * H + H + u]; }
      else if (mode === "sum") { gf[k] = g[k]; gb[k] = g[k]; }
      else if (mode === "mul") { gf[k] = g[k] * b[k]; gb[k] = g[k] * f[k]; }
      else { gf[k] = g[k] / 2; gb[k] = g[k] / 2; }
    }
    return [gf, gb];
  }

  /** A run's outputs (B, T, H_out) in input time. */
  function inputTimeOf(run) {
    const { B, T, Hout } = run, out = new Float64Array(B * T * Hout);
    for (let s = 0; s < T; s++) for (let b = 0; b < B; b++) for (let u = 0; u < Hout; u++) {
      out[(b * T + run.reads[s]) * Hout + u] = run.h[((s + 1) * B + b) * Hout + u];
    }
    return out;
  }

  const stateOf = (result, id) => { const [l, d, which] = id.split("."); return result.runs[+l][+d][which]; };

  /** Σ over directions of dL/dx in input time, (B, T, F). */
  function inputTime(backs) {
    const { B, T, F } = backs[0].run;
    const values = new Float64Array(B * T * F);
    for (const back of backs) {
      for (let s = 0; s < T; s++) for (let b = 0; b < B; b++) for (let f = 0; f < F; f++) {
        values[(b * T + back.run.reads[s]) * F + f] += back.dx[(s * B + b) * F + f];
      }
    }
    return { values, width: F };
  }

  /** Canonical gradients summed back onto the scenario's own arrays, by the codes that brought them in. */
  function named(model, layers, inputs) {
    const total = model.sources.reduce((n, s) => n + s.shape.reduce((p, k) => p * k, 1), 1);
    const pool = new Float64Array(total);
    const canonical = { inputs };
    layers.forEach((backs, l) => backs.forEach((back, d) => {
      for (const [name, g] of Object.entries(back.grads)) canonical[`${l}.${d}.${name}`] = g;
      canonical[`${l}.${d}.h0`] = back.dh.subarray(0, back.run.B * back.run.Hout);
      if (back.dc) canonical[`${l}.${d}.c0`] = back.dc.subarray(0, back.run.B * back.run.H);
    }));
    for (const [id, codes] of Object.entries(model.codes)) {
      const g = canonical[id];
      if (!g) continue;
      for (let k = 0; k < codes.length; k++) if (codes[k]) pool[codes[k]] += g[k];
    }
    const weights = {}, initial_state = {};
    const stateNames = new Set(model.data.initial_state_names || []);
    for (const source of model.sources) {
      if (source.name === "inputs") continue;
      const size = source.shape.reduce((p, k) => p * k, 1);
      (stateNames.has(source.name) ? initial_state : weights)[source.name] = pool.slice(source.offset, source.offset + size);
    }
    return { weights, initial_state };
  }

  return { backward, activationBack };
})();

if (typeof module !== "undefined") module.exports = LstmBackward;
