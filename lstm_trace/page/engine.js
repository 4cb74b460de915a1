/* lstm-trace: the page's engine. The canonical LSTM, GRU and simple-RNN cells of
 * lstm_trace/engine.py, stepped over time in the same order of operations, driven by the
 * operations each run recorded (the terms each gate block sums, the operations after the
 * sum, the state update's operations) as page_data() carries them. Storage is in the
 * scenario's dtype (Float32Array rounds every stored result to float32, as numpy does),
 * so the page's numbers are the Python engine's numbers to float precision.
 */
"use strict";

const LstmEngine = (() => {
  const SELU_ALPHA = 1.6732632423543772;
  const SELU_SCALE = 1.0507009873554805;

  /** erf by its Taylor series: accurate to float64 where |x| ≤ 1.5. */
  function erfSeries(x) {
    let term = x, sum = x, k = 0;
    const x2 = x * x;
    while (Math.abs(term) > 1e-17 * Math.abs(sum) && k < 200) {
      k += 1;
      term *= -x2 / k;
      sum += term / (2 * k + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }

  /** erfc(x) for x > 1.5 by its continued fraction (Lentz), which needs under 100 terms there. */
  function erfcFraction(x) {
    const tiny = 1e-300;
    let f = x, C = x, D = 0;
    for (let k = 1; k < 400; k++) {
      const a = k / 2;
      D = x + a * D; D = D === 0 ? tiny : D; D = 1 / D;
      C = x + a / C; C = C === 0 ? tiny : C;
      const delta = C * D;
      f *= delta;
      if (Math.abs(delta - 1) < 1e-16) break;
    }
    return Math.exp(-x * x) / (f * Math.sqrt(Math.PI));
  }

  /** 1 − erf(x) without the cancellation that 1 − erf(x) suffers in the tails (gelu needs the left one). */
  function erfc(x) {
    if (Math.abs(x) <= 1.5) return 1 - erfSeries(x);
    return x > 0 ? erfcFraction(x) : 2 - erfcFraction(-x);
  }

  const softplus = (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
  const sigmoid = (x) => 1 / (1 + Math.exp(-x));
  const clip = (v, lo, hi) => (v < lo ? lo : v > hi ? hi : v);

  // name -> (params) -> elementwise function; the same table as lstm_trace/activations.py
  const ACTIVATIONS = {
    linear: () => (x) => x,
    tanh: () => Math.tanh,
    sigmoid: () => sigmoid,
    relu: () => (x) => (x > 0 ? x : 0),
    relu6: () => (x) => clip(x, 0, 6),
    hard_sigmoid: ([a, b]) => (a === 1 / 6 ? (x) => clip(x / 6 + 0.5, 0, 1) : (x) => clip(a * x + b, 0, 1)),
    affine: ([a, b]) => (x) => a * x + b,
    scaled_tanh: ([a, b]) => (x) => a * Math.tanh(b * x),
    leaky_relu: ([a]) => (x) => (x >= 0 ? x : a * x),
    thresholded_relu: ([a]) => (x) => (x > a ? x : 0),
    elu: ([a]) => (x) => (x > 0 ? x : a * Math.expm1(Math.min(x, 0))),
    celu: () => (x) => (x > 0 ? x : Math.expm1(Math.min(x, 0))),
    selu: () => (x) => SELU_SCALE * (x > 0 ? x : SELU_ALPHA * Math.expm1(Math.min(x, 0))),
    softplus: () => softplus,
    softsign: () => (x) => x / (1 + Math.abs(x)),
    exponential: () => Math.exp,
    silu: () => (x) => x * sigmoid(x),
    gelu: () => (x) => 0.5 * x * erfc(-x / Math.SQRT2),
    mish: () => (x) => x * Math.tanh(softplus(x)),
    log_sigmoid: () => (x) => -softplus(-x),
    hard_silu: () => (x) => x * clip(x / 6 + 0.5, 0, 1),
    hard_tanh: () => (x) => clip(x, -1, 1),
    tanh_shrink: () => (x) => x - Math.tanh(x),
    squareplus: () => (x) => (x + Math.sqrt(x * x + 4)) / 2,
    soft_shrink: () => (x) => Math.sign(x) * Math.max(Math.abs(x) - 0.5, 0),
    hard_shrink: () => (x) => (Math.abs(x) > 0.5 ? x : 0),
    sparse_plus: () => (x) => (x <= -1 ? 0 : x >= 1 ? x : ((x + 1) * (x + 1)) / 4),
    sparse_sigmoid: () => (x) => clip((x + 1) / 2, 0, 1),
  };

  /** An activation as a function over `n` values of `src` from `i0`, into `dst` from `j0`. */
  function activation(spec) {
    if (spec.name === "softmax") {
      return (src, i0, dst, j0, n) => {
        let max = -Infinity;
        for (let k = 0; k < n; k++) max = Math.max(max, src[i0 + k]);
        const e = new Float64Array(n);
        let sum = 0;
        for (let k = 0; k < n; k++) { e[k] = Math.exp(src[i0 + k] - max); sum += e[k]; }
        for (let k = 0; k < n; k++) dst[j0 + k] = e[k] / sum;
      };
    }
    const make = ACTIVATIONS[spec.name];
    if (!make) throw new Error(`the page cannot compute the activation ${spec.name}`);
    const fn = make(spec.params || []);
    return (src, i0, dst, j0, n) => {
      for (let k = 0; k < n; k++) dst[j0 + k] = fn(src[i0 + k]);
    };
  }

  function decodeArray(packed) {
    const bytes = Uint8Array.from(atob(packed.data), (ch) => ch.charCodeAt(0));
    const Type = { float32: Float32Array, float64: Float64Array, int32: Int32Array }[packed.dtype];
    if (!Type) throw new Error(`unknown dtype ${packed.dtype}`);
    return new Type(bytes.buffer, 0, bytes.length / Type.BYTES_PER_ELEMENT);
  }

  /** A code array: packed, or affine pieces of the last axis (code = first + Σ index·stride). */
  function decodeCodes(entry) {
    if (entry.data !== undefined) return decodeArray(entry);
    const shape = entry.shape, nd = shape.length;
    const size = shape.reduce((p, n) => p * n, 1), n = shape[nd - 1] || 1;
    const out = new Int32Array(size);
    const lead = new Array(Math.max(nd - 1, 0)).fill(0);
    for (let row = 0; row < size / n; row++) {
      let rest = row;
      for (let a = nd - 2; a >= 0; a--) { lead[a] = rest % shape[a]; rest = Math.floor(rest / shape[a]); }
      for (const piece of entry.pieces) {
        let base = piece.first;
        for (let a = 0; a < nd - 1; a++) base += lead[a] * piece.strides[a];
        const step = piece.strides[nd - 1];
        for (let j = piece.start; j < piece.stop; j++) out[row * n + j] = base + (j - piece.start) * step;
      }
    }
    return out;
  }

  function decode(data) {
    const Float = data.dtype === "float32" ? Float32Array : Float64Array;
    const net = data.network;
    const layers = net.layers.map((cells) =>
      cells.map((spec) => {
        const arrays = {};
        for (const [name, packed] of Object.entries(spec.arrays)) arrays[name] = decodeArray(packed);
        return { ...spec, arrays };
      }),
    );
    const state = {};
    for (const [name, packed] of Object.entries(net.state)) state[name] = decodeArray(packed);
    const inputs = decodeArray(net.inputs);
    const [B, T, F] = net.inputs.shape;
    const codes = {};
    for (const [ident, entry] of Object.entries(data.codes || {})) codes[ident] = decodeCodes(entry);
    const merged = {}, mergedShapes = {};
    for (const [name, entry] of Object.entries(data.outputs.merged || {})) {
      merged[name] = { mode: entry.mode, forward: decodeCodes(entry.forward), backward: decodeCodes(entry.backward) };
      mergedShapes[name] = entry.forward.shape;
    }
    const outputs = {};
    for (const [name, packed] of Object.entries(data.outputs.codes)) {
      outputs[name] = { shape: packed.shape, codes: decodeCodes(packed) };
    }
    return {
      data, Float, layers, state, inputs, B, T, F, codes, outputs,
      offsets: data.outputs.offsets, backwards: net.backwards, lengths: net.lengths, mask: net.mask || null,
      merges: net.merges || [],
      merged, mergedShapes,
      sources: data.sources || [], noEdit: data.no_edit,
    };
  }

  /** The canonical array an id names ("inputs", "0.1.kernel", "0.0.h0"). */
  function arrayOf(model, ident) {
    if (ident === "inputs") return model.inputs;
    const [l, d, name] = ident.split(".");
    if (name === "h0" || name === "c0") return model.state[ident];
    return model.layers[+l][+d].arrays[name];
  }

  // ---------------------------------------------------------------- the forward pass

  /** Each gate block's constant terms summed in order (b, b_rec, forget_bias), as the Python engine adds them. */
  function summedBias(cell, Float) {
    const H = cell.units, G = cell.gates.length, out = new Float(G * H);
    const a = cell.arrays;
    cell.blocks.forEach((block, k) => {
      for (const key of block.terms) {
        const vec = key === "b" ? a.bias : key === "b_rec" ? a.recurrent_bias : key === "forget_bias" ? a.runtime_bias : null;
        if (!vec) continue;
        for (let u = 0; u < H; u++) out[k * H + u] += vec[k * H + u];
      }
    });
    return out;
  }

  /** out[r, :] = a[r, :] · m for r < rows; a row stride `sa`, m (K, N). Sums in float64, stored in out's dtype. */
  function matmul(a, a0, sa, rows, K, m, N, out, o0, so, cols0 = 0, cols1 = N) {
    const acc = new Float64Array(cols1 - cols0);
    for (let r = 0; r < rows; r++) {
      acc.fill(0);
      for (let k = 0; k < K; k++) {
        const v = a[a0 + r * sa + k];
        const row = k * N;
        for (let j = cols0; j < cols1; j++) acc[j - cols0] += v * m[row + j];
      }
      for (let j = cols0; j < cols1; j++) out[o0 + r * so + j] = acc[j - cols0];
    }
  }

  function runCell(model, cell, seq, F, h0, c0, backwards, layer, direction) {
    const { Float, B, T } = model;
    const H = cell.units, Hout = cell.output_size, G = cell.gates.length, W = G * H;
    const a = cell.arrays;
    const reads = new Int32Array(T);
    for (let s = 0; s < T; s++) reads[s] = backwards ? T - 1 - s : s;
    const x = new Float(T * B * F);
    for (let s = 0; s < T; s++)
      for (let b = 0; b < B; b++)
        for (let k = 0; k < F; k++) x[(s * B + b) * F + k] = seq[(b * T + reads[s]) * F + k];
    const xw = new Float(T * B * W), hu = new Float(T * B * W), pre = new Float(T * B * W), act = new Float(T * B * W);
    const h = new Float((T + 1) * B * Hout);
    h.set(h0);
    matmul(x, 0, F, T * B, F, a.kernel, W, xw, 0, W);
    const bias = summedBias(cell, Float);
    const blockOps = cell.blocks.map((block) => {
      const clipOp = block.ops.find((op) => op.kind === "clip");
      const actOp = block.ops.find((op) => op.kind === "act");
      return {
        bound: clipOp ? clipOp.bound : null,
        fn: actOp ? activation(actOp.activation) : null,
        coupled: block.ops.some((op) => op.kind === "one_minus"),
      };
    });
    const preClip = blockOps.some((op) => op.bound !== null);
    const pre_clipped = preClip ? new Float(T * B * W) : null;
    let active = null;
    if (model.lengths || model.mask) {  // a row keeps its state past its length, or where the mask says so
      active = new Uint8Array(T * B);
      for (let s = 0; s < T; s++) for (let b = 0; b < B; b++) {
        const long = !model.lengths || reads[s] < model.lengths[b];
        active[s * B + b] = long && (!model.mask || model.mask[b][reads[s]]) ? 1 : 0;
      }
    }
    const run = { layer, direction, cell, T, B, F, H, Hout, G, reads, x, xw, hu, pre, act, h, active, pre_clipped,
      c: null, c_act: null, gated: null, peep: null, m: null, c_unclipped: null, p_unclipped: null };

    /** Apply block k's clip and activation to row (s, b): pre → (pre_clipped) → act. */
    function activate(k, s, b) {
      const at = (s * B + b) * W + k * H;
      const op = blockOps[k];
      let src = pre;
      if (op.bound !== null) {
        for (let u = 0; u < H; u++) pre_clipped[at + u] = clip(pre[at + u], -op.bound, op.bound);
        src = pre_clipped;
      }
      if (op.coupled) {
        const i0 = (s * B + b) * W; // f = 1 − i
        for (let u = 0; u < H; u++) act[at + u] = 1 - act[i0 + u];
      } else {
        op.fn(src, at, act, at, H);
      }
    }

    const updates = Object.fromEntries(cell.updates.map((op) => [op.kind, op]));
    if (cell.kind === "lstm") lstmLoop(model, cell, run, bias, activate, updates, c0);
    else if (cell.kind === "gru") gruLoop(model, cell, run, bias, activate);
    else rnnLoop(model, cell, run, bias, activate);
    return finish(run);
  }

  function hold(run, s) {
    // a row past its length keeps its state: the step was not taken for it
    if (!run.active) return;
    const { B, Hout, H } = run;
    for (let b = 0; b < B; b++) {
      if (run.active[s * B + b]) continue;
      for (let u = 0; u < Hout; u++) run.h[((s + 1) * B + b) * Hout + u] = run.h[(s * B + b) * Hout + u];
      if (run.c) for (let u = 0; u < H; u++) run.c[((s + 1) * B + b) * H + u] = run.c[(s * B + b) * H + u];
    }
  }

  function lstmLoop(model, cell, run, bias, activate, updates, c0) {
    const { Float } = model;
    const { T, B, H, Hout, xw, hu, pre, act, h } = run;
    const W = 4 * H, a = cell.arrays, rules = cell.rules;
    const c = (run.c = new Float((T + 1) * B * H));
    if (c0) c.set(c0);
    const c_act = (run.c_act = new Float(T * B * H));
    const peep = a.peepholes ? (run.peep = new Float(T * B * 3 * H)) : null;
    const m = a.projection ? (run.m = new Float(T * B * H)) : null;
    const cellClip = updates.cell_clip ? updates.cell_clip.bound : null;
    const unclipped = cellClip !== null ? (run.c_unclipped = new Float(T * B * H)) : null;
    const outer = activation(updates.act_c.activation);
    const projClip = updates.proj_clip ? updates.proj_clip.bound : null;
    const tmp = new Float(1);
    const r = (v) => { tmp[0] = v; return tmp[0]; }; // one stored result, rounded to the dtype
    for (let s = 0; s < T; s++) {
      matmul(h, s * B * Hout, Hout, B, Hout, a.recurrent, W, hu, s * B * W, W);
      for (let b = 0; b < B; b++) {
        const row = (s * B + b) * W, cp = (s * B + b) * H, cn = ((s + 1) * B + b) * H;
        for (let j = 0; j < W; j++) pre[row + j] = r(xw[row + j] + hu[row + j]) + bias[j];
        if (peep) {
          const pr = (s * B + b) * 3 * H;
          for (let u = 0; u < H; u++) {
            peep[pr + u] = a.peepholes[u] * c[cp + u];
            peep[pr + H + u] = a.peepholes[H + u] * c[cp + u];
            pre[row + u] += peep[pr + u];
            pre[row + H + u] += peep[pr + H + u];
          }
        }
        activate(0, s, b);
        activate(1, s, b);
        activate(2, s, b);
        for (let u = 0; u < H; u++) {
          const i = act[row + u], f = act[row + H + u], g = act[row + 2 * H + u];
          let v = rules.forget_term ? r(f * c[cp + u]) : 0;
          v = r(v + (rules.input_gate ? r(i * g) : g));
          if (unclipped) { unclipped[cp + u] = v; v = clip(v, -cellClip, cellClip); }
          c[cn + u] = v;
        }
        if (peep) {
          const pr = (s * B + b) * 3 * H;
          for (let u = 0; u < H; u++) {
            peep[pr + 2 * H + u] = a.peepholes[2 * H + u] * c[cn + u];
            pre[row + 3 * H + u] += peep[pr + 2 * H + u];
          }
        }
        activate(3, s, b);
        outer(c, rules.new_cell_state ? cn : cp, c_act, cp, H);
        const out = m || h, o0 = m ? cp : ((s + 1) * B + b) * Hout;
        for (let u = 0; u < H; u++) out[o0 + u] = rules.output_gate ? act[row + 3 * H + u] * c_act[cp + u] : c_act[cp + u];
      }
      if (m) {
        const P = a.projection;
        matmul(m, s * B * H, H, B, H, P, Hout, h, (s + 1) * B * Hout, Hout);
        if (projClip !== null) {
          const p = run.p_unclipped || (run.p_unclipped = new Float(T * B * Hout));
          for (let k = 0; k < B * Hout; k++) {
            p[s * B * Hout + k] = h[(s + 1) * B * Hout + k];
            h[(s + 1) * B * Hout + k] = clip(h[(s + 1) * B * Hout + k], -projClip, projClip);
          }
        }
      }
      hold(run, s);
    }
  }

  function gruLoop(model, cell, run, bias, activate) {
    const { Float } = model;
    const { T, B, H, xw, hu, pre, act, h } = run;
    const W = 3 * H, a = cell.arrays, rb = a.recurrent_bias;
    const gated = (run.gated = new Float(T * B * H));
    const tmp = new Float(1);
    const r = (v) => { tmp[0] = v; return tmp[0]; };
    const hr = new Float(B * H);
    for (let s = 0; s < T; s++) {
      if (cell.reset_after) matmul(h, s * B * H, H, B, H, a.recurrent, W, hu, s * B * W, W);
      else matmul(h, s * B * H, H, B, H, a.recurrent, W, hu, s * B * W, W, 0, 2 * H);
      for (let b = 0; b < B; b++) {
        const row = (s * B + b) * W;
        for (let j = 0; j < 2 * H; j++) pre[row + j] = r(xw[row + j] + hu[row + j]) + bias[j];
        activate(0, s, b);
        activate(1, s, b);
        if (cell.reset_after) {
          for (let u = 0; u < H; u++) {
            const inner = rb ? r(hu[row + 2 * H + u] + rb[2 * H + u]) : hu[row + 2 * H + u];
            gated[(s * B + b) * H + u] = act[row + H + u] * inner;
            pre[row + 2 * H + u] = r(xw[row + 2 * H + u] + bias[2 * H + u]) + gated[(s * B + b) * H + u];
          }
        } else {
          for (let u = 0; u < H; u++) {
            gated[(s * B + b) * H + u] = act[row + H + u] * h[(s * B + b) * H + u];
            hr[b * H + u] = gated[(s * B + b) * H + u];
          }
        }
      }
      if (!cell.reset_after) {
        matmul(hr, 0, H, B, H, a.recurrent, W, hu, s * B * W, W, 2 * H, W);
        for (let b = 0; b < B; b++) {
          const row = (s * B + b) * W;
          for (let u = 0; u < H; u++) pre[row + 2 * H + u] = r(xw[row + 2 * H + u] + hu[row + 2 * H + u]) + bias[2 * H + u];
        }
      }
      for (let b = 0; b < B; b++) {
        const row = (s * B + b) * W;
        activate(2, s, b);
        for (let u = 0; u < H; u++) {
          const z = act[row + u], n = act[row + 2 * H + u], prev = h[(s * B + b) * H + u];
          const [keep, take] = cell.rules.update_swapped ? [r(1 - z), z] : [z, r(1 - z)];
          h[((s + 1) * B + b) * H + u] = r(keep * prev) + r(take * n);
        }
      }
      hold(run, s);
    }
  }

  function rnnLoop(model, cell, run, bias, activate) {
    const { T, B, H, xw, hu, pre, act, h } = run;
    const tmp = new model.Float(1);
    const r = (v) => { tmp[0] = v; return tmp[0]; };
    for (let s = 0; s < T; s++) {
      matmul(h, s * B * H, H, B, H, cell.arrays.recurrent, H, hu, s * B * H, H);
      for (let b = 0; b < B; b++) {
        const row = (s * B + b) * H;
        for (let u = 0; u < H; u++) pre[row + u] = r(xw[row + u] + hu[row + u]) + bias[u];
        activate(0, s, b);
        for (let u = 0; u < H; u++) h[((s + 1) * B + b) * H + u] = act[row + u];
      }
      hold(run, s);
    }
  }

  /** The accessors every view reads: quantity, term, clipped. */
  function finish(run) {
    const { B, H, Hout, G, F, cell } = run;
    const W = G * H;
    const gateIndex = Object.fromEntries(cell.gates.map((g, k) => [g, k]));
    const bias = { b: cell.arrays.bias, b_rec: cell.arrays.recurrent_bias, forget_bias: cell.arrays.runtime_bias };
    run.quantity = (name, s, b, u) => {
      if (name === "x") return run.x[(s * B + b) * F + u];
      if (name === "h" || name === "h_prev") return run.h[((s + (name === "h" ? 1 : 0)) * B + b) * Hout + u];
      if (name === "c" || name === "c_prev") return run.c[((s + (name === "c" ? 1 : 0)) * B + b) * H + u];
      if (name === "act_c") return run.c_act[(s * B + b) * H + u];
      if (name.startsWith("pre_")) return run.pre[(s * B + b) * W + gateIndex[name.slice(4)] * H + u];
      if (name in gateIndex) return run.act[(s * B + b) * W + gateIndex[name] * H + u];
      throw new Error(`no quantity ${name}`);
    };
    run.term = (gate, key, s, b, u) => {
      const col = gateIndex[gate] * H + u;
      if (key === "xW") return run.xw[(s * B + b) * W + col];
      if (key === "hU") return run.hu[(s * B + b) * W + col];
      if (key in bias) return bias[key][col];
      if (key === "peephole") return run.peep[(s * B + b) * 3 * H + "ifo".indexOf(gate) * H + u];
      if (key === "reset") return run.gated[(s * B + b) * H + u];
      throw new Error(`no term ${key}`);
    };
    run.clipped = (gate, s, b, u) =>
      run.pre_clipped ? run.pre_clipped[(s * B + b) * W + gateIndex[gate] * H + u] : null;
    return run;
  }

  /** A run's outputs, (B, T, H_out) in input time. */
  function inputTime(run, B, T) {
    const out = new run.h.constructor(B * T * run.Hout);
    for (let s = 0; s < T; s++)
      for (let b = 0; b < B; b++)
        for (let u = 0; u < run.Hout; u++)
          out[(b * T + run.reads[s]) * run.Hout + u] = run.h[((s + 1) * B + b) * run.Hout + u];
    return out;
  }

  /** merge.py's merge of two directions' (…, H) values, both in input time: [f, b], f + b, f ⊙ b, (f + b)/2. */
  function merge(mode, f, b, H, Type) {
    const rows = f.length / H;
    if (mode === "concat") {
      const out = new Type(rows * 2 * H);
      for (let r = 0; r < rows; r++) for (let u = 0; u < H; u++) {
        out[r * 2 * H + u] = f[r * H + u];
        out[r * 2 * H + H + u] = b[r * H + u];
      }
      return out;
    }
    const out = new Type(f.length);
    for (let k = 0; k < f.length; k++) {
      out[k] = mode === "sum" ? f[k] + b[k] : mode === "mul" ? f[k] * b[k] : (f[k] + b[k]) / 2;
    }
    return out;
  }

  /** What the next layer reads: the layer's outputs in input time, its directions merged. */
  function layerOutput(runs, B, T, mode) {
    const outs = runs.map((run) => inputTime(run, B, T));
    if (outs.length === 1) return [outs[0], runs[0].Hout];
    const seq = merge(mode, outs[0], outs[1], runs[0].Hout, runs[0].h.constructor);
    return [seq, mode === "concat" ? 2 * runs[0].Hout : runs[0].Hout];
  }

  function run(model) {
    const runs = [];
    let seq = model.inputs, F = model.F;
    model.layers.forEach((cells, l) => {
      const layerRuns = cells.map((cell, d) =>
        runCell(model, cell, seq, F, model.state[`${l}.${d}.h0`], model.state[`${l}.${d}.c0`] || null,
          model.backwards[d], l + 1, model.backwards[d] ? "reverse" : "forward"),
      );
      runs.push(layerRuns);
      if (l + 1 < model.layers.length) [seq, F] = layerOutput(layerRuns, model.B, model.T, mergeMode(model, l));
    });
    return { runs, outputs: outputs(model, runs) };
  }

  /** What the framework returns: each number is a code into the runs' h and c, as page_data mapped them. */
  const mergeMode = (model, l) => (model.merges.length ? model.merges[l] : "concat");

  /** What the framework returns: each number is a code into the runs' h and c, as page_data mapped them; an
   * output merged from two directions is the merge of two such arrangements. */
  function outputs(model, runs) {
    const pool = [];
    for (const [ident, offset] of Object.entries(model.offsets)) {
      const [l, d, which] = ident.split(".");
      pool.push([offset, runs[+l][+d][which]]);
    }
    pool.sort((p, q) => p[0] - q[0]);
    const lookup = (code) => {
      if (code === 0) return 0;
      for (let k = pool.length - 1; k >= 0; k--) if (code >= pool[k][0]) return pool[k][1][code - pool[k][0]];
      return 0;
    };
    const gather = (codes) => Float64Array.from(codes, lookup);
    const out = {};
    for (const [name, { shape, codes }] of Object.entries(model.outputs)) out[name] = { shape, values: gather(codes) };
    for (const [name, { mode, forward, backward }] of Object.entries(model.merged)) {
      const f = gather(forward), b = gather(backward), H = model.mergedShapes[name].at(-1);
      const values = merge(mode, f, b, H, Float64Array);
      const shape = model.mergedShapes[name].slice(0, -1).concat(mode === "concat" ? 2 * H : H);
      out[name] = { shape, values, parts: [f, b] };
    }
    return out;
  }

  // ---------------------------------------------------------------- edits

  function flatIndex(source, index) {
    const shape = source.shape;
    const idx = Array.isArray(index) ? index : [index];
    if (idx.length !== shape.length) {
      throw new Error(`${source.name} has shape (${shape.join(", ")}): give ${shape.length} indices, not ${idx.length}`);
    }
    let flat = 0;
    idx.forEach((i, k) => {
      let v = Number(i);
      if (!Number.isInteger(v)) throw new Error(`index ${i} of ${source.name} is not an integer`);
      if (v < 0) v += shape[k];
      if (v < 0 || v >= shape[k]) throw new Error(`index ${i} is out of range for axis ${k} of ${source.name} (size ${shape[k]})`);
      flat = flat * shape[k] + v;
    });
    return flat;
  }

  function findSource(model, name) {
    const source = model.sources.find((s) => s.name === name);
    if (!source) {
      const names = model.sources.map((s) => s.name).join(", ");
      throw new Error(`no array named ${name}; the scenario's arrays are ${names}`);
    }
    return source;
  }

  /** Every canonical element holding one scenario number: [[ident, flat], ...]. */
  function places(model, code) {
    const found = [];
    for (const [ident, codes] of Object.entries(model.codes)) {
      for (let k = 0; k < codes.length; k++) if (codes[k] === code) found.push([ident, k]);
    }
    return found;
  }

  function edit(model, name, index, value) {
    if (model.noEdit) throw new Error(`editing is off for this scenario: ${model.noEdit}`);
    const source = findSource(model, name);
    const v = Number(value);
    if (typeof value === "boolean" || value === null || value === "" || !Number.isFinite(v)) {
      throw new Error(`${JSON.stringify(value)} is not a finite number`);
    }
    const code = source.offset + flatIndex(source, index);
    for (const [ident, flat] of places(model, code)) arrayOf(model, ident)[flat] = v;
  }

  function value(model, name, index) {
    const source = findSource(model, name);
    const hit = places(model, source.offset + flatIndex(source, index))[0];
    return hit ? arrayOf(model, hit[0])[hit[1]] : null;
  }

  function sourceOf(model, ident, flat) {
    const codes = model.codes[ident];
    const code = codes ? codes[flat] : 0;
    if (!code) return null;
    const source = model.sources.find((s) => code >= s.offset && code < s.offset + s.shape.reduce((p, n) => p * n, 1));
    if (!source) return null;
    let rest = code - source.offset;
    const index = new Array(source.shape.length);
    for (let k = source.shape.length - 1; k >= 0; k--) {
      index[k] = rest % source.shape[k];
      rest = Math.floor(rest / source.shape[k]);
    }
    return { name: source.name, index };
  }

  const sources = (model) => model.sources.map((s) => ({ name: s.name, shape: s.shape.slice() }));

  /** Φ(x), the standard normal's distribution function (gelu's derivative needs it). */
  const normalCdf = (x) => 0.5 * erfc(-x / Math.SQRT2);

  return { decode, decodeArray, run, edit, value, sourceOf, sources, activation, normalCdf, merge, mergeMode };
})();

if (typeof module !== "undefined") module.exports = LstmEngine;
