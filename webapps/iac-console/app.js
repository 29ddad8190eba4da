/* dataiku-iac console: plan, approve and apply, state history, lock, drift.
 *
 * Plain JS, no framework and no build step: the plugin must work offline inside DSS.
 * Every value from the backend goes into the DOM through textContent or attributes, never
 * innerHTML. The backend decides who may do what; the page only reflects its answers.
 */
(function () {
  "use strict";

  var ACTION_SYMBOLS = { "create": "+", "update": "~", "delete": "-", "replace": "-/+", "forget": "x", "no-op": " " };
  var ACTION_VERBS = {
    "create": "will be created", "update": "will be updated in place", "delete": "will be destroyed",
    "replace": "must be replaced", "forget": "will be removed from state", "no-op": "unchanged"
  };
  var POLL_MS = 700;
  var AUTO_OPEN_LIMIT = 25; // small plans open with every diff visible; big ones start folded

  var state = { context: null, plan: null, job: null, pollTimer: null, busy: false, graphShown: false };
  var SVG_NS = "http://www.w3.org/2000/svg";

  function $(id) { return document.getElementById(id); }

  /* ---------------------------------------------------------------- backend calls */

  function backendUrl(path) {
    // DSS defines getWebAppBackendUrl globally in STANDARD webapps (dataiku.getWebAppBackendUrl in some versions).
    if (typeof getWebAppBackendUrl === "function") { return getWebAppBackendUrl(path); }
    if (window.dataiku && typeof window.dataiku.getWebAppBackendUrl === "function") {
      return window.dataiku.getWebAppBackendUrl(path);
    }
    return path;
  }

  function call(method, path, body) {
    var init = {
      method: method,
      credentials: "same-origin",
      // The custom header makes every call a CORS "non-simple" request: another site cannot forge it.
      headers: { "Accept": "application/json", "X-Requested-With": "dataiku-iac-console" }
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(backendUrl(path), init).then(readResponse);
  }

  function readResponse(response) {
    return response.text().then(function (text) {
      var data = null;
      try { data = text ? JSON.parse(text) : {}; } catch (e) { data = null; }
      if (response.ok && data) { return data; }
      var error = (data && data.error) || fallbackError(response.status);
      var err = new Error(error.message);
      err.kind = error.kind || "Error";
      err.status = response.status;
      throw err;
    });
  }

  function fallbackError(status) {
    if (status === 502 || status === 503) {
      return { kind: "BackendUnavailable", message: "The webapp backend is not running. Start it from the webapp's settings in DSS." };
    }
    return { kind: "HttpError", message: "The backend answered HTTP " + status + "." };
  }

  /* ---------------------------------------------------------------- small DOM helpers */

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") { node.textContent = attrs[name]; }
      else if (name === "className") { node.className = attrs[name]; }
      else { node.setAttribute(name, attrs[name]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  function show(node, visible) { node.hidden = !visible; }

  function showError(err) {
    $("iac-error-kind").textContent = (err.kind || "Error") + ":";
    $("iac-error-message").textContent = " " + (err.message || "Something went wrong.");
    show($("iac-error"), true);
    $("iac-error").focus();
  }

  function hideError() { show($("iac-error"), false); }

  function setBusy(message) {
    state.busy = Boolean(message);
    $("iac-busy").textContent = message || "";
    ["iac-plan-button", "iac-drift-button"].forEach(function (id) { $(id).disabled = state.busy; });
  }

  /* ---------------------------------------------------------------- tabs */

  var TABS = ["plan", "apply", "history", "lock", "graph", "drift"];

  function selectTab(name, focus) {
    TABS.forEach(function (tab) {
      var selected = tab === name;
      var button = $("tab-" + tab);
      button.setAttribute("aria-selected", selected ? "true" : "false");
      button.tabIndex = selected ? 0 : -1;
      show($("panel-" + tab), selected);
      if (selected && focus) { button.focus(); }
    });
    if (name === "history") { loadHistory(); }
    if (name === "lock") { loadLock(); }
    if (name === "drift") { loadDrift(false); }
    if (name === "graph" && !state.graphShown) { loadGraph(); }
  }

  function onTabKey(event) {
    var index = TABS.indexOf(event.target.id.replace("tab-", ""));
    if (event.key === "ArrowRight") { selectTab(TABS[(index + 1) % TABS.length], true); }
    if (event.key === "ArrowLeft") { selectTab(TABS[(index + TABS.length - 1) % TABS.length], true); }
  }

  /* ---------------------------------------------------------------- the source form */

  function sourceKind() {
    var checked = document.querySelector("#iac-source-form input[name=kind]:checked");
    return checked ? checked.value : "library";
  }

  function currentSource() {
    if (sourceKind() === "git") {
      return { kind: "git", url: $("iac-git-url").value.trim(), ref: $("iac-git-ref").value.trim(),
               subpath: $("iac-git-subpath").value.trim() };
    }
    return { kind: "library", project_key: $("iac-library-project").value.trim(), path: $("iac-library-path").value.trim() };
  }

  function target() {
    return { source: currentSource(), environment: $("iac-environment").value.trim() };
  }

  function syncSourceFields() {
    var git = sourceKind() === "git";
    show($("iac-git-fields"), git);
    show($("iac-library-fields"), !git);
  }

  function fillDefaults(defaults) {
    var source = defaults.source || {};
    var radio = document.querySelector("#iac-source-form input[value=" + (source.kind === "git" ? "git" : "library") + "]");
    radio.checked = true;
    $("iac-library-project").value = source.project_key || "";
    $("iac-library-path").value = source.path || "";
    $("iac-git-url").value = source.url || "";
    $("iac-git-ref").value = source.ref || "";
    $("iac-git-subpath").value = source.subpath || "";
    $("iac-environment").value = defaults.environment || "";
    var list = $("iac-environments");
    clear(list);
    (defaults.environments || []).forEach(function (name) { list.appendChild(el("option", { value: name })); });
    syncSourceFields();
  }

  /* ---------------------------------------------------------------- identity */

  function loadContext() {
    return call("GET", "api/context").then(function (data) {
      state.context = data;
      var user = data.user;
      var role = user.admin ? "DSS administrator" : "user";
      $("iac-whoami").textContent = "Signed in as " + (user.display_name || user.login) + " (" + role + ")";
      fillDefaults(data.defaults || {});
    }).catch(function (err) {
      $("iac-whoami").textContent = "Not identified";
      showError(err);
    });
  }

  /* ---------------------------------------------------------------- plan */

  function runPlan(event) {
    if (event) { event.preventDefault(); }
    if (state.busy) { return; }
    hideError();
    setBusy("Planning… (reading the configuration and DSS)");
    state.graphShown = false; // the configuration may have changed: the Graph tab draws it again
    var body = target();
    body.train = $("iac-train-check").checked; // apply --train: retrain the saved models in scope
    call("POST", "api/plan", body).then(function (data) {
      state.plan = data.plan;
      renderPlan(data.plan);
      selectTab("plan");
    }).catch(showError).then(function () { setBusy(""); });
  }

  function summaryText(summary) {
    var text = summary.add + " to add, " + summary.change + " to change, " + summary.destroy + " to destroy";
    if (summary.forget) { text += ", " + summary.forget + " to forget"; }
    return "Plan: " + text + ".";
  }

  function renderPlan(plan) {
    show($("iac-plan-empty"), false);
    show($("iac-plan"), true);
    $("iac-plan-summary").textContent = plan.has_changes ? summaryText(plan.summary)
      : "No changes. DSS matches the configuration.";
    renderNotes(plan);
    renderPlanTree(plan);
    renderApproval(plan);
  }

  function renderNotes(plan) {
    var list = $("iac-plan-notes");
    clear(list);
    (plan.notes || []).forEach(function (note) { list.appendChild(el("li", { className: "iac-note", text: "Note: " + note })); });
    if (plan.train) {
      list.appendChild(el("li", { className: "iac-note", text: "Note: applying this plan retrains the saved models it updates (a new version each)." }));
    }
    (plan.warnings || []).forEach(function (w) { list.appendChild(el("li", { className: "iac-warning", text: "Warning: " + w })); });
    if (plan.govern) {
      // The environment requires a Dataiku Govern approval of the plan (policies.require_approval)
      list.appendChild(el("li", { className: "iac-govern iac-govern-" + plan.govern.state, id: "iac-plan-govern",
                                  text: "Govern approval " + plan.govern.state + ": " + plan.govern.reason }));
    }
  }

  function renderPlanTree(plan, openState) {
    var tree = $("iac-plan-tree");
    var showNoop = $("iac-show-noop").checked;
    var open = openState || defaultOpenState(plan);
    clear(tree);
    plan.projects.forEach(function (project) {
      var resources = project.resources.filter(function (r) { return showNoop || r.action !== "no-op"; });
      if (!resources.length) { return; }
      tree.appendChild(projectNode(project, resources, open));
    });
    if (!tree.firstChild) {
      tree.appendChild(el("p", { className: "iac-empty", text: "Nothing to show." }));
    }
  }

  function defaultOpenState(plan) {
    var actionable = [];
    plan.projects.forEach(function (project) {
      project.resources.forEach(function (r) { if (r.action !== "no-op") { actionable.push(r.address); } });
    });
    var open = {};
    if (actionable.length <= AUTO_OPEN_LIMIT) { actionable.forEach(function (a) { open[a] = true; }); }
    return open;
  }

  function currentOpenState() {
    var open = {};
    document.querySelectorAll("#iac-plan-tree .iac-resource").forEach(function (item) {
      if (item.querySelector("details").open) { open[item.getAttribute("data-address")] = true; }
    });
    return open;
  }

  function projectNode(project, resources, open) {
    var counts = el("span", { className: "iac-counts", text: countsText(project.counts) });
    var summary = el("summary", {}, [el("span", { className: "iac-project-key", text: project.project_key }), counts]);
    var list = el("ul", { className: "iac-resources" });
    resources.forEach(function (change) { list.appendChild(resourceNode(change, Boolean(open[change.address]))); });
    return el("details", { open: "", className: "iac-project", "data-project": project.project_key },
      [summary, list]);
  }

  function countsText(counts) {
    var parts = [];
    ["create", "update", "replace", "delete", "forget"].forEach(function (action) {
      if (counts[action]) { parts.push(counts[action] + " " + action); }
    });
    return parts.length ? parts.join(", ") : "no changes";
  }

  function resourceNode(change, open) {
    var symbol = el("span", { className: "iac-symbol", "aria-hidden": "true", text: ACTION_SYMBOLS[change.action] || "?" });
    var label = el("span", { className: "iac-address", text: change.address });
    var verb = el("span", { className: "iac-verb", text: ACTION_VERBS[change.action] || change.action });
    var head = el("summary", {}, [symbol, label, verb]);
    var body = el("div", { className: "iac-resource-body" }, [
      el("p", { className: "iac-reason", text: change.reason || "" }),
      fieldTable(change.fields || [])
    ]);
    var details = el("details", {}, [head, body]);
    details.open = open;
    return el("li", { className: "iac-resource iac-" + change.action, "data-address": change.address,
      "data-action": change.action }, [details]);
  }

  function fieldTable(fields) {
    if (!fields.length) { return null; }
    var rows = fields.map(function (field) {
      var name = el("th", { scope: "row", text: field.name });
      if (field.forces_replacement) { name.appendChild(el("span", { className: "iac-forces", text: " forces replacement" })); }
      return el("tr", { className: "iac-field iac-field-" + field.kind }, [
        name,
        el("td", { className: "iac-before" }, [el("pre", { text: field.before === null ? "" : field.before })]),
        el("td", { className: "iac-after" }, [el("pre", { text: field.after === null ? "" : field.after })])
      ]);
    });
    var head = el("thead", {}, [el("tr", {}, [
      el("th", { scope: "col", text: "Field" }), el("th", { scope: "col", text: "Now in DSS" }),
      el("th", { scope: "col", text: "After apply" })])]);
    return el("table", { className: "iac-diff" }, [head, el("tbody", {}, rows)]);
  }

  function renderApproval(plan) {
    var box = $("iac-approve");
    show(box, plan.has_changes);
    $("iac-approve-check").checked = false;
    $("iac-apply-button").disabled = true;
    $("iac-plan-binding").textContent = "Plan " + plan.digest.slice(0, 12) + " for environment " + plan.environment +
      ", computed against state serial " + plan.serial + ". Applying is refused if the state or the configuration changes first.";
    var hint = $("iac-apply-hint");
    var allowed = !plan.can_apply || plan.can_apply.allowed;
    show(hint, !allowed);
    hint.textContent = allowed ? "" : "You cannot apply this plan yourself: " + plan.can_apply.reason +
      ". A DSS administrator, or an administrator of every project it touches, can.";
  }

  /* ---------------------------------------------------------------- apply */

  function startApply() {
    var plan = state.plan;
    if (!plan || !$("iac-approve-check").checked) { return; }
    hideError();
    $("iac-apply-button").disabled = true;
    // The approval names exactly the plan shown: its id, content digest and the state serial it was made on.
    call("POST", "api/apply", { plan_id: plan.id, digest: plan.digest, serial: plan.serial }).then(function (data) {
      state.job = data.job;
      renderJob(data.job, true);
      selectTab("apply");
      schedulePoll();
    }).catch(function (err) {
      $("iac-apply-button").disabled = !$("iac-approve-check").checked;
      showError(err);
    });
  }

  function schedulePoll() {
    window.clearTimeout(state.pollTimer);
    state.pollTimer = window.setTimeout(pollJob, POLL_MS);
  }

  function pollJob() {
    var job = state.job;
    if (!job) { return; }
    call("GET", "api/jobs/" + encodeURIComponent(job.id) + "?since=" + job.next).then(function (data) {
      state.job = data.job;
      renderJob(data.job, false);
      if (data.job.status === "running") { schedulePoll(); }
      else { afterApply(data.job); }
    }).catch(function (err) { showError(err); schedulePoll(); });
  }

  function renderJob(job, reset) {
    show($("iac-apply-empty"), false);
    show($("iac-apply"), true);
    var progress = $("iac-apply-progress");
    progress.max = Math.max(job.total, 1);
    progress.value = job.completed;
    var status = $("iac-apply-status");
    status.className = "iac-summary iac-status-" + job.status;
    status.textContent = jobStatusText(job);
    var list = $("iac-apply-events");
    if (reset) { clear(list); }
    job.events.forEach(function (event) { list.appendChild(eventNode(event)); });
  }

  function jobStatusText(job) {
    if (job.status === "running") { return "Applying… " + job.completed + " of " + job.total + " changes done."; }
    return job.message || job.status;
  }

  function eventNode(event) {
    var text = event.kind === "start" ? "started" : event.kind;
    var item = el("li", { className: "iac-event iac-event-" + event.kind }, [
      el("time", { text: event.at }),
      el("span", { className: "iac-event-kind", text: text })
    ]);
    if (event.address) {
      item.appendChild(el("span", { className: "iac-event-action", text: event.action }));
      item.appendChild(el("span", { className: "iac-address", text: event.address }));
    }
    if (event.detail) { item.appendChild(el("span", { className: "iac-event-detail", text: event.detail })); }
    return item;
  }

  function afterApply(job) {
    state.plan = null; // a plan is applied at most once: plan again to see where things stand
    show($("iac-approve"), false);
    if (job.status === "succeeded") { loadHistory(); }
  }

  /* ---------------------------------------------------------------- history, lock, drift */

  function loadHistory() {
    var t = target();
    if (!t.environment) { return; }
    call("POST", "api/history", t).then(function (data) { renderHistory(data.history); }).catch(showError);
  }

  function renderHistory(entries) {
    var rows = $("iac-history-rows");
    clear(rows);
    show($("iac-history-empty"), !entries.length);
    show($("iac-history-table"), entries.length > 0);
    entries.slice().reverse().forEach(function (entry, index) {
      var serial = el("td", { text: String(entry.serial) });
      if (index === 0) { serial.appendChild(el("span", { className: "iac-badge", text: "current" })); }
      rows.appendChild(el("tr", { "data-serial": String(entry.serial) }, [
        serial,
        el("td", { text: entry.written_at || "" }),
        el("td", { text: String(entry.resource_count) }),
        el("td", { text: entry.error ? "unreadable: " + entry.error : (entry.operation || "") })
      ]));
    });
  }

  function loadLock() {
    var t = target();
    if (!t.environment) { return; }
    call("POST", "api/lock", t).then(function (data) { renderLock(data.lock); }).catch(showError);
  }

  function renderLock(lock) {
    show($("iac-lock-empty"), !lock);
    show($("iac-lock"), Boolean(lock));
    var facts = $("iac-lock-facts");
    clear(facts);
    if (!lock) { return; }
    [["Lock id", lock.id], ["Held by", lock.who], ["Operation", lock.operation], ["Since", lock.created],
      ["Expires", lock.expires], ["Status", lock.status || ""]].forEach(function (pair) {
      facts.appendChild(el("dt", { text: pair[0] }));
      facts.appendChild(el("dd", { text: String(pair[1]) }));
    });
  }

  function unlock() {
    var t = target();
    t.lock_id = $("iac-unlock-id").value.trim();
    if (!t.lock_id) { showError({ kind: "Input", message: "Type the id of the lock to release." }); return; }
    hideError();
    call("POST", "api/unlock", t).then(function () { $("iac-unlock-id").value = ""; loadLock(); }).catch(showError);
  }

  function loadDrift(run) {
    var t = target();
    if (!t.environment) { return; }
    if (run) { hideError(); setBusy("Checking drift… (reading DSS)"); }
    t.run = Boolean(run);
    call("POST", "api/drift", t).then(function (data) {
      renderDrift(data.drift);
      if (run) { selectTab("drift"); }
    }).catch(showError).then(function () { if (run) { setBusy(""); } });
  }

  function renderDrift(drift) {
    show($("iac-drift-empty"), !drift);
    show($("iac-drift"), Boolean(drift));
    var tree = $("iac-drift-tree");
    clear(tree);
    if (!drift) { return; }
    var counts = drift.summary;
    var when = drift.checked_at ? " Checked " + drift.checked_at + (drift.origin ? " by the " + drift.origin : "") + "." : "";
    $("iac-drift-summary").textContent = (drift.drift
      ? "Drift found: " + counts.changed + " changed, " + counts.deleted + " deleted, " + counts.unmanaged + " unmanaged."
      : "No drift: DSS matches the last apply.") + when;
    var open = drift.resources.length <= AUTO_OPEN_LIMIT;
    drift.resources.forEach(function (item) { tree.appendChild(driftNode(item, open)); });
  }

  function driftNode(item, open) {
    var rows = (item.fields || []).map(function (f) {
      return { name: f.name, before: f.recorded, after: f.live, kind: "change" };
    });
    var head = el("summary", {}, [
      el("span", { className: "iac-address", text: item.address }),
      el("span", { className: "iac-verb", text: item.kind })
    ]);
    var table = fieldTable(rows);
    if (table) {
      table.querySelector("thead th:nth-child(2)").textContent = "Recorded at last apply";
      table.querySelector("thead th:nth-child(3)").textContent = "Live in DSS";
    }
    var details = el("details", { className: "iac-drift-item iac-drift-" + item.kind }, [head, table]);
    details.open = open;
    return details;
  }

  /* ---------------------------------------------------------------- dependency graph */

  function loadGraph() {
    var t = target();
    if (!t.environment) { return; }
    hideError();
    $("iac-graph-refresh").disabled = true;
    call("POST", "api/graph", t).then(function (data) {
      state.graphShown = true;
      renderGraph(data.graph);
    }).catch(showError).then(function () { $("iac-graph-refresh").disabled = false; });
  }

  function svg(tag, attrs, children) {
    // The layout comes from the backend (output/graph.py); names go in as text, never as markup.
    var node = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") { node.textContent = attrs[name]; } else { node.setAttribute(name, attrs[name]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  function edgePath(from, to, graph) {
    // From the dependent's left side to its dependency's right side (dependencies stand on the left).
    var x1 = from.x, y1 = from.y + graph.node_height / 2;
    var x2 = to.x + graph.node_width, y2 = to.y + graph.node_height / 2;
    var bend = Math.max(20, (x1 - x2) / 2);
    return "M " + x1 + " " + y1 + " C " + (x1 - bend) + " " + y1 + ", " + (x2 + bend) + " " + y2 + ", " + x2 + " " + y2;
  }

  function renderGraph(graph) {
    show($("iac-graph-empty"), false);
    show($("iac-graph"), true);
    $("iac-graph-summary").textContent = graph.title + ".";
    $("iac-graph-legend").textContent = "An arrow points from an object to what it depends on (created first, on the left)." +
      (graph.hidden_project_edges ? " Every object also depends on its project: those " + graph.hidden_project_edges +
       " arrows are not drawn." : "");
    var canvas = $("iac-graph-canvas");
    clear(canvas);
    var byAddress = {};
    graph.nodes.forEach(function (node) { byAddress[node.address] = node; });
    var marker = svg("marker", { id: "iac-arrow", viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "7",
      markerHeight: "7", orient: "auto-start-reverse" }, [svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#888" })]);
    var picture = svg("svg", { width: graph.width, height: graph.height, viewBox: "0 0 " + graph.width + " " + graph.height,
      role: "img", "aria-label": graph.title, id: "iac-graph-svg" }, [svg("defs", {}, [marker])]);
    graph.edges.forEach(function (edge) {
      var path = svg("path", { d: edgePath(byAddress[edge.from], byAddress[edge.to], graph), fill: "none", stroke: "#888",
        "stroke-width": "1.2", "marker-end": "url(#iac-arrow)", "class": "iac-graph-edge",
        "data-from": edge.from, "data-to": edge.to }, [svg("title", { text: edge.from + " depends on " + edge.to })]);
      picture.appendChild(path);
    });
    graph.nodes.forEach(function (node) {
      picture.appendChild(svg("g", { "class": "iac-graph-node", "data-address": node.address, "data-type": node.type }, [
        svg("title", { text: node.address }),
        svg("rect", { x: node.x, y: node.y, width: graph.node_width, height: graph.node_height, rx: "6", fill: "#fff",
          stroke: node.color, "stroke-width": "1.5" }),
        svg("rect", { x: node.x, y: node.y, width: "5", height: graph.node_height, fill: node.color }),
        svg("text", { x: node.x + 12, y: node.y + 16, fill: node.color, "font-size": "10", text: node.type + " · " + node.project }),
        svg("text", { x: node.x + 12, y: node.y + 32, fill: "#222", "font-size": "12", text: node.label })
      ]));
    });
    canvas.appendChild(picture);
  }

  /* ---------------------------------------------------------------- wiring */

  function wire() {
    $("iac-source-form").addEventListener("submit", runPlan);
    document.querySelectorAll("#iac-source-form input[name=kind]").forEach(function (radio) {
      radio.addEventListener("change", syncSourceFields);
    });
    $("iac-drift-button").addEventListener("click", function () { loadDrift(true); });
    $("iac-error-close").addEventListener("click", hideError);
    $("iac-show-noop").addEventListener("change", function () {
      if (state.plan) { renderPlanTree(state.plan, currentOpenState()); }
    });
    $("iac-approve-check").addEventListener("change", function (e) { $("iac-apply-button").disabled = !e.target.checked; });
    $("iac-apply-button").addEventListener("click", startApply);
    $("iac-history-refresh").addEventListener("click", loadHistory);
    $("iac-lock-refresh").addEventListener("click", loadLock);
    $("iac-unlock-button").addEventListener("click", unlock);
    $("iac-graph-refresh").addEventListener("click", loadGraph);
    TABS.forEach(function (tab) {
      $("tab-" + tab).addEventListener("click", function () { selectTab(tab); });
      $("tab-" + tab).addEventListener("keydown", onTabKey);
    });
    $("iac-error").tabIndex = -1;
  }

  function start() {
    wire();
    loadContext();
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
