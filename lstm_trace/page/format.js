/* How the page writes numbers: as the terminal prints them (render/numbers.py), and exactly for tests.
 *
 * `num` is what a reader sees: integers exactly, others with 4 digits after the point, or with
 * `digits() === "auto"` the fewest digits that read back to the value in the scenario's dtype.
 * `shortest` is that exact text, which every number element also carries (data-v) and the
 * address uses for edits.
 */
"use strict";

/** The number formats of one dtype; `digits()` says the precision the reader picked (4 or "auto"). */
function LstmFormat(dtype, digits) {
  const F32 = dtype === "float32";
  const SUBS = "₀₁₂₃₄₅₆₇₈₉";

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
    const p = digits();
    if (p === "auto") return shortest(v);
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

  return { sub, shortest, num, factor, signedSum, esc, idx };
}
