// classify serve: the page. Posts the pasted text to /v1/classify and draws the answer.
// Everything the service returns is put into the page as text (textContent), never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
// Topic colours: one per topic, in the model's topic order, the same in the chart and the table.
const PALETTE = ["#1f5fbf", "#2e8540", "#c2410c", "#7c3aed", "#0e7490", "#b91c1c", "#a16207", "#be185d",
  "#4338ca", "#047857", "#9a3412", "#475569"];
const colours = new Map();

function colourOf(topic) {
  if (!colours.has(topic)) colours.set(topic, colourNumber(colours.size));
  return colours.get(topic);
}

// Past the palette, hues a golden angle apart: every topic of a site with thirty sections differs.
function colourNumber(i) {
  if (i < PALETTE.length) return PALETTE[i];
  const hue = Math.round((i * 137.508) % 360);
  const light = 36 + ((i * 7) % 3) * 6;
  return `hsl(${hue}, 62%, ${light}%)`;
}

// The last answer's rows, for the CSV download.
let lastResults = [];

function csvCell(value) {
  let text = Array.isArray(value) ? value.map((v) => (Array.isArray(v) ? v.join(" ") : v)).join("|") : String(value ?? "");
  // A cell a spreadsheet would run as a formula gets a leading ' (as classify predict -f csv does).
  if (/^[=+\-@\t\r]/.test(text)) text = "'" + text;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function resultsCsv(results) {
  const columns = [];
  results.forEach((r) => Object.keys(r).forEach((k) => { if (!columns.includes(k)) columns.push(k); }));
  const lines = [columns.map(csvCell).join(",")];
  results.forEach((r) => lines.push(columns.map((k) => csvCell(r[k])).join(",")));
  return lines.join("\r\n") + "\r\n";
}

function downloadCsv() {
  const blob = new Blob([resultsCsv(lastResults)], { type: "text/csv;charset=utf-8" });
  const link = el("a");
  link.href = URL.createObjectURL(blob);
  link.download = "headlines.csv";
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function requestHeaders() {
  const headers = { "Content-Type": "application/json" };
  const key = $("key").value.trim();
  if (key) headers["X-API-Key"] = key;
  return headers;
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

function needKey() {
  $("keyrow").hidden = false;
  $("key").focus();
}

function showModel(id, topics) {
  $("model").textContent = `model ${id.slice(0, 8)} · ${topics.length} topics`;
  $("model").title = topics.join(", ");
}

async function loadModel() {
  try {
    const response = await fetch("/v1/topics", { headers: requestHeaders() });
    if (response.status === 401) {
      $("model").textContent = "API key needed";
      needKey();
      return;
    }
    const data = await response.json();
    if (!response.ok) {
      $("model").textContent = data.error || `model not available (HTTP ${response.status})`;
      return;
    }
    const names = data.topics.map((t) => t.name);
    names.forEach(colourOf);
    showModel(data.model.id, names);
  } catch (err) {
    $("model").textContent = "the service cannot be reached";
  }
}

async function classify(event) {
  event.preventDefault();
  const text = $("text").value;
  if (!text.trim()) {
    showError("Paste or type some headlines first.");
    return;
  }
  const body = { text, split: $("split").checked, from_page: $("page").checked, explain: $("explain").checked, top_k: 2 };
  const min = $("min").value.trim();
  if (min !== "") body.min_confidence = Number(min);
  const coverage = $("coverage").value.trim();
  if (coverage !== "") body.coverage = Number(coverage);
  showError("");
  $("go").disabled = true;
  $("status").textContent = "classifying…";
  const started = performance.now();
  try {
    const response = await fetch("/v1/classify", { method: "POST", headers: requestHeaders(), body: JSON.stringify(body) });
    const data = await response.json().catch(() => ({ error: `the service answered HTTP ${response.status}` }));
    if (!response.ok) {
      if (response.status === 401) needKey();
      showError(data.error || `the service answered HTTP ${response.status}`);
      $("status").textContent = "";
      return;
    }
    data.model.topics.forEach(colourOf);
    showModel(data.model.id, data.model.topics);  // a reload may have swapped the model
    render(data.results);
    loadMonitor();
    const ms = Math.round(performance.now() - started);
    const n = data.results.length;
    $("status").textContent = n ? `${n} headline${n === 1 ? "" : "s"} in ${ms} ms` : "no headlines found in the text";
  } catch (err) {
    showError("The service cannot be reached.");
    $("status").textContent = "";
  } finally {
    $("go").disabled = false;
  }
}

function render(results) {
  lastResults = results;
  renderTable(results);
  renderChart(results);
  $("results").hidden = results.length === 0;
  $("summary").hidden = results.length === 0;
}

function renderTable(results) {
  const tbody = $("table").tBodies[0];
  tbody.replaceChildren();
  results.forEach((r, i) => {
    const row = el("tr");
    row.append(el("td", "n", String(i + 1)));
    row.append(el("td", "headline", r.headline));

    const topic = el("td", "topic");
    const unsure = r.best_guess !== undefined && r.best_guess !== r.topic;
    const chip = el("span", unsure ? "chip unsure" : "chip", r.topic);
    if (!unsure) chip.style.background = colourOf(r.topic);
    topic.append(chip);
    if (unsure) {
      topic.append(el("span", "next", `best guess: ${r.best_guess}`));
    } else if (r.topics && r.topics.length > 1) {
      const [name, p] = r.topics[1];
      topic.append(el("span", "next", `next: ${name} ${p.toFixed(2)}`));
    }
    // Several topics as pills: the model's labels (a multi-label model) and the prediction set.
    if (r.labels && r.labels.length > 1) topic.append(pills("labels", "labels", r.labels));
    if (r.set) topic.append(pills("set", `set at ${$("coverage").value.trim()}`, r.set));
    row.append(topic);

    const conf = el("td", "conf");
    const meter = el("div", "meter");
    const bar = el("div", "bar");
    const fill = el("div", "fill");
    fill.style.width = `${Math.max(2, Math.round(r.confidence * 100))}%`;
    fill.style.background = unsure ? "#98a2b3" : colourOf(r.topic);
    bar.append(fill);
    meter.append(bar, el("span", "value", r.confidence.toFixed(2)));
    meter.title = `probability of ${unsure ? r.best_guess : r.topic}: ${r.confidence}`;
    conf.append(meter);
    row.append(conf);

    const why = el("td", "why");
    (r.why || []).forEach((word) => why.append(el("span", "word", word)));
    row.append(why);
    tbody.append(row);
  });
}

function pills(kind, title, topics) {
  const box = el("div", `pills ${kind}`);
  box.title = title;
  box.append(el("span", "pills-name", kind === "set" ? "set" : "also"));
  topics.forEach((t, i) => {
    if (kind === "labels" && i === 0) return;  // the first label is the topic itself
    const pill = el("span", "pill", t);
    pill.style.borderColor = colourOf(t);
    box.append(pill);
  });
  return box;
}

function renderChart(results) {
  // Bars drawn with CSS (a grid of label, bar, count): they stay readable at any width.
  const counts = new Map();
  const unsure = new Set();
  results.forEach((r) => {
    counts.set(r.topic, (counts.get(r.topic) || 0) + 1);
    if (r.best_guess !== undefined && r.best_guess !== r.topic) unsure.add(r.topic);
  });
  const rows = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const total = results.length;
  $("total").textContent = `· ${total} headline${total === 1 ? "" : "s"}`;
  const chart = $("chart");
  chart.replaceChildren();
  chart.setAttribute("aria-label", rows.map(([t, n]) => `${t} ${n}`).join(", "));
  if (!rows.length) return;
  const top = rows[0][1];
  rows.forEach(([topic, n]) => {
    const row = el("div", "chart-row");
    const track = el("div", "chart-track");
    const bar = el("div", "chart-bar");
    bar.style.width = `${Math.max(1.5, (100 * n) / top)}%`;
    bar.style.background = unsure.has(topic) ? "#98a2b3" : colourOf(topic);
    track.append(bar);
    row.append(el("span", "chart-label", topic), track, el("span", "chart-count", `${n} · ${Math.round((100 * n) / total)}%`));
    chart.append(row);
  });
}

// The topic mix over time (/v1/monitor): the training mix, then one column per point of the window's history.
function mixColumn(shares, className, title) {
  const col = el("div", `mix-col ${className}`);
  col.title = title;
  Object.entries(shares).forEach(([topic, share]) => {
    if (share <= 0) return;
    const seg = el("div", "mix-seg");
    seg.style.height = `${100 * share}%`;
    seg.style.background = colourOf(topic);
    col.append(seg);
  });
  return col;
}

function pct(x) {
  return `${Math.round(100 * x)}%`;
}

function renderMonitor(data) {
  if (!data.enabled) return;
  $("monitor").hidden = false;
  const report = data.report;
  $("monitor-seen").textContent = `· last ${Math.min(data.seen, data.window)} of ${data.seen} headlines`;
  const verdict = $("monitor-verdict");
  const reasons = $("monitor-reasons");
  reasons.replaceChildren();
  if (!report) {
    verdict.textContent = data.note;
    verdict.className = "verdict";
  } else if (data.seen === 0) {
    verdict.textContent = "No headlines classified yet.";
    verdict.className = "verdict";
  } else if (report.drift || data.alarm) {
    verdict.textContent = "The news has moved away from what the model was trained on.";
    verdict.className = "verdict moved";
    report.reasons.forEach((r) => reasons.append(el("li", "", r)));
    if (data.alarm && !report.reasons.length) reasons.append(el("li", "", "the topic mix or the confidence has shifted"));
    reasons.append(el("li", "", `what to do: ${report.advice}`));
  } else {
    verdict.textContent = "No change: the topic mix and the confidence look like the training data.";
    verdict.className = "verdict steady";
  }
  const chart = $("monitor-chart");
  chart.replaceChildren();
  if (report) chart.append(mixColumn(report.reference.topic_shares, "reference", "training data"));
  data.history.forEach((point) => {
    const title = `after ${point.seen} headlines: ` + Object.entries(point.shares).map(([t, v]) => `${t} ${pct(v)}`).join(", ");
    chart.append(mixColumn(point.shares, point.alarm ? "alarm" : "", title));
  });
  chart.setAttribute("aria-label", "topic shares over time");
  const legend = $("monitor-legend");
  legend.replaceChildren();
  const shares = report ? report.current.topic_shares : {};
  Object.keys(shares).forEach((topic) => {
    const item = el("span", "legend-item");
    const key = el("span", "legend-key");
    key.style.background = colourOf(topic);
    item.append(key, document.createTextNode(`${topic} ${pct(shares[topic])}`));
    legend.append(item);
  });
  if (report) {
    const c = report.current;
    const r = report.reference;
    $("monitor-figures").textContent = `mean confidence ${c.mean_confidence.toFixed(2)} (training ${r.mean_confidence.toFixed(2)}) · ` +
      `estimated accuracy ${pct(c.estimated_accuracy)} (training ${pct(r.estimated_accuracy)})` +
      (c.oov_rate === null ? "" : ` · unseen words ${pct(c.oov_rate)} (training ${pct(r.oov_rate)})`);
  }
}

async function loadMonitor() {
  try {
    const response = await fetch("/v1/monitor", { headers: requestHeaders() });
    if (!response.ok) return;
    renderMonitor(await response.json());
  } catch (err) {
    // The panel is a side view: a failed poll leaves it as it was.
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("form").addEventListener("submit", classify);
  $("download").addEventListener("click", downloadCsv);
  $("text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("form").requestSubmit();
  });
  $("key").addEventListener("change", loadModel);
  loadModel();
  loadMonitor();
  setInterval(() => { if (!document.hidden) loadMonitor(); }, 5000);
});
