// xpm web monitor: the live parts of the pages, over the JSON API (/api/) and the event stream.
// Plain JavaScript, no library and no build step; served from the package (the CSP allows only it).
"use strict";

const CSRF = document.querySelector('meta[name="xpm-csrf"]').content;
const FINISHED = new Set(["done", "error"]);

// ---- small helpers ---------------------------------------------------------------------------

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attributes, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
  for (const child of children.flat()) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

async function getJSON(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
  if (!response.ok) throw Object.assign(new Error(body.error || response.statusText), { body, status: response.status });
  return body;
}

async function postJSON(url, data) {
  const response = await fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-XPM-CSRF": CSRF },
    body: JSON.stringify(data),
  });
  const body = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
  if (!response.ok) throw Object.assign(new Error(body.error || response.statusText), { body });
  return body;
}

function pad(number) { return String(number).padStart(2, "0"); }

function formatTime(seconds) {
  if (seconds === null || seconds === undefined || seconds === "") return "—";
  const date = new Date(Number(seconds) * 1000);
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "—";
  seconds = Math.max(0, Math.round(seconds));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

function duration(job) {
  if (!job.started_time) return null;
  return (job.ended_time || Date.now() / 1000) - job.started_time;
}

function jobURL(job) { return `/jobs/${encodeURIComponent(job.task_id)}/${encodeURIComponent(job.job_id)}`; }
function jobRef(job) { return `${job.task_id}/${job.job_id}`; }
function shortTask(taskId) { return taskId.split(".").pop(); }

function stateBadge(state) { return el("span", { class: `state ${state}` }, state); }

// A running job's reported progress, outermost level first: "42% epochs › 7%".
function progressText(levels) {
  return (levels || []).map((level) => `${Math.floor(level.value * 100)}%${level.desc ? ` ${level.desc}` : ""}`).join(" › ");
}

function counts(jobCounts) {
  const order = ["running", "scheduled", "ready", "waiting", "unscheduled", "done", "error", "transient"];
  return order.filter((state) => jobCounts[state])
    .map((state) => el("span", { class: `count ${state}`, title: state }, `${jobCounts[state]} ${state}`));
}

function flash(message, kind) {
  const box = document.getElementById("flash");
  box.replaceChildren(...String(message).split("\n").map((line) => el("div", {}, line)));
  box.className = kind || "info";
  box.hidden = false;
}

// The event stream: one per page; `change` when the workspace index was written, `log` when a
// followed job's log grew. The browser reconnects by itself when the stream ends.
function listen(handlers, job) {
  const live = document.getElementById("live");
  const source = new EventSource("/api/events" + (job ? `?job=${encodeURIComponent(job)}` : ""));
  source.addEventListener("open", () => { live.className = "live on"; live.title = "live updates: connected"; });
  source.addEventListener("error", () => { live.className = "live off"; live.title = "live updates: reconnecting"; });
  for (const [name, handler] of Object.entries(handlers)) {
    source.addEventListener(name, (event) => handler(JSON.parse(event.data)));
  }
  return source;
}

// Runs `load` now and again after each change, never two at once (a change during a load
// schedules one more load, not one per event).
function refresher(load) {
  let running = false, again = false;
  async function run() {
    if (running) { again = true; return; }
    running = true;
    try { await load(); } catch (error) { console.error(error); }
    running = false;
    if (again) { again = false; run(); }
  }
  return run;
}

// Actions: a dry run says what would happen, the user confirms, then it is done.
async function act(url, data, what) {
  let preview;
  try {
    preview = await postJSON(url, { ...data, perform: false });
  } catch (error) { flash(`${what}: ${error.message}`, "error"); return null; }
  const outcomes = preview.outcomes;
  if (!outcomes.length) { flash(`${what}: nothing to do`, "info"); return null; }
  const doable = outcomes.filter((o) => o.status === "would_kill" || o.status === "would_delete");
  if (!doable.length) { flash(outcomes.map((o) => o.message).join("\n"), "info"); return null; }
  if (!window.confirm(`${what}?\n\n` + outcomes.map((o) => o.message).join("\n"))) return null;
  try {
    const result = await postJSON(url, { ...data, perform: true });
    flash(result.outcomes.map((o) => o.message).join("\n") || "done", result.refused ? "error" : "info");
    return result;
  } catch (error) { flash(`${what}: ${error.message}`, "error"); return null; }
}

// ---- the workspace page ------------------------------------------------------------------------

function workspacePage() {
  const body = document.querySelector("#experiments tbody");
  const load = refresher(async () => {
    const { experiments } = await getJSON("/api/experiments");
    const rows = [];
    for (const xp of experiments) {
      const latest = xp.latest;
      const link = `/experiments/${encodeURIComponent(xp.experiment_id)}`;
      rows.push(el("tr", { dataset: { experiment: xp.experiment_id } },
        el("td", {}, el("a", { href: link }, xp.experiment_id)),
        el("td", {}, xp.run_count),
        el("td", {}, latest ? stateBadge(latest.status || "unknown") : "—"),
        el("td", {}, latest ? counts(latest.job_counts) : "—"),
        el("td", {}, latest ? latest.hostname || "?" : "—"),
        el("td", {}, formatTime(latest && latest.started_at)),
        el("td", {}, formatTime(latest && (latest.ended_at || latest.started_at)))));
      if (xp.run_count > 1) {
        const { runs } = await getJSON(`/api/experiments/${encodeURIComponent(xp.experiment_id)}/runs`);
        for (const run of runs.slice().reverse()) {
          rows.push(el("tr", { class: "run" },
            el("td", {}, "↳ ", el("a", { href: `${link}/runs/${encodeURIComponent(run.run_id)}` }, run.run_id)),
            el("td", {}, ""), el("td", {}, stateBadge(run.status || "unknown")), el("td", {}, counts(run.job_counts)),
            el("td", {}, run.hostname || "?"), el("td", {}, formatTime(run.started_at)),
            el("td", {}, formatTime(run.ended_at || run.started_at))));
        }
      }
    }
    body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 7 }, "no experiment in this workspace yet"))]));
  });
  load();
  listen({ change: load });
}

// ---- the run page --------------------------------------------------------------------------------

const PAGE_SIZE = 100;
const FIXED_COLUMNS = [
  ["state", "state"], ["task", "task"], ["job", "job"],
];
const TIME_COLUMNS = [["submitted", "submitted"], ["started", "start"], ["duration", "duration"], ["retries", "retries"]];

function runPage() {
  const { experiment, run } = document.body.dataset;
  const params = new URLSearchParams(location.search);
  const sort = params.get("sort") || "submitted";
  const order = params.get("order") || (sort === "submitted" ? "desc" : "asc");
  const offset = Math.max(0, parseInt(params.get("offset") || "0", 10) || 0);
  const table = document.getElementById("jobs");
  const errorBox = document.getElementById("filter-error");
  const selected = new Set();
  const compareButton = document.getElementById("compare");

  function sortLink(key, label) {
    const next = new URLSearchParams(params);
    next.set("sort", key);
    next.set("order", sort === key && order === "asc" ? "desc" : "asc");
    next.delete("offset");
    const mark = sort === key ? (order === "asc" ? " ▲" : " ▼") : "";
    return el("a", { href: `?${next}`, class: "sort", dataset: { sort: key } }, label + mark);
  }

  function pageLink(label, newOffset) {
    const next = new URLSearchParams(params);
    next.set("offset", newOffset);
    return el("a", { href: `?${next}` }, label);
  }

  function showError(error) {
    // A filter error's message holds the filter and a caret under the column it happened at.
    errorBox.textContent = error.body && error.body.column ? `${error.body.error}` : error.message;
    errorBox.dataset.column = (error.body && error.body.column) || "";
    errorBox.hidden = false;
    document.getElementById("filter").classList.add("invalid");
  }

  async function loadSummary() {
    const { runs } = await getJSON(`/api/experiments/${encodeURIComponent(experiment)}/runs`);
    const summary = runs.find((r) => r.run_id === run);
    if (!summary) {
      flash(`experiment ${experiment} has no run ${run} (runs: ${runs.map((r) => r.run_id).join(", ") || "none"})`, "error");
      return;
    }
    document.getElementById("run-counts").replaceChildren(...counts(summary.job_counts));
    const status = document.getElementById("run-status");
    status.textContent = summary.status || "unknown";
    status.className = `state ${summary.status || ""}`;
    document.getElementById("run-host").textContent = summary.hostname || "?";
    const others = runs.filter((r) => r.run_id !== run).reverse();
    document.getElementById("other-runs").replaceChildren(...(others.length ? ["· other runs: ", ...others.flatMap((r) =>
      [el("a", { href: `/experiments/${encodeURIComponent(experiment)}/runs/${encodeURIComponent(r.run_id)}` }, r.run_id), " "])] : []));
  }

  const load = refresher(async () => {
    loadSummary().catch((error) => console.error(error));
    const query = new URLSearchParams({ experiment, run, sort, order, offset, limit: PAGE_SIZE });
    if (params.get("filter")) query.set("filter", params.get("filter"));
    let page;
    try {
      page = await getJSON(`/api/jobs?${query}`);
    } catch (error) {
      showError(error);
      table.tHead.replaceChildren();
      table.tBodies[0].replaceChildren();
      document.getElementById("pager").textContent = "";
      return;
    }
    errorBox.hidden = true;
    const tags = page.tag_names;
    table.tHead.replaceChildren(el("tr", {},
      el("th", {}, ""),
      FIXED_COLUMNS.map(([key, label]) => el("th", {}, sortLink(key, label))),
      tags.map((tag) => el("th", { class: "tag" }, sortLink(`tag:${tag}`, tag))),
      TIME_COLUMNS.map(([key, label]) => el("th", {}, sortLink(key, label))),
      el("th", {}, "")));
    const rows = page.jobs.map((job) => {
      const box = el("input", { type: "checkbox", checked: selected.has(jobRef(job)), "aria-label": "select" });
      box.addEventListener("change", () => {
        if (box.checked) selected.add(jobRef(job)); else selected.delete(jobRef(job));
        compareButton.disabled = selected.size < 2;
      });
      const kill = FINISHED.has(job.state) ? "" : el("button", { type: "button", class: "small danger" }, "kill");
      if (kill) kill.addEventListener("click", async () => { await act("/api/actions/kill", { jobs: [jobRef(job)] }, `kill ${shortTask(job.task_id)}/${job.job_id.slice(0, 8)}`); load(); });
      return el("tr", { dataset: { job: job.job_id, state: job.state } },
        el("td", {}, box),
        el("td", { class: "state-cell" }, stateBadge(job.state),
          job.progress && job.progress.length ? el("span", { class: "progress" }, ` ${progressText(job.progress)}`) : ""),
        el("td", { title: job.task_id }, shortTask(job.task_id)),
        el("td", {}, el("a", { href: jobURL(job) }, el("code", {}, job.job_id.slice(0, 12)))),
        tags.map((tag) => el("td", { class: "tag" }, tag in job.tags ? JSON.stringify(job.tags[tag]) : "")),
        el("td", {}, formatTime(job.submitted_time)),
        el("td", {}, formatTime(job.started_time)),
        el("td", {}, formatDuration(duration(job))),
        el("td", {}, job.retry_count || 0),
        el("td", {}, kill));
    });
    const width = FIXED_COLUMNS.length + tags.length + TIME_COLUMNS.length + 2;
    table.tBodies[0].replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: width }, "no job matches"))]));
    const pager = document.getElementById("pager");
    const last = Math.min(page.offset + page.jobs.length, page.total);
    pager.replaceChildren(
      page.offset > 0 ? pageLink("« previous", Math.max(0, page.offset - PAGE_SIZE)) : "",
      ` jobs ${page.total ? page.offset + 1 : 0}–${last} of ${page.total} `,
      last < page.total ? pageLink("next »", page.offset + PAGE_SIZE) : "");
  });
  compareButton.addEventListener("click", () => {
    location.href = "/compare?" + [...selected].map((ref) => `job=${encodeURIComponent(ref)}`).join("&");
  });
  document.getElementById("kill-run").addEventListener("click", async () => {
    await act("/api/actions/kill-run", { experiment, run }, `kill every running job of ${experiment} (${run})`);
    load();
  });
  document.getElementById("filter").addEventListener("input", (event) => event.target.classList.remove("invalid"));
  load();
  listen({ change: load });
}

// ---- the job page ---------------------------------------------------------------------------------

function jobPage() {
  const ref = document.body.dataset.job;
  const [taskId, jobId] = [ref.slice(0, ref.lastIndexOf("/")), ref.slice(ref.lastIndexOf("/") + 1)];
  const base = `/api/jobs/${encodeURIComponent(taskId)}/${encodeURIComponent(jobId)}`;
  const logBox = document.getElementById("log");
  const follow = document.getElementById("follow");
  const TAIL = 64 * 1024;
  let stream = "stderr", next = null, generation = 0;

  for (const node of document.querySelectorAll("[data-time]")) node.textContent = formatTime(node.dataset.time);

  const loadLog = refresher(async () => {
    const mine = generation;
    // First the last 64 KiB (a tail), then what was appended since, chunk after chunk.
    const offset = next === null ? -TAIL : next;
    const chunk = await getJSON(`${base}/log/${stream}?offset=${offset}&size=${1024 * 1024}`);
    if (mine !== generation) return;
    if (next === null) {
      logBox.textContent = chunk.exists ? (chunk.offset > 0 ? `… (the first ${chunk.offset} bytes are in the download)\n` : "") + chunk.text
        : `no ${stream} yet`;
    } else if (chunk.text) {
      logBox.append(chunk.text);
    }
    next = chunk.exists ? chunk.next_offset : null;
    if (follow.checked) logBox.scrollTop = logBox.scrollHeight;
    if (chunk.exists && chunk.next_offset < chunk.size) loadLog();
  });

  for (const radio of document.querySelectorAll('input[name="stream"]')) {
    radio.addEventListener("change", () => { stream = radio.value; next = null; generation += 1; loadLog(); });
  }
  follow.addEventListener("change", () => { if (follow.checked) logBox.scrollTop = logBox.scrollHeight; });

  const loadJob = refresher(async () => {
    let detail;
    try { detail = await getJSON(base); } catch (error) {
      if (error.status === 404) { document.getElementById("job-state").replaceWith(stateBadge("deleted")); return; }
      throw error;
    }
    const job = detail.job;
    const badge = document.getElementById("job-state");
    badge.textContent = job.state;
    badge.className = `state ${job.state}`;
    for (const [id, value] of [["job-started", job.started_time], ["job-ended", job.ended_time]]) {
      document.getElementById(id).textContent = formatTime(value);
    }
    document.getElementById("job-exit").textContent = job.exit_code === null ? "—" : job.exit_code;
    document.getElementById("job-progress").textContent = progressText(job.progress) || "—";
    const reason = (detail.failure && detail.failure.reason) || job.failure_reason;
    document.getElementById("job-failure").hidden = !reason;
    document.getElementById("job-failure-text").textContent = reason || "";
    loadLog();
  });

  document.getElementById("kill-job").addEventListener("click", async () => {
    await act("/api/actions/kill", { jobs: [ref] }, `kill ${shortTask(taskId)}/${jobId.slice(0, 8)}`);
    loadJob();
  });
  document.getElementById("clean-job").addEventListener("click", async () => {
    const result = await act("/api/actions/clean", { jobs: [ref] }, `delete the folder of ${shortTask(taskId)}/${jobId.slice(0, 8)}`);
    if (result) loadJob();
  });
  loadLog();
  listen({ change: loadJob, log: (event) => { if (event.stream === stream) loadLog(); } }, ref);
}

// ---- the dependency graph ------------------------------------------------------------------------

async function runJobs(experiment, run) {
  const query = new URLSearchParams({ experiment, run, sort: "submitted", order: "asc", limit: 1000 });
  return (await getJSON(`/api/jobs?${query}`)).jobs;
}

function graphPage() {
  const { experiment, run } = document.body.dataset;
  const box = document.getElementById("graph");
  const load = refresher(async () => {
    const jobs = await runJobs(experiment, run);
    const { dependencies } = await getJSON(`/api/experiments/${encodeURIComponent(experiment)}/runs/${encodeURIComponent(run)}/dependencies`);
    const byId = new Map(jobs.map((job) => [job.job_id, job]));
    // Column of a job: one more than the deepest of its dependencies (longest path from a source).
    const column = new Map();
    const depth = (id, seen = new Set()) => {
      if (column.has(id)) return column.get(id);
      if (seen.has(id)) return 0;
      seen.add(id);
      const parents = (dependencies[id] || []).filter((p) => byId.has(p));
      const value = parents.length ? 1 + Math.max(...parents.map((p) => depth(p, seen))) : 0;
      column.set(id, value);
      return value;
    };
    const columns = [];
    for (const job of jobs) (columns[depth(job.job_id)] ||= []).push(job);
    const W = 190, H = 34, GAP_X = 70, GAP_Y = 12;
    const position = new Map();
    columns.forEach((members, x) => members.forEach((job, y) => position.set(job.job_id, [x * (W + GAP_X) + 10, y * (H + GAP_Y) + 10])));
    const width = columns.length * (W + GAP_X) + 20;
    const height = Math.max(...columns.map((c) => c.length), 1) * (H + GAP_Y) + 20;
    const edges = [];
    for (const [id, parents] of Object.entries(dependencies)) {
      for (const parent of parents) {
        if (!position.has(id) || !position.has(parent)) continue;
        const [x1, y1] = position.get(parent), [x2, y2] = position.get(id);
        edges.push(svg("path", { d: `M${x1 + W},${y1 + H / 2} C${x1 + W + GAP_X / 2},${y1 + H / 2} ${x2 - GAP_X / 2},${y2 + H / 2} ${x2},${y2 + H / 2}`, class: "edge" }));
      }
    }
    const nodes = jobs.map((job) => {
      const [x, y] = position.get(job.job_id);
      const tags = Object.entries(job.tags).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(" ");
      return svg("a", { href: jobURL(job) },
        svg("rect", { x, y, width: W, height: H, rx: 5, class: `node ${job.state}` }),
        svg("text", { x: x + 8, y: y + 14 }, `${shortTask(job.task_id)} · ${job.state}`),
        svg("text", { x: x + 8, y: y + 28, class: "small" }, (tags || job.job_id.slice(0, 12)).slice(0, 30)),
        svg("title", {}, `${job.task_id}/${job.job_id}\n${tags}`));
    });
    box.replaceChildren(jobs.length ? svg("svg", { width, height, viewBox: `0 0 ${width} ${height}` }, edges, nodes)
      : el("p", {}, "this run has no job"));
  });
  load();
  listen({ change: load });
}

// ---- the timeline --------------------------------------------------------------------------------

function timelinePage() {
  const { experiment, run } = document.body.dataset;
  const box = document.getElementById("timeline");
  const load = refresher(async () => {
    const jobs = await runJobs(experiment, run);
    const now = Date.now() / 1000;
    const times = jobs.flatMap((j) => [j.submitted_time, j.started_time, j.ended_time]).filter((t) => t);
    if (!jobs.length || !times.length) { box.replaceChildren(el("p", {}, "no job has started yet")); return; }
    const start = Math.min(...times);
    const end = Math.max(now * (jobs.some((j) => !FINISHED.has(j.state)) ? 1 : 0), ...times);
    const LABEL = 220, WIDTH = 900, ROW = 18;
    const scale = (t) => LABEL + ((t - start) / Math.max(end - start, 1e-6)) * (WIDTH - LABEL - 10);
    const rows = jobs.map((job, i) => {
      const y = 24 + i * ROW;
      const parts = [svg("a", { href: jobURL(job) }, svg("text", { x: 4, y: y + 12, class: "small" },
        `${shortTask(job.task_id)} ${Object.values(job.tags).map((v) => JSON.stringify(v)).join(" ")}`.slice(0, 34)))];
      const submitted = job.submitted_time || job.started_time;
      const started = job.started_time;
      const ended = job.ended_time || (FINISHED.has(job.state) ? started : now);
      if (submitted) parts.push(svg("rect", { x: scale(submitted), y: y + 3, height: ROW - 6, class: "bar waiting",
        width: Math.max(1, scale(started || now) - scale(submitted)) }));
      if (started) parts.push(svg("rect", { x: scale(started), y: y + 2, height: ROW - 4,
        class: `bar ${job.state === "running" ? "running" : job.state}`, width: Math.max(2, scale(ended) - scale(started)) },
        svg("title", {}, `${job.task_id}/${job.job_id}\nwaited ${formatDuration((started || now) - submitted)}, ran ${formatDuration(ended - started)}`)));
      return svg("g", {}, parts);
    });
    const height = 30 + jobs.length * ROW;
    const axis = [svg("text", { x: LABEL, y: 14, class: "small" }, formatTime(start)),
      svg("text", { x: WIDTH - 10, y: 14, class: "small", "text-anchor": "end" }, `${formatTime(end)} (${formatDuration(end - start)})`)];
    box.replaceChildren(svg("svg", { width: WIDTH, height, viewBox: `0 0 ${WIDTH} ${height}` }, axis, rows));
  });
  load();
  listen({ change: load });
}

const PAGES = { workspace: workspacePage, run: runPage, job: jobPage, graph: graphPage, timeline: timelinePage };
document.addEventListener("DOMContentLoaded", () => {
  const page = PAGES[document.body.dataset.page];
  if (page) page();
});
