// The sentence browser. It reads the JSON block, filters, sorts and pages the sentences, and
// builds every element with createElement and textContent: no text from the data is ever
// parsed as HTML, and every listener is attached here (no inline handlers).
"use strict";
{  // a block, not a function: every name stays out of the page's global scope
  const DATA = JSON.parse(document.getElementById("report-data").textContent);
  const RUNS = DATA.runs;
  // Each run's sentence gets the dataset's fields back (sent once for all runs): id, source,
  // aligned source, the chosen reference (sent as an index) and the other references.
  RUNS.forEach((run) => run.sentences.forEach((s, i) => {
    const base = s.own || DATA.sentences[i];
    s.id = base.id;
    s.source = base.source;
    if (base.aligned !== undefined) s.aligned = base.aligned;
    if (typeof s.ref === "number") s.ref = base.refs[s.ref];
    s.others = base.refs.filter((r) => r !== s.ref);
  }));
  const N = RUNS.length ? RUNS[0].sentences.length : 0;
  const OPERATIONS = ["M", "R", "S", "W"];
  const KINDS = { tp: "tp", fp: "fp", missed: "missed" };
  const KIND_NAMES = { tp: "true positive", fp: "false positive", missed: "missed" };
  const OUTCOMES = new Set(DATA.outcomes);
  const state = { run: 0, outcome: "", type: "", flag: "", query: "", sort: RUNS.length > 1 ? "differ" : "index",
    page: 0, size: 50, open: new Set() };
  const byId = (id) => document.getElementById(id);

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function addOption(select, value, label) {
    const option = el("option", null, label);
    option.value = value;
    select.appendChild(option);
  }

  function outcomeClass(outcome) {
    return OUTCOMES.has(outcome) ? "badge outcome-" + outcome.replace(/[^a-z-]/g, "") : "badge";
  }

  // ---- rows: one per sentence, every run's view of it side by side --------------------------

  const alignedOf = (s) => (s.aligned !== undefined ? s.aligned : s.source);
  const rawOf = (s) => (s.raw !== undefined ? s.raw : s.hyp);

  function comparable(s) {
    return s.hyp.replace(/\s+/g, "") + "\u0000" + s.outcome;
  }

  function makeRow(i) {
    const items = RUNS.map((run) => run.sentences[i]);
    const first = comparable(items[0]);
    const texts = [items[0].id, items[0].source];
    items.forEach((s) => texts.push(s.hyp, s.ref || "", s.others.join("\n"), rawOf(s) || ""));
    return { i: i, items: items, differ: items.some((s) => comparable(s) !== first),
      text: texts.join("\n").toLowerCase() };
  }

  const ROWS = Array.from({ length: N }, (_, i) => makeRow(i));

  function hasEdit(s, filter) {
    const parts = filter.split(":");
    return s.marks.some((m) => (parts[0] === "any" || m[0] === parts[0]) &&
      m[5].split("/").some((t) => t === parts[1] || t.charAt(0) === parts[1]));
  }

  function hasFlag(s, flag) {
    if (flag === "*any") return s.flags.length > 0;
    if (flag === "*none") return s.flags.length === 0;
    return s.flags.includes(flag);
  }

  function matches(row) {
    const s = row.items[state.run];
    if (state.outcome && s.outcome !== state.outcome) return false;
    if (state.flag && !hasFlag(s, state.flag)) return false;
    if (state.type && !hasEdit(s, state.type)) return false;
    return !state.query || row.text.includes(state.query);
  }

  function count(row, k) {
    const c = row.items[state.run].counts.char;
    return c ? c[k] : 0;
  }

  const length = (row) => row.items[0].source.length;

  const SORTS = {
    index: { label: "dataset order", by: (a, b) => a.i - b.i },
    differ: { label: "runs differ first", by: (a, b) => (b.differ - a.differ) || a.i - b.i },
    fp: { label: "most false positives", by: (a, b) => count(b, 1) - count(a, 1) || a.i - b.i },
    fn: { label: "most missed edits", by: (a, b) => count(b, 2) - count(a, 2) || a.i - b.i },
    length: { label: "longest source", by: (a, b) => length(b) - length(a) || a.i - b.i },
    id: { label: "id", by: (a, b) => a.items[0].id.localeCompare(b.items[0].id, undefined, { numeric: true }) ||
      a.i - b.i },
  };

  // ---- drawing one sentence -----------------------------------------------------------------

  function markSpan(m) {
    const span = el("span", "mark " + (KINDS[m[0]] || "other"));
    span.title = (KIND_NAMES[m[0]] || m[0]) + " · " + m[5] + " · [" + m[1] + "," + m[2] + ")";
    if (m[3]) span.appendChild(el("del", null, m[3]));
    if (m[4]) span.appendChild(el("ins", null, m[4]));
    return span;
  }

  // The source with the chosen marks applied in place; a mark overlapping one already drawn
  // (another cheapest alignment of the same edit) is left to the edit table.
  function markedText(aligned, marks, kinds) {
    const box = el("span", "text");
    let position = 0;
    marks.filter((m) => kinds.includes(m[0])).forEach((m) => {
      if (m[1] < position) return;
      if (m[1] > position) box.appendChild(document.createTextNode(aligned.slice(position, m[1])));
      box.appendChild(markSpan(m));
      position = m[2];
    });
    if (position < aligned.length) box.appendChild(document.createTextNode(aligned.slice(position)));
    return box;
  }

  function line(who, content) {
    const row = el("div", "line");
    row.appendChild(el("span", "who", who));
    row.appendChild(typeof content === "string" ? el("span", "text", content) : content);
    return row;
  }

  function head(row) {
    const button = el("button", "sentence-head");
    button.type = "button";
    button.setAttribute("aria-expanded", state.open.has(row.i) ? "true" : "false");
    button.appendChild(el("span", "sid", "#" + row.items[0].id));
    row.items.forEach((s, k) => {
      const label = RUNS.length > 1 ? RUNS[k].name + ": " + s.outcome : s.outcome;
      button.appendChild(el("span", outcomeClass(s.outcome), label));
      const c = s.counts.char || [0, 0, 0];
      button.appendChild(el("span", "counts", "TP " + c[0] + " · FP " + c[1] + " · FN " + c[2]));
    });
    if (row.differ) button.appendChild(el("span", "badge", "runs differ"));
    return button;
  }

  function summary(row) {
    const box = el("div", "summary");
    const base = row.items[0];
    box.appendChild(line("source", base.source));
    row.items.forEach((s, k) => {
      const who = RUNS.length > 1 ? RUNS[k].name : "hypothesis";
      box.appendChild(line(who, markedText(alignedOf(s), s.marks, ["tp", "fp"])));
    });
    const ref = row.items[state.run];
    box.appendChild(line("chosen reference", ref.ref === null ? el("span", "empty", "(not scored)") :
      markedText(alignedOf(ref), ref.marks, ["tp", "missed"])));
    return box;
  }

  // ---- details: edits, references, flags, raw output -----------------------------------------

  function editTable(s) {
    const table = el("table", "edits");
    const header = el("tr");
    ["", "type", "span", "source", "correction"].forEach((h) => header.appendChild(el("th", null, h)));
    table.appendChild(header);
    s.marks.forEach((m) => {
      const tr = el("tr", KINDS[m[0]] || "other");
      [KIND_NAMES[m[0]] || m[0], m[5], "[" + m[1] + "," + m[2] + ")", m[3] || "∅", m[4] || "∅"]
        .forEach((v) => tr.appendChild(el("td", null, v)));
      table.appendChild(tr);
    });
    if (!s.marks.length) table.appendChild(el("tr")).appendChild(el("td", "empty", "no edits on either side"));
    return table;
  }

  function rawToggle(s) {
    const box = el("div", "raw-box");
    const button = el("button", "raw-toggle", "show raw output");
    button.type = "button";
    button.addEventListener("click", () => {
      const shown = box.querySelector("pre.raw");
      if (shown) { shown.remove(); button.textContent = "show raw output"; return; }
      const raw = rawOf(s);
      box.appendChild(el("pre", "raw", raw === null ? "(no raw output recorded)" : raw));
      button.textContent = "hide raw output";
    });
    box.appendChild(button);
    return box;
  }

  function runDetails(s, name) {
    const box = el("div", "run-details");
    if (name) box.appendChild(el("h4", null, name));
    box.appendChild(line("hypothesis", s.hyp));
    if (s.ref !== null) box.appendChild(line("chosen reference", s.ref));
    s.others.forEach((r) => box.appendChild(line("other reference", r)));
    const flags = el("span", "text");
    s.flags.forEach((f) => flags.appendChild(el("span", "flag", f)));
    if (!s.flags.length) flags.appendChild(el("span", "empty", "none"));
    box.appendChild(line("cleaning flags", flags));
    if (s.error) box.appendChild(line("error", s.error));
    box.appendChild(editTable(s));
    box.appendChild(rawToggle(s));
    return box;
  }

  function details(row) {
    const box = el("div", "details");
    row.items.forEach((s, k) => box.appendChild(runDetails(s, RUNS.length > 1 ? RUNS[k].name : null)));
    return box;
  }

  function sentence(row) {
    const box = el("article", "sentence" + (row.differ ? " differ" : ""));
    box.dataset.index = String(row.i);
    box.dataset.outcome = row.items[state.run].outcome;
    const button = head(row);
    box.appendChild(button);
    box.appendChild(summary(row));
    if (state.open.has(row.i)) box.appendChild(details(row));
    button.addEventListener("click", () => toggle(row, box, button));
    return box;
  }

  function toggle(row, box, button) {
    const shown = box.querySelector(".details");
    if (shown) {
      shown.remove();
      state.open.delete(row.i);
    } else {
      box.appendChild(details(row));
      state.open.add(row.i);
    }
    button.setAttribute("aria-expanded", shown ? "false" : "true");
  }

  // ---- the list -----------------------------------------------------------------------------

  function render() {
    const started = performance.now();
    const list = ROWS.filter(matches).sort(SORTS[state.sort].by);
    const pages = Math.max(1, Math.ceil(list.length / state.size));
    state.page = Math.min(state.page, pages - 1);
    const start = state.page * state.size;
    const box = byId("sentences");
    box.replaceChildren(...list.slice(start, start + state.size).map(sentence));
    if (!list.length) box.appendChild(el("p", "empty", "No sentence matches."));
    const counter = byId("match-count");
    counter.textContent = list.length + " of " + N + " sentences";
    counter.dataset.count = String(list.length);
    byId("page-info").textContent = "page " + (state.page + 1) + " of " + pages;
    byId("page-prev").disabled = state.page === 0;
    byId("page-next").disabled = state.page >= pages - 1;
    document.documentElement.dataset.renderMs = (performance.now() - started).toFixed(1);
  }

  function fillRuns() {
    const select = byId("filter-run");
    RUNS.forEach((run, k) => addOption(select, String(k), run.name));
    byId("run-control").hidden = RUNS.length < 2;
  }

  function fillOutcomes() {
    const select = byId("filter-outcome");
    addOption(select, "", "all");
    const counts = {};
    ROWS.forEach((row) => { const o = row.items[state.run].outcome; counts[o] = (counts[o] || 0) + 1; });
    DATA.outcomes.filter((o) => counts[o]).forEach((o) => addOption(select, o, o + " (" + counts[o] + ")"));
  }

  function fillTypes() {
    const select = byId("filter-type");
    addOption(select, "", "any");
    OPERATIONS.forEach((op) => addOption(select, "any:" + op, "an edit of type " + op));
    OPERATIONS.forEach((op) => addOption(select, "fp:" + op, "a false positive of type " + op));
    OPERATIONS.forEach((op) => addOption(select, "missed:" + op, "a missed edit of type " + op));
  }

  function fillFlags() {
    const select = byId("filter-flag");
    const flags = new Set();
    RUNS.forEach((run) => run.sentences.forEach((s) => s.flags.forEach((f) => flags.add(f))));
    [["", "any"], ["*any", "some flag"], ["*none", "no flag"]].forEach((o) => addOption(select, o[0], o[1]));
    Array.from(flags).sort().forEach((f) => addOption(select, f, f));
  }

  function fillSorts() {
    const select = byId("sort");
    Object.keys(SORTS).filter((k) => k !== "differ" || RUNS.length > 1)
      .forEach((k) => addOption(select, k, SORTS[k].label));
    select.value = state.sort;
    const size = byId("page-size");
    [50, 200, 1000].forEach((n) => addOption(size, String(n), String(n)));
  }

  function refillOutcomes() {
    const select = byId("filter-outcome");
    select.replaceChildren();
    fillOutcomes();
    select.value = state.outcome;
    if (select.value !== state.outcome) state.outcome = "";
  }

  function listen(id, event, update) {
    byId(id).addEventListener(event, (e) => { update(e.target.value); state.page = 0; render(); });
  }

  function listenAll() {
    listen("filter-run", "change", (v) => { state.run = Number(v); refillOutcomes(); });
    listen("filter-outcome", "change", (v) => { state.outcome = v; });
    listen("filter-type", "change", (v) => { state.type = v; });
    listen("filter-flag", "change", (v) => { state.flag = v; });
    listen("search", "input", (v) => { state.query = v.trim().toLowerCase(); });
    listen("sort", "change", (v) => { state.sort = v; });
    listen("page-size", "change", (v) => { state.size = Number(v); });
    byId("page-prev").addEventListener("click", () => { state.page -= 1; render(); });
    byId("page-next").addEventListener("click", () => { state.page += 1; render(); });
  }

  fillRuns();
  fillOutcomes();
  fillTypes();
  fillFlags();
  fillSorts();
  listenAll();
  render();
  document.documentElement.dataset.readyMs = String(Math.round(performance.now()));
  document.documentElement.dataset.ready = "1";
}
