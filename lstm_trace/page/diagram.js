/* The cell drawn for one unit at the shown step (LSTM, GRU or simple RNN), with its numbers:
 * every number in it is a number element like the tables' (data-q, data-b, data-u, data-v).
 */
"use strict";

function LstmDiagram(ctx) {
  const { S, fmt } = ctx;
  const { sub, shortest, num, esc } = fmt;
  const { run, spec, op, update, at, quantity, active, gateMark } = ctx;
  const { cellAttrs, xName, skipReason, actLabel } = ctx;

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

  return { render: viewDiagram };
}
