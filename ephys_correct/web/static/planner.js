/* ephys_correct planner: the page.  Every number comes from the server (/api/*),
   which computes it with the package's public API; this file only edits recipes,
   sends them and shows the answers (or the reasons there is no answer). */
"use strict";

const SIDES = ["pipette", "bath"];
const DEBOUNCE_MS = 300;
const state = {
  meta: null,
  shipped: [],
  origin: { pipette: null, bath: null },   // recipe as loaded (source, notes, id)
  edited: { pipette: false, bath: false },
  seq: 0,
  timer: null,
  controller: null,
  lastSolve: null,
};

/* ------------------------------------------------------------------ helpers */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

function isNum(x) { return typeof x === "number" && Number.isFinite(x); }
/** mV with sign and 2 decimals ("+15.66"). */
function fmtMv(x) { return isNum(x) ? (x > 0 ? "+" : "") + x.toFixed(2) : "–"; }
/** a concentration in mM, to a sensible number of digits. */
function fmtMm(x) {
  if (!isNum(x)) return "–";
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}
function fmtFixed(x, d) { return isNum(x) ? x.toFixed(d) : "–"; }
/** free Ca2+/Mg2+: mM, uM or nM. */
function fmtFree(mm) {
  if (!isNum(mm)) return "–";
  if (mm === 0) return "0";
  if (mm >= 0.1) return mm.toPrecision(3) + " mM";
  if (mm >= 1e-4) return (mm * 1e3).toPrecision(3) + " µM";
  return (mm * 1e6).toPrecision(3) + " nM";
}
/** a number element that also carries the exact value (data-value). */
function numCell(tag, x, text, attrs) {
  return h(tag, Object.assign({ "data-value": isNum(x) ? String(x) : "" }, attrs || {}), text);
}
function setNum(el, x, text) {
  el.textContent = text;
  el.dataset.value = isNum(x) ? String(x) : "";
}

async function api(path, body, signal) {
  const opts = body === undefined ? { signal } :
    { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), signal };
  const resp = await fetch(path, opts);
  let data;
  try {
    data = await resp.json();
  } catch (e) {
    throw new Error(`${path}: the server answered ${resp.status} without JSON`);
  }
  return data;
}

function setStatus(text, kind) {
  const el = $("#status");
  el.textContent = text;
  el.className = "status " + (kind || "");
}

function errorList(errors) {
  return h("ul", {}, errors.map((e) => h("li", {},
    h("strong", {}, e.where + ": "), e.message, h("span", { class: "etype" }, " (" + e.type + ")"))));
}
function showErrors(box, errors) {
  box.replaceChildren();
  if (errors && errors.length) {
    box.append(errorList(errors));
    box.hidden = false;
  } else {
    box.hidden = true;
  }
}

/* ------------------------------------------------------------------ recipe editors */
function amountRow(kind, name, amount) {
  const list = kind === "components_mm" ? "compound-list" : "ion-list";
  const row = h("tr", { class: "amount-row", dataset: { kind } },
    h("td", {}, h("input", { class: "name", type: "text", list, value: name ?? "", spellcheck: "false",
      "aria-label": kind === "components_mm" ? "compound" : "ion", placeholder: kind === "components_mm" ? "compound" : "ion" })),
    h("td", {}, h("input", { class: "amount", type: "number", min: "0", step: "any", value: amount ?? "",
      "aria-label": "mM", inputmode: "decimal" })),
    h("td", {}, h("button", { type: "button", class: "remove", title: "remove", "aria-label": "remove row",
      onclick: (ev) => { const card = ev.target.closest(".recipe"); row.remove(); tablesShown(card); changed(card.dataset.side); } }, "×")));
  return row;
}

/** the compound table is hidden only while it is empty and ions are given; the ion table while empty. */
function tablesShown(card) {
  const nComp = $$(".components tr", card).length, nIon = $$(".ions-body tr", card).length;
  $(".amounts.ions", card).hidden = nIon === 0;
  $(".amounts.comps", card).hidden = nComp === 0 && nIon > 0;
}

function buildEditor(side) {
  const card = document.getElementById(side);
  const pick = h("select", { class: "pick", "aria-label": `${side}: start from` });
  const roles = [["pipette", "Pipette solutions"], ["bath", "Bath solutions"], [null, "Other"]];
  for (const [role, label] of roles) {
    const group = h("optgroup", { label });
    for (const r of state.shipped.filter((r) => (role ? r.role === role : !["pipette", "bath"].includes(r.role)))) {
      group.append(h("option", { value: r.id }, r.name));
    }
    if (group.children.length) pick.append(group);
  }
  pick.append(h("option", { value: "" }, "— blank recipe —"));
  pick.addEventListener("change", () => loadRecipe(side, pick.value));
  const titrants = state.meta.compounds.filter((c) => c.titrant).map((c) => c.name);
  card.replaceChildren(
    h("div", { class: "card-head" },
      h("h2", {}, side === "pipette" ? "Pipette " : "Bath ", h("span", { class: "muted" }, side === "pipette" ? "(inside)" : "(outside)")),
      h("span", { class: "badge edited", hidden: true }, "edited")),
    h("label", { class: "field" }, "Start from", pick),
    h("label", { class: "field" }, "Name", h("input", { class: "rname", type: "text", spellcheck: "false" })),
    h("p", { class: "source small muted" }),
    h("table", { class: "amounts comps" },
      h("thead", {}, h("tr", {}, h("th", {}, "compound (as weighed)"), h("th", {}, "mM"), h("th", {}))),
      h("tbody", { class: "components" })),
    h("table", { class: "amounts ions", hidden: true },
      h("thead", {}, h("tr", {}, h("th", {}, "ion (given directly)"), h("th", {}, "mM"), h("th", {}))),
      h("tbody", { class: "ions-body" })),
    h("div", { class: "row-buttons" },
      h("button", { type: "button", class: "ghost add-compound", onclick: () => {
        const r = amountRow("components_mm"); $(".components", card).append(r); tablesShown(card); $(".name", r).focus(); } }, "+ compound"),
      h("button", { type: "button", class: "ghost add-ion", onclick: () => {
        const r = amountRow("ions_mm"); $(".ions-body", card).append(r); tablesShown(card); $(".name", r).focus(); } }, "+ ion")),
    h("fieldset", { class: "ph" },
      h("legend", {}, "pH"),
      h("select", { class: "ph-mode", "aria-label": `${side}: pH handling` },
        h("option", { value: "target" }, "titrate to pH with"),
        h("option", { value: "bicarbonate" }, "bicarbonate / CO₂ at pH"),
        h("option", { value: "given" }, "titrant weighed (in the list), pH"),
        h("option", { value: "none" }, "no pH (no acid–base components)")),
      h("input", { class: "ph-value", type: "number", step: "0.01", min: "0", max: "14", "aria-label": "pH", placeholder: "pH" }),
      h("select", { class: "ph-titrant", "aria-label": "titrant" }, titrants.map((t) => h("option", { value: t }, t))),
      h("span", { class: "ph-at" }, "set at ",
        h("input", { class: "ph-temp", type: "number", step: "0.5", "aria-label": "pH set at degC", placeholder: "°C" }), " °C")),
    h("label", { class: "field inline" }, "Measured osmolality",
      h("span", { class: "unit-input" }, h("input", { class: "osm-measured", type: "number", min: "0", step: "any", placeholder: "optional" }), h("span", {}, "mOsm/kg"))),
    h("div", { class: "errors side-errors", hidden: true }),
    h("div", { class: "row-buttons end" },
      h("button", { type: "button", class: "download", onclick: () => download(side) }, "Download .toml")),
  );
  card.addEventListener("input", (ev) => { if (!ev.target.classList.contains("pick")) changed(side); });
  card.addEventListener("change", (ev) => {
    if (ev.target.classList.contains("ph-mode")) phModeShown(card);
    if (!ev.target.classList.contains("pick")) changed(side);
  });
}

function phModeShown(card) {
  const mode = $(".ph-mode", card).value;
  $(".ph-value", card).hidden = mode === "none";
  $(".ph-titrant", card).hidden = mode !== "target";
  $(".ph-at", card).hidden = mode === "none";
}

function fillEditor(side, recipe, id) {
  const card = document.getElementById(side);
  state.origin[side] = Object.assign({}, recipe);
  state.edited[side] = false;
  $(".badge.edited", card).hidden = true;
  $(".pick", card).value = id ?? "";
  $(".rname", card).value = recipe.name ?? "";
  const src = recipe.source ? recipe.source + (recipe.doi ? ` doi:${recipe.doi}` : "") : "no source";
  $(".source", card).textContent = src;
  $(".source", card).title = recipe.notes || "";
  $(".components", card).replaceChildren(...(recipe.components_mm || []).map(([n, a]) => amountRow("components_mm", n, a)));
  $(".ions-body", card).replaceChildren(...(recipe.ions_mm || []).map(([n, a]) => amountRow("ions_mm", n, a)));
  tablesShown(card);
  const ph = recipe.ph || {};
  let mode = "none";
  if (ph.buffer === "bicarbonate") mode = "bicarbonate";
  else if (ph.titrant) mode = "target";
  else if (ph.value !== undefined || ph.temperature_c !== undefined) mode = "given";
  $(".ph-mode", card).value = mode;
  $(".ph-value", card).value = ph.value ?? "";
  if (ph.titrant) $(".ph-titrant", card).value = ph.titrant;
  $(".ph-temp", card).value = ph.temperature_c ?? "";
  $(".osm-measured", card).value = (recipe.osmolality || {}).measured_mosm_kg ?? "";
  phModeShown(card);
}

function numberOrText(input) {
  const raw = input.value.trim();
  if (raw === "") return null;
  const x = Number(raw);
  return Number.isFinite(x) ? x : raw;   // the server names a non-number in its error
}

function readEditor(side) {
  const card = document.getElementById(side);
  const rows = (kind) => $$(`tr.amount-row[data-kind="${kind}"]`, card)
    .map((tr) => [$(".name", tr).value.trim(), numberOrText($(".amount", tr))])
    .filter(([n, a]) => !(n === "" && a === null));
  const mode = $(".ph-mode", card).value;
  const ph = {};
  if (mode !== "none") {
    ph.value = numberOrText($(".ph-value", card));
    ph.temperature_c = numberOrText($(".ph-temp", card));
    if (mode === "target") ph.titrant = $(".ph-titrant", card).value;
    if (mode === "bicarbonate") ph.buffer = "bicarbonate";
  }
  const origin = state.origin[side] || {};
  let source = origin.source ?? null;
  if (state.edited[side]) {
    source = "Edited in the ephys_correct planner" + (origin.source ? " from: " + origin.source : "");
  }
  return {
    name: $(".rname", card).value,
    role: side,
    source,
    doi: origin.doi ?? null,
    notes: origin.notes ?? null,
    components_mm: rows("components_mm"),
    ions_mm: rows("ions_mm"),
    ph,
    osmolality: { measured_mosm_kg: numberOrText($(".osm-measured", card)) },
  };
}

async function loadRecipe(side, id) {
  if (!id) {
    fillEditor(side, { name: `new ${side} solution`, components_mm: [], ions_mm: [], ph: {} }, "");
    $(".components", document.getElementById(side)).append(amountRow("components_mm"));
    tablesShown(document.getElementById(side));
    schedule();
    return;
  }
  const data = await api(`/api/solutions/${encodeURIComponent(id)}`);
  if (!data.ok) {
    showErrors($(".side-errors", document.getElementById(side)), data.errors);
    return;
  }
  fillEditor(side, data.recipe, id);
  schedule();
}

function changed(side) {
  if (side && !state.edited[side]) {
    state.edited[side] = true;
    $(".badge.edited", document.getElementById(side)).hidden = false;
  }
  if (state.lastSolve) $("#solve-status").textContent = "the recipes changed since the last solve";
  schedule();
}

/* ------------------------------------------------------------------ evaluation */
function conditions() {
  return {
    temperature_c: numberOrText($("#temperature")),
    ljp_temperature_c: numberOrText($("#ljp-temperature")),
    activity_model: $("#activity-model").value,
  };
}
function payload() {
  return Object.assign(conditions(), { pipette: readEditor("pipette"), bath: readEditor("bath") });
}

function schedule() {
  state.seq++;   // answers to requests sent before this change are stale
  clearTimeout(state.timer);
  setStatus("computing…", "busy");
  state.timer = setTimeout(evaluateNow, DEBOUNCE_MS);
}

async function evaluateNow() {
  const seq = ++state.seq;
  if (state.controller) state.controller.abort();
  state.controller = new AbortController();
  let data;
  try {
    data = await api("/api/evaluate", payload(), state.controller.signal);
  } catch (e) {
    if (e.name === "AbortError") return;
    if (seq !== state.seq) return;
    render({ ok: false, errors: [{ where: "page", type: "NetworkError", message: `no answer from the planner server (${e.message}); is it still running?` }], warnings: [], solutions: {} });
    return;
  }
  if (seq !== state.seq) return;   // a newer request is on its way
  render(data);
}

function render(data) {
  const errs = data.errors || [];
  const bySide = { pipette: [], bath: [] };
  const global = [];
  for (const e of errs) {
    const side = SIDES.find((s) => e.where === s || e.where.startsWith(s + " "));
    (side ? bySide[side] : global).push(e);
  }
  for (const s of SIDES) showErrors($(".side-errors", document.getElementById(s)), bySide[s]);
  showErrors($("#global-errors"), global);
  renderLjp(data, errs);
  renderReversal(data, errs);
  renderProps(data);
  renderNotes(data);
  document.body.dataset.evaluated = String(state.seq);
  if (errs.length) setStatus(`${errs.length} problem${errs.length > 1 ? "s" : ""}: see the messages`, "bad");
  else setStatus("up to date", "ok");
}

function whyMissing(errs, fallback) {
  return errs.length ? "not computed: " + errs.map((e) => e.where).filter((v, i, a) => a.indexOf(v) === i).join(", ") + " (see the message)" : fallback;
}

function renderLjp(data, errs) {
  const ljp = data.ljp_mv;
  setNum($("#ljp-henderson"), ljp && ljp.henderson, fmtMv(ljp && ljp.henderson));
  setNum($("#ljp-nernst-planck"), ljp && ljp["nernst-planck"], fmtMv(ljp && ljp["nernst-planck"]));
  $("#ljp-caption").textContent = isNum(data.ljp_temperature_c) ? `at ${data.ljp_temperature_c} °C` : "";
  const hv = ljp && ljp.henderson;
  $("#ljp-correction").textContent = isNum(hv)
    ? `Whole-cell: true Vm = measured − (${fmtMv(hv)} mV), i.e. ${hv > 0 ? "subtract" : "add"} ${Math.abs(hv).toFixed(2)} mV.`
    : whyMissing(errs, "");
}

function renderReversal(data, errs) {
  const body = $("#rev-table tbody");
  const rev = data.reversal;
  $("#rev-caption").textContent = isNum(data.temperature_c) ? `at ${data.temperature_c} °C, ${data.activity_model}` : "";
  if (!rev) {
    body.replaceChildren(h("tr", {}, h("td", { colspan: 6, class: "missing" }, whyMissing(errs, "no ion on both sides"))));
    $("#rev-basis").textContent = "";
    drawChart([], data.ljp_mv);
    return;
  }
  $("#rev-basis").textContent = (rev.basis === "free ions" ? "Free ions: " : "") + rev.note;
  $("#rev-basis").classList.toggle("warn", rev.basis !== "free ions");
  body.replaceChildren(...rev.rows.map((r) => h("tr", { dataset: { ion: r.ion } },
    h("th", { scope: "row" }, r.ion, r.bound_total_warning ? h("span", { class: "flag", title: r.bound_total_warning }, " ⚠") : null),
    numCell("td", r.c_in_mM, fmtMm(r.c_in_mM), { class: "c-in" }),
    numCell("td", r.c_out_mM, fmtMm(r.c_out_mM), { class: "c-out" }),
    numCell("td", r.E_rev_ideal_mV, fmtMv(r.E_rev_ideal_mV), { class: "e-ideal" }),
    numCell("td", r.E_rev_mV, fmtMv(r.E_rev_mV), { class: "e-act strong" }),
    numCell("td", r.delta_mV, fmtMv(r.delta_mV), { class: "delta muted" }))));
  if (!rev.rows.length) body.append(h("tr", {}, h("td", { colspan: 6, class: "missing" }, "no ion is present on both sides")));
  drawChart(rev.rows, data.ljp_mv);
}

const SVG = "http://www.w3.org/2000/svg";
function s(tag, attrs, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}
const ION_COLORS = { "K+": "#1f77b4", "Na+": "#d62728", "Cl-": "#2ca02c", "Ca2+": "#9467bd", "Mg2+": "#8c564b", "Cs+": "#e377c2" };

/** the activity-corrected reversal potentials on one voltage axis. */
function drawChart(rows, ljp) {
  const box = $("#erev-chart");
  const pts = rows.filter((r) => isNum(r.E_rev_mV));
  if (!pts.length) { box.replaceChildren(); box.hidden = true; return; }
  box.hidden = false;
  const W = 520, H = 96, L = 30, R = 30, Y = 62;
  let lo = Math.min(-100, ...pts.map((r) => r.E_rev_mV)), hi = Math.max(60, ...pts.map((r) => r.E_rev_mV));
  lo = Math.floor(lo / 50) * 50; hi = Math.ceil(hi / 50) * 50;
  const x = (v) => L + (v - lo) / (hi - lo) * (W - L - R);
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img", "aria-label": "reversal potentials, mV" });
  svg.append(s("line", { x1: x(lo), x2: x(hi), y1: Y, y2: Y, class: "axis" }));
  for (let v = lo; v <= hi; v += 50) {
    svg.append(s("line", { x1: x(v), x2: x(v), y1: Y, y2: Y + 5, class: "axis" }));
    svg.append(s("text", { x: x(v), y: Y + 17, class: "tick" }, String(v)));
  }
  svg.append(s("text", { x: x(hi), y: Y + 30, class: "tick end" }, "mV"));
  const sorted = pts.slice().sort((a, b) => a.E_rev_mV - b.E_rev_mV);
  const xs = sorted.map((r) => x(r.E_rev_mV));
  const CLOSE = 62;   // a label is ~55 px wide
  let level = 0;
  sorted.forEach((r, i) => {
    const px = xs[i];
    const closePrev = i > 0 && px - xs[i - 1] < CLOSE, closeNext = i + 1 < xs.length && xs[i + 1] - px < CLOSE;
    // two close neighbours: labels on either side of their lines; a longer run also steps up
    level = closePrev ? (level + 1) % 3 : 0;
    const anchor = closePrev ? "start" : closeNext ? "end" : "middle";
    const dx = anchor === "start" ? 3 : anchor === "end" ? -3 : 0;
    const color = ION_COLORS[r.ion] || "#555";
    const top = Y - 10 - level * 16;
    svg.append(s("line", { x1: px, x2: px, y1: top + 4, y2: Y, stroke: color, "stroke-width": 2 }));
    svg.append(s("circle", { cx: px, cy: Y, r: 3.5, fill: color, "data-ion": r.ion }));
    svg.append(s("text", { x: px + dx, y: top, class: "label", fill: color, "text-anchor": anchor }, `E(${r.ion})`));
  });
  box.replaceChildren(svg);
}

function renderProps(data) {
  const sols = data.solutions || {};
  const rows = [
    ["osm-estimate", "Osmolality, φ-corrected (mOsm/kg)", (v) => v.osm_estimate_mosm_kg, (x) => fmtFixed(x, 1), (v) => v.osm_estimate_method],
    ["osm-ideal", "Osmolarity, ideal sum (mOsm/L)", (v) => v.osm_ideal_mosm_l, (x) => fmtFixed(x, 1)],
    ["osm-measured", "Osmolality, measured (mOsm/kg)", (v) => v.osm_measured_mosm_kg, (x) => (isNum(x) ? x.toFixed(0) : "not given")],
    ["ionic-strength", "Ionic strength (mM)", (v) => v.ionic_strength_mm, (x) => fmtFixed(x, 1)],
    ["charge", "Charge balance (mEq/L)", (v) => v.charge_balance_meq, (x) => (isNum(x) ? (Math.abs(x) < 5e-4 ? "0.000" : (x > 0 ? "+" : "") + x.toFixed(3)) : "–"),
      (v) => `tolerance ±${fmtFixed(v.charge_tolerance_meq, 2)} mEq/L`],
    ["ph", "pH", (v) => v.ph, (x) => (isNum(x) ? x.toFixed(2) : "none"),
      (v) => (v.ph_temperature_c !== null && v.ph_temperature_c !== undefined ? `set at ${v.ph_temperature_c} °C` : "") + (v.ph_estimated ? " (estimated from the charge balance)" : "")],
    ["titrant", "Titrant (mM)", (v) => v.titrant_mm, (x, v) => (v.titrant ? `${v.titrant} ${fmtFixed(x, 2)}` : "none")],
    ["free-ca", "Free Ca²⁺", (v) => v.free_ca_mm, (x, v) => (v.free_error ? "not computed" : fmtFree(x)),
      (v) => v.free_error || (v.free_basis && `${v.free_basis}; total ${fmtMm(v.total_ca_mm)} mM`)],
    ["free-mg", "Free Mg²⁺", (v) => v.free_mg_mm, (x, v) => (v.free_error ? "not computed" : fmtFree(x)),
      (v) => v.free_error || (v.free_basis && `${v.free_basis}; total ${fmtMm(v.total_mg_mm)} mM`)],
  ];
  $("#props-table tbody").replaceChildren(...rows.map(([key, label, get, fmt, tip]) => h("tr", { dataset: { prop: key } },
    h("th", { scope: "row" }, label),
    ...SIDES.map((side) => {
      const v = sols[side];
      if (!v) return h("td", { id: `${key}-${side}`, class: "missing", "data-value": "" }, "–");
      const x = get(v);
      return numCell("td", x, fmt(x, v), { id: `${key}-${side}`, title: tip ? tip(v) || null : null });
    }))));
}

function renderNotes(data) {
  const notes = (data.warnings || []).slice();
  for (const row of (data.reversal && data.reversal.rows) || []) {
    if (row.bound_total_warning) notes.push(`E(${row.ion}): ${row.bound_total_warning}`);
  }
  $("#notes").replaceChildren(...notes.map((n) => h("li", {}, n)));
  $("#notes-card").hidden = notes.length === 0;
}

/* ------------------------------------------------------------------ targets */
const TARGET_KINDS = [
  ["E", "E (activity)"], ["E_ideal", "E (ideal)"], ["LJP", "LJP Henderson"], ["LJP_np", "LJP Nernst–Planck"],
  ["osm", "osmolality (φ)"], ["osm_ideal", "osmolarity (ideal)"], ["I", "ionic strength"],
  ["Ca_free", "free Ca²⁺"], ["Mg_free", "free Mg²⁺"],
];
const TARGET_UNITS = { E: "mV", E_ideal: "mV", LJP: "mV", LJP_np: "mV", osm: "mOsm/kg", osm_ideal: "mOsm/L", I: "mM", Ca_free: "µM", Mg_free: "µM" };

function targetRow(kind = "E", ion = "Cl-", value = -70, vary = "", side = "pipette") {
  const row = h("tr", { class: "target-row" },
    h("td", {}, h("select", { class: "t-kind", "aria-label": "target quantity" }, TARGET_KINDS.map(([k, l]) => h("option", { value: k }, l)))),
    h("td", {}, h("input", { class: "t-ion", type: "text", list: "ion-list", value: ion, size: 5, "aria-label": "ion" })),
    h("td", {}, h("input", { class: "t-value", type: "number", step: "any", value, "aria-label": "target value" })),
    h("td", { class: "t-unit muted" }),
    h("td", {}, h("input", { class: "t-vary", type: "text", list: "compound-list", value: vary, "aria-label": "compound to change", spellcheck: "false" })),
    h("td", {}, h("select", { class: "t-side", "aria-label": "solution to change" }, SIDES.map((s2) => h("option", { value: s2 }, s2)))),
    h("td", {}, h("button", { type: "button", class: "remove", title: "remove", "aria-label": "remove target", onclick: () => row.remove() }, "×")));
  $(".t-kind", row).value = kind;
  $(".t-side", row).value = side;
  const update = () => {
    const k = $(".t-kind", row).value;
    $(".t-ion", row).hidden = !(k === "E" || k === "E_ideal");
    $(".t-unit", row).textContent = TARGET_UNITS[k];
    const key = k === "E" || k === "E_ideal" ? `E_${$(".t-ion", row).value.trim()}` : k;
    const dflt = state.meta.default_vary[key] || null;
    $(".t-vary", row).placeholder = dflt ? `default: ${dflt}` : "name a compound";
  };
  row.addEventListener("input", update);
  row.addEventListener("change", update);
  row.addEventListener("keydown", (ev) => { if (ev.key === "Enter") solveNow(); });
  update();
  return row;
}

function readTargets() {
  return $$("#target-table tbody tr").map((row) => {
    const k = $(".t-kind", row).value;
    let raw = $(".t-value", row).value.trim();
    let value = Number(raw);
    if (raw !== "" && Number.isFinite(value) && TARGET_UNITS[k] === "µM") value = value / 1000;  // the API takes mM
    const valueText = raw === "" ? "" : (Number.isFinite(value) ? String(value) : raw);
    const name = k === "E" ? `E_${$(".t-ion", row).value.trim()}` : k === "E_ideal" ? `E_${$(".t-ion", row).value.trim()}_ideal` : k;
    return { target: `${name}=${valueText}`, vary: $(".t-vary", row).value.trim() || null, side: $(".t-side", row).value };
  });
}

async function solveNow() {
  const targets = readTargets();
  $("#solve-status").textContent = "solving…";
  $("#solve").disabled = true;
  let data;
  try {
    data = await api("/api/solve", Object.assign(payload(), { targets }));
  } catch (e) {
    data = { ok: false, errors: [{ where: "page", type: "NetworkError", message: `no answer from the planner server (${e.message})` }] };
  } finally {
    $("#solve").disabled = false;
  }
  state.lastSolve = data;
  showErrors($("#target-errors"), data.errors);
  const ok = data.ok && data.targets && data.targets.length;
  $("#target-results").hidden = !ok;
  $("#solve-status").textContent = ok ? "solved" : "not solved: see the message";
  if (!ok) return;
  $("#target-result-table tbody").replaceChildren(...data.targets.map((t) => {
    const micro = t.unit === "mM" && /_free$/.test(t.target);
    const v = (x) => (micro ? `${(x * 1e3).toPrecision(4)} µM` : `${t.unit === "mV" ? fmtMv(x) : fmtFixed(x, t.unit === "mM" ? 3 : 1)} ${t.unit}`);
    let amount = `${fmtMm(t.amount_before_mm)} → ${fmtMm(t.amount_mm)}`;
    if (t.exchange_amount_mm !== null && t.exchange_amount_mm !== undefined) {
      amount += `; ${t.vary.split(":")[1]} ${fmtMm(t.exchange_amount_before_mm)} → ${fmtMm(t.exchange_amount_mm)}`;
    }
    return h("tr", { dataset: { target: t.target } },
      h("th", { scope: "row" }, `${t.target} = ${micro ? (t.target_value * 1e3).toPrecision(4) + " µM" : t.target_value + " " + t.unit}`),
      h("td", {}, t.side), h("td", {}, t.vary.split(":")[0]),
      numCell("td", t.amount_mm, amount, { class: "t-amount" }),
      numCell("td", t.value, `${v(t.value_before)} → ${v(t.value)}`, { class: "t-value-out" }),
      h("td", {}, t.titrant ? `${t.titrant} ${fmtMm(t.titrant_mm_before)} → ${fmtMm(t.titrant_mm)}` : "–"));
  }));
}

function applyTargets() {
  const data = state.lastSolve;
  if (!data || !data.final_recipes) return;
  for (const side of SIDES) {
    const rec = data.final_recipes[side];
    if (!rec) continue;
    const card = document.getElementById(side);
    const keepId = $(".pick", card).value;
    const origin = state.origin[side];
    fillEditor(side, rec, keepId);
    state.origin[side] = origin;
    changed(side);
  }
  $("#solve-status").textContent = "applied; the results above are for the changed recipes";
}

/* ------------------------------------------------------------------ download */
async function download(side) {
  const card = document.getElementById(side);
  const box = $(".side-errors", card);
  let resp;
  try {
    resp = await fetch("/api/recipe.toml", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ side, recipe: readEditor(side), activity_model: $("#activity-model").value }),
    });
  } catch (e) {
    showErrors(box, [{ where: side, type: "NetworkError", message: `no answer from the planner server (${e.message})` }]);
    return;
  }
  if (!resp.ok) {
    const data = await resp.json();
    showErrors(box, data.errors.map((e) => Object.assign({}, e, { message: "not downloaded: " + e.message })));
    return;
  }
  const name = (/filename="([^"]+)"/.exec(resp.headers.get("Content-Disposition") || "") || [])[1] || `${side}.toml`;
  const url = URL.createObjectURL(await resp.blob());
  const a = h("a", { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/* ------------------------------------------------------------------ start */
async function start() {
  try {
    const [meta, shipped] = await Promise.all([api("/api/meta"), api("/api/solutions")]);
    state.meta = meta;
    state.shipped = shipped.solutions;
  } catch (e) {
    setStatus(`cannot reach the planner server: ${e.message}`, "bad");
    return;
  }
  $("#compound-list").replaceChildren(...state.meta.compounds.flatMap((c) => [c.name, ...c.aliases]).map((n) => h("option", { value: n })));
  $("#ion-list").replaceChildren(...state.meta.ions.flatMap((i) => [i.name]).map((n) => h("option", { value: n })));
  $("#activity-model").replaceChildren(...state.meta.activity_models.map((m) => h("option", { value: m }, m)));
  $("#activity-model").value = state.meta.default_activity_model;
  for (const id of ["temperature", "ljp-temperature", "activity-model"]) {
    $("#" + id).addEventListener("input", () => changed(null));
    $("#" + id).addEventListener("change", () => changed(null));
  }
  $("#add-target").addEventListener("click", () => $("#target-table tbody").append(targetRow("osm", "", 290, "", "pipette")));
  $("#solve").addEventListener("click", solveNow);
  $("#apply-targets").addEventListener("click", applyTargets);
  $("#target-table tbody").append(targetRow("E", "Cl-", -70, "KCl:K-gluconate", "pipette"));
  const first = (role, preferred) => (state.shipped.find((r) => r.id === preferred) || state.shipped.find((r) => r.role === role) || {}).id;
  // ?pipette=ID&bath=ID&temperature=32&ljp_temperature=22&activity_model=davies start the page there
  const params = new URLSearchParams(location.search);
  if (params.has("temperature")) $("#temperature").value = params.get("temperature");
  if (params.has("ljp_temperature")) $("#ljp-temperature").value = params.get("ljp_temperature");
  if (params.has("activity_model")) $("#activity-model").value = params.get("activity_model");
  for (const side of SIDES) buildEditor(side);
  await Promise.all([
    loadRecipe("pipette", params.get("pipette") || first("pipette", "internal_k_gluconate")),
    loadRecipe("bath", params.get("bath") || first("bath", "acsf_carbogen_standard")),
  ]);
}

window.addEventListener("error", (ev) => setStatus(`page error: ${ev.message}`, "bad"));
document.addEventListener("DOMContentLoaded", start);
