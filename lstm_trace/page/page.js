/* The interactive page: its state, the address, edits, the keyboard, and window.lstmTrace.
 *
 * Every number comes from LstmEngine (engine.js), which runs the layer from the
 * weights, the inputs and the layer's operations carried in the page's data, and,
 * where the scenario has a backward block, from LstmBackward (backward.js), run once
 * after every forward run; the views (views.js, diagram.js; backviews.js for the
 * backward pass) lay out the shown step only and the explanations (explain.js,
 * backexplain.js) say how each number was made, reading the records. The state
 * lives in `S` and in the address
 * (#pass=backward&t=3&b=1&u=2&l=1&d=1&e=kernel[0,3]=0.5;inputs[0,1,0]=2), so a link
 * restores it. The views are keyed by pass (`forward`, `backward`): only the shown
 * pass's sections hold numbers.
 */
(function () {
  "use strict";

  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const DATA = JSON.parse($("#lstm-trace-data").textContent);
  const ctx = LstmContext(DATA);
  const { S, fmt } = ctx;
  const { sub, shortest, esc, idx } = fmt;
  const { runs, run, spec, steps, keyOf, sourceOf } = ctx;
  const views = LstmViews(ctx);
  const diagram = LstmDiagram(ctx);
  const { explain } = LstmExplain(ctx);
  const backViews = DATA.backward ? LstmBackViews(ctx) : null;
  const backExplain = backViews ? LstmBackExplain(ctx, backViews.lossText).explain : null;
  const DARK = window.matchMedia("(prefers-color-scheme: dark)");  // "system" follows it, also when it changes
  const originals = new Map(); // "name|i,j" → the scenario's own value, for undoing an edit

  // ---- the tooltip and the highlight -----------------------------------------------------------
  const tip = $("#tip");
  let tipFor = null;

  function showTip(el) {
    hideTip();
    let what;
    try {
      what = (backExplain && backExplain(el)) || explain(el);
    } catch (err) {
      console.error(err); // a number the page cannot explain is a defect: say so where tests look
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
    const left = Math.min(Math.max(8, box.left + box.width / 2 - w / 2), window.innerWidth - w - 8);
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
        { key: "diagram", title: "The cell", render: diagram.render, cls: "half tall" },
        { key: "given", title: "What the step starts from", render: views.given, cls: "half" },
        { key: "update", title: "The state update", render: views.update, cls: "half" },
        { key: "step", title: "The gate blocks", render: views.step },
        { key: "weights", title: "The weights", render: views.weights, lazy: true, still: true },
        { key: "returns", title: "What the layer returns", render: views.returns, still: true },
      ],
    },
  };
  if (backViews) {
    PASSES.backward = {
      label: "backward pass",
      views: [
        { key: "back-head", title: "The backward pass", render: backViews.head },
        { key: "back-gates", title: "δ of the gate blocks", render: backViews.gates },
        { key: "back-state", title: "δ of the state", render: backViews.state, cls: "half" },
        { key: "back-adds", title: "What the step adds to the gradients", render: backViews.adds, lazy: true, cls: "half" },
        { key: "back-totals", title: "The gradients", render: backViews.totals, lazy: true, still: true },
      ],
    };
  }

  /** The forward run, and the backward pass through it where the scenario has a backward block: once per edit. */
  function compute() {
    ctx.result = LstmEngine.run(ctx.model);
    ctx.back = backViews ? LstmBackward.backward(ctx.model, ctx.result) : null;
  }

  function buildSections() {
    const main = $("#main");
    for (const [pass, def] of Object.entries(PASSES)) {
      const wrap = document.createElement("div");
      wrap.className = "pass";
      wrap.dataset.pass = pass;
      wrap.hidden = true;
      for (const view of def.views) {
        const section = document.createElement("section");
        section.className = `view ${view.cls || ""}`;
        section.id = view.key;
        section.dataset.view = view.key;
        section.setAttribute("aria-labelledby", `${view.key}-h`);
        const big = view.lazy && weightCount() > 6000;
        if (view.lazy) {
          section.innerHTML = `<details${big ? "" : " open"}><summary><h2 id="${view.key}-h">${esc(view.title)}</h2>${big ? ` <span class="hint">(${weightCount()} numbers: open to show and edit them)</span>` : ""}</summary><div class="body"></div></details>`;
          $("details", section).addEventListener("toggle", () => pass === shownPass && renderView(view, section));
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

  let shownPass = null; // the pass whose sections hold numbers; the other's are empty

  /** Draws what changed: `all` after an edit or a change of run or pass, otherwise only the step's views. */
  function render(all) {
    const focused = document.activeElement && document.activeElement.classList.contains("n") ? identity(document.activeElement) : null;
    hideTip();
    if (shownPass !== S.pass) {
      for (const wrap of $$("#main .pass")) {
        wrap.hidden = wrap.dataset.pass !== S.pass;
        if (wrap.hidden) for (const body of $$(".body", wrap)) body.innerHTML = "";
      }
      shownPass = S.pass;
      all = true;
    }
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
    const attrs = ["q", "b", "u", "w", "i", "o", "g"].filter((k) => d[k] !== undefined).map((k) => `[data-${k}="${CSS.escape(d[k])}"]`).join("");
    return `#${sectionId} .n${attrs}`;
  }

  function syncControls() {
    const T = steps();
    const slider = $("#step-slider");
    slider.max = String(T);
    slider.value = String(S.step);
    const back = S.pass === "backward"; // the backward pass goes from step T down to 1
    slider.dir = back ? "rtl" : "ltr";
    slider.setAttribute("aria-valuetext", `step ${S.step} of ${T}${back ? ", going back from T to 1" : ""}`);
    $("#step-out").textContent = `t = ${S.step} of ${T}${back ? " · going back: T → 1" : ""} · reads x${sub(run().reads[S.step - 1] + 1)}`;
    $("#prev").disabled = back ? S.step >= T : S.step <= 1;
    $("#next").disabled = back ? S.step <= 1 : S.step >= T;
    $("#prev").title = back ? "the step undone before this one: t + 1 (←)" : "previous step (←)";
    $("#next").title = back ? "the step undone after this one: t − 1 (→)" : "next step (→)";
    for (const pass of ["forward", "backward"]) $(`#pass-${pass}`).setAttribute("aria-pressed", String(S.pass === pass));
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
    document.documentElement.dataset.scheme = S.theme === "auto" ? (DARK.matches ? "dark" : "light") : S.theme;
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
    if (S.pass === "backward") parts.unshift("pass=backward");
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
    if (undone || edits.length) compute();
    const int = (v, lo, hi, dflt) => {
      const n = Number(v);
      return Number.isInteger(n) && n >= lo && n <= hi ? n : dflt;
    };
    S.layer = int(fields.l, 1, ctx.result.runs.length, 1);
    S.direction = int(fields.d, 1, ctx.result.runs[S.layer - 1].length, 1);
    S.step = int(fields.t, 1, steps(), 1);
    S.batch = int(fields.b, 1, run().B, 1);
    S.unit = int(fields.u, 1, spec().units, 1);
    S.digits = fields.p === "auto" ? "auto" : 4;
    S.pass = fields.pass === "backward" && PASSES.backward ? "backward" : "forward";
    if (fields.pass && fields.pass !== S.pass) problems.push(`pass=${fields.pass}: ${PASSES.backward ? "the passes are forward and backward" : "the scenario has no backward block"}`);
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
    const found = LstmEngine.sources(ctx.model).find((s) => s.name === name);
    if (!found) {
      const names = LstmEngine.sources(ctx.model).map((s) => s.name).join(", ");
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
    if (!originals.has(key)) originals.set(key, LstmEngine.value(ctx.model, name, where));
    LstmEngine.edit(ctx.model, name, where, value);
    const stored = LstmEngine.value(ctx.model, name, where);
    S.edits = S.edits.filter((e) => keyOf(e.name, e.index) !== key);
    if (!Object.is(stored, originals.get(key))) S.edits.push({ name, index: where, value: stored });
    return stored;
  }

  function undoAll(rerun) {
    for (const e of S.edits) {
      const key = keyOf(e.name, e.index);
      if (originals.has(key)) LstmEngine.edit(ctx.model, e.name, e.index, originals.get(key));
    }
    S.edits = [];
    if (rerun) {
      compute();
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
      say(`${src.name}${idx(src.index)} is now ${shortest(LstmEngine.value(ctx.model, src.name, src.index))}; every number after it was computed again.`);
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
    if (inGrid && (ev.key === "Enter" || ev.key === "F2") && (el.classList.contains("ed") || el.dataset.w)) {
      ev.preventDefault();
      startEdit(el);
      return;
    }
    if (ev.key === "Escape") {
      hideTip();
      return;
    }
    if ((ev.key === "b" || ev.key === "B") && PASSES.backward) {
      ev.preventDefault();
      lstmTrace.setPass(S.pass === "backward" ? "forward" : "backward");
      return;
    }
    const moves = { ArrowLeft: -1, ArrowRight: 1, PageUp: -1, PageDown: 1 };
    const way = S.pass === "backward" ? -1 : 1; // going back, the next step is t − 1
    if (ev.key in moves && (!inGrid || ev.key.startsWith("Page"))) {
      ev.preventDefault();
      go(S.step + way * moves[ev.key]);
    } else if ((ev.key === "Home" || ev.key === "End") && !inGrid) {
      ev.preventDefault();
      go((ev.key === "Home") === (way > 0) ? 1 : steps());
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
    const way = () => (S.pass === "backward" ? -1 : 1);
    $("#prev").addEventListener("click", () => go(S.step - way()));
    $("#next").addEventListener("click", () => go(S.step + way()));
    $("#pass-forward").addEventListener("click", () => lstmTrace.setPass("forward"));
    $("#pass-backward").addEventListener("click", () => lstmTrace.setPass("backward"));
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
    DARK.addEventListener("change", syncControls);
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
      const el = ev.target.closest(".n.ed, .n[data-w]"); // a weight that cannot be edited says why
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
    $("#pass-group").hidden = !PASSES.backward;
    $("#back-help").hidden = !PASSES.backward;
    const B = ctx.result.runs[0][0].B;
    $("#batch-select").innerHTML = options(B, (b) => `row ${b} of ${B}`);
    $("#batch-select").disabled = B === 1;
    const all = runs();
    if (all.length > 1) {
      $("#run-group").hidden = false;
      $("#run-select").innerHTML = ctx.result.runs
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
      compute();
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
      if (!ctx.result.runs[layer - 1] || !ctx.result.runs[layer - 1][d - 1]) throw new RangeError(`there is no layer ${layer} direction ${direction}`);
      S.layer = layer;
      S.direction = d;
      S.unit = Math.min(S.unit, spec().units);
      render(true);
    },
    undoAll() {
      undoAll(true);
    },
    /** Shows the forward pass or, where the scenario has a backward block, the backward pass. */
    setPass(pass) {
      if (!(pass in PASSES)) throw new RangeError(PASSES.backward ? `the passes are forward and backward, not ${pass}` : "the scenario has no backward block: there is only the forward pass");
      S.pass = pass;
      render(true);
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
      ctx.model = LstmEngine.decode(DATA);
      compute();
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
