// The RxEventBus dashboard: reads the JSON endpoints and two Server-Sent-Event streams beside this page (api/…),
// and builds every element with textContent, never innerHTML: a payload, topic or reason is shown as text, whatever
// it holds. No framework, no build step, nothing fetched from elsewhere.
(function () {
  "use strict";

  var base = location.pathname.endsWith("/") ? location.pathname : location.pathname + "/";
  var history = {};          // topic -> events/s of the last 60 samples, for the sparklines
  var HISTORY = 60;
  var actionsEnabled = false;

  function $(id) { return document.getElementById(id); }

  // el("td", { className: "x" }, "text", otherNode): children are text (as text nodes) or nodes.
  function el(tag, props) {
    var node = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (k) {
        if (k === "dataset") { Object.keys(props.dataset).forEach(function (d) { node.dataset[d] = props.dataset[d]; }); }
        else { node[k] = props[k]; }
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined) { continue; }
      node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function fill(tbody, rows) {
    while (tbody.firstChild) { tbody.removeChild(tbody.firstChild); }
    rows.forEach(function (r) { tbody.appendChild(r); });
  }

  function getJson(path) {
    return fetch(base + path, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        return response.text().then(function (text) {
          var body = text ? JSON.parse(text) : null;
          if (!response.ok) {
            var message = body && (body.detail || body.title) ? (body.detail || body.title) : response.status + " " + response.statusText;
            var error = new Error(message);
            error.status = response.status;
            throw error;
          }
          return body;
        });
      });
  }

  // A list, or the list inside an answer that also carries counts (events, deadLetters).
  function items(body) { return Array.isArray(body) ? body : (body && (body.events || body.deadLetters || body.items)) || []; }

  function number(n) { return n === null || n === undefined ? "–" : Number(n).toLocaleString("en"); }

  function utc(text) { return text ? String(text).replace("T", " ").replace(/(\.\d{3})\d*/, "$1").replace(/Z|\+00:00$/, "") : ""; }

  function age(ms) {
    if (ms === null || ms === undefined) { return ""; }
    var s = Math.round(ms / 1000);
    return s < 60 ? s + " s" : s < 3600 ? Math.round(s / 60) + " min" : (s / 3600).toFixed(1) + " h";
  }

  function sparkline(values) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "spark");
    svg.setAttribute("viewBox", "0 0 " + HISTORY + " 20");
    svg.setAttribute("preserveAspectRatio", "none");
    var max = Math.max.apply(null, values.concat([1]));
    var points = values.map(function (v, i) { return (HISTORY - values.length + i) + "," + (19 - (v / max) * 18).toFixed(1); });
    var line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", points.join(" "));
    svg.appendChild(line);
    return svg;
  }

  // ---- the live view (SSE api/live) ----

  function showConsumer(consumer) {
    var badge = $("consumer-state");
    var state = consumer && consumer.state ? String(consumer.state).toLowerCase() : "none";
    badge.textContent = consumer ? state : "no consumer";
    badge.className = "badge " + state;
    $("consumer-reason").textContent = consumer && consumer.reason ? consumer.reason : "";
    var c = consumer || {};
    // The queue's fill against its bound (BufferSize): full means the bus is waiting on the database.
    $("queued").textContent = number(c.queued) + (c.bufferSize ? " / " + number(c.bufferSize) : "");
    $("queued").title = c.bufferSize ? (100 * (c.queued || 0) / c.bufferSize).toFixed(1) + "% of the buffer" : "";
    $("batches").textContent = number(c.batches);
    $("rows-written").textContent = number(c.rowsWritten);
    $("last-batch").textContent = c.lastBatchSize === undefined || c.lastBatchSize === null ? "–" : number(c.lastBatchSize) + " events";
    $("last-copy").textContent = c.lastCopyMs === undefined || c.lastCopyMs === null ? "–" : Number(c.lastCopyMs).toFixed(1) + " ms";
    $("retries").textContent = number(c.retries);
    $("dropped").textContent = number(c.dropped);
    $("dead-lettered").textContent = number(c.deadLettered);
  }

  var topicInfo = {};        // topic -> { subscribers, pending } from api/topics

  function showMetrics(m) {
    $("pending").textContent = number(m.pendingEvents);
    showConsumer(m.consumer);
    var rows = (m.topics || []).map(function (t) {
      var h = history[t.topic] || (history[t.topic] = []);
      h.push(t.perSecond || 0);
      if (h.length > HISTORY) { h.shift(); }
      var info = topicInfo[t.topic] || {};
      return el("tr", { dataset: { topic: t.topic } },
        el("td", { className: "topic" }, t.topic),
        el("td", { className: "num per-second" }, (t.perSecond || 0).toFixed(1)),
        el("td", null, sparkline(h)),
        el("td", { className: "num published" }, number(t.published)),
        el("td", { className: "num" }, number(info.subscribers)),
        el("td", { className: "num" }, number(info.pending)));
    });
    fill($("topics").tBodies[0], rows);
  }

  function connectLive() {
    var source = new EventSource(base + "api/live");
    source.addEventListener("metrics", function (e) {
      $("live-state").textContent = "live";
      $("live-state").className = "live on";
      showMetrics(JSON.parse(e.data));
    });
    source.onerror = function () {
      $("live-state").textContent = "reconnecting…";
      $("live-state").className = "live off";
    };
  }

  function refreshTopicsAndSubscribers() {
    getJson("api/topics").then(function (topics) {
      topicInfo = {};
      items(topics).forEach(function (t) { topicInfo[t.topic] = t; });
    }).catch(function () { /* shown as – */ });
    getJson("api/subscribers").then(function (subscribers) {
      fill($("subscribers").tBodies[0], items(subscribers).map(function (s) {
        return el("tr", null,
          el("td", null, String(s.kind || "").toLowerCase()),
          el("td", null, s.name || ""),
          el("td", null, (s.patterns || []).join(", ")),
          el("td", null, (s.topics || []).join(", ")),
          el("td", { className: "num" }, s.owed === undefined || s.owed === null ? "" : number(s.owed)),
          el("td", null, age(s.oldestOwedAgeSeconds === null || s.oldestOwedAgeSeconds === undefined ? null : s.oldestOwedAgeSeconds * 1000)));
      }));
    }).catch(function () { /* shown as empty */ });
  }

  // ---- stored events ----

  // One colour per topic, in the order the timeline lists them (ordinal), repeating after eight.
  var PALETTE = ["#2f6fed", "#12b76a", "#f79009", "#7a5af8", "#ee46bc", "#06aed4", "#66c61c", "#f04438"];

  function duration(seconds) {
    return seconds % 86400 === 0 ? seconds / 86400 + " d" : seconds % 3600 === 0 ? seconds / 3600 + " h"
      : seconds % 60 === 0 ? seconds / 60 + " min" : seconds + " s";
  }

  // The stored counts per topic over time (api/stored/timeline) as stacked bars, one per interval, in an SVG built
  // element by element; each bar segment carries its topic, interval start and count, and says them in its title.
  function drawTimeline(t) {
    var box = $("timeline");
    while (box.firstChild) { box.removeChild(box.firstChild); }
    var topics = t.topics || [];
    var starts = t.starts || [];
    if (topics.length === 0) { return; }
    var totals = starts.map(function (_, i) { return topics.reduce(function (sum, s) { return sum + s.counts[i]; }, 0); });
    var max = Math.max.apply(null, totals.concat([1]));
    var ns = "http://www.w3.org/2000/svg";
    var width = Math.max(starts.length, 1) * 10;
    var height = 100;
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "chart");
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("data-interval-seconds", String(t.intervalSeconds));
    svg.setAttribute("data-max", String(max));
    starts.forEach(function (start, i) {
      var top = height;
      topics.forEach(function (s, k) {
        var count = s.counts[i];
        if (!count) { return; }
        var h = (count / max) * height;
        top -= h;
        var rect = document.createElementNS(ns, "rect");
        rect.setAttribute("x", String(i * 10 + 1));
        rect.setAttribute("y", top.toFixed(3));
        rect.setAttribute("width", "8");
        rect.setAttribute("height", h.toFixed(3));
        rect.setAttribute("fill", PALETTE[k % PALETTE.length]);
        rect.setAttribute("data-topic", s.topic);
        rect.setAttribute("data-start", start);
        rect.setAttribute("data-count", String(count));
        var title = document.createElementNS(ns, "title");
        title.textContent = s.topic + ": " + number(count) + " from " + utc(start) + " (" + duration(t.intervalSeconds) + ")";
        rect.appendChild(title);
        svg.appendChild(rect);
      });
    });
    box.appendChild(svg);
    box.appendChild(el("div", { className: "axis" },
      el("span", { className: "axis-since" }, utc(t.since)),
      el("span", { className: "axis-scale" }, "highest bar " + number(max) + " per " + duration(t.intervalSeconds)),
      el("span", { className: "axis-until" }, utc(t.until))));
    var legend = el("div", { className: "legend" });
    topics.forEach(function (s, k) {
      var swatch = el("span", { className: "swatch" });
      swatch.style.background = PALETTE[k % PALETTE.length];
      legend.appendChild(el("span", { className: "legend-item", dataset: { topic: s.topic } }, swatch, s.topic + " (" + number(s.total) + ")"));
    });
    box.appendChild(legend);
  }

  // A bar per topic with its total over the chart's range: the same answer, so the two never disagree.
  function drawTotals(t) {
    var list = t.topics || [];
    var max = Math.max.apply(null, list.map(function (c) { return c.total; }).concat([1]));
    var box = $("counts");
    while (box.firstChild) { box.removeChild(box.firstChild); }
    list.forEach(function (c) {
      var bar = el("span", { className: "bar" });
      bar.style.width = Math.max(1, Math.round((c.total / max) * 100)) + "%";
      box.appendChild(el("div", { className: "bar-row", dataset: { topic: c.topic } },
        el("span", { className: "bar-label" }, c.topic), el("span", { className: "bar-track" }, bar),
        el("span", { className: "num bar-count" }, number(c.total))));
    });
    if (list.length === 0) { box.appendChild(el("p", { className: "note" }, "No stored events in this range.")); }
  }

  // One read of the store at a time: the 10 s refresh skips a tick while the last read still runs (on a large table
  // "all time" is a scan), and an answer for a range no longer chosen is dropped, not drawn under the new label.
  var countsGeneration = 0;
  var countsBusy = false;

  function showCounts(fromTimer) {
    if (fromTimer === true && countsBusy) { return; }
    var generation = ++countsGeneration;
    countsBusy = true;
    var seconds = $("counts-since").value;
    var query = seconds ? "?since=" + encodeURIComponent(new Date(Date.now() - seconds * 1000).toISOString()) : "";
    // A preset range has its own width (an hour in 30 s bars); for all time the server chooses one.
    var interval = $("counts-since").selectedOptions[0].getAttribute("data-interval");
    getJson("api/stored/timeline" + query + (interval ? (query ? "&" : "?") + "interval=" + interval : "")).then(function (t) {
      if (generation !== countsGeneration) { return; }
      storeRead();
      drawTimeline(t);
      drawTotals(t);
    }).catch(function (error) {
      if (generation === countsGeneration) { storeError(error); }
    }).then(function () {
      if (generation === countsGeneration) { countsBusy = false; }
    });
  }

  // A store that is not configured hides the panel; any other failure (the database down, a 500) is shown, and
  // cleared by the next read that works: a chart that silently stops moving would look like a quiet system.
  function storeError(error) {
    if (error && error.status === 404) {
      $("store-missing").hidden = false;
      $("store-panel").hidden = true;
      return;
    }
    $("store-error").textContent = "Cannot read the stored events: " + (error && error.message ? error.message : String(error));
    $("store-error").hidden = false;
  }

  function storeRead() { $("store-error").hidden = true; }

  // A stored event's row (search results; the tail, which has no transaction id column); a click opens its detail.
  function eventRow(e, withTransactionId) {
    var row = el("tr", { className: "event", dataset: { id: e.id } },
      el("td", null, utc(e.occurredAt)), el("td", null, e.topic), el("td", { className: "mono" }, e.id),
      withTransactionId ? el("td", { className: "mono" }, e.transactionId || "") : null, el("td", null, e.source || ""));
    row.addEventListener("click", function () { showDetail(e.id); });
    return row;
  }

  function search(event) {
    if (event) { event.preventDefault(); }
    var params = [];
    function add(name, value) { if (value) { params.push(name + "=" + encodeURIComponent(value)); } }
    function instant(value) { return value ? new Date(value + "Z").toISOString() : ""; }
    add("id", $("search-id").value.trim());
    add("transactionId", $("search-tx").value.trim());
    add("topic", $("search-topic").value.trim());
    add("since", instant($("search-since").value));
    add("until", instant($("search-until").value));
    add("limit", "100");
    $("search-error").hidden = true;
    getJson("api/stored/events?" + params.join("&")).then(function (found) {
      fill($("results").tBodies[0], items(found).map(function (e) { return eventRow(e, true); }));
    }).catch(function (error) {
      $("search-error").textContent = error.message;
      $("search-error").hidden = false;
    });
  }

  function showDetail(id) {
    getJson("api/stored/events/" + encodeURIComponent(id)).then(function (e) {
      $("detail").hidden = false;
      $("detail-id").textContent = e.id;
      var fields = $("detail-fields");
      while (fields.firstChild) { fields.removeChild(fields.firstChild); }
      [["topic", e.topic], ["transaction id", e.transactionId], ["occurred at", utc(e.occurredAt)],
        ["initialized at", utc(e.initializedAt)], ["source", e.source], ["ttl (s)", e.ttlSeconds]].forEach(function (f) {
        if (f[1] !== null && f[1] !== undefined && f[1] !== "") {
          fields.appendChild(el("dt", null, f[0]));
          fields.appendChild(el("dd", null, String(f[1])));
        }
      });
      $("detail-data").textContent = e.dataBase64 !== undefined && e.dataBase64 !== null
        ? "(not JSON; base64) " + e.dataBase64
        : e.dataError ? "(payload not readable: " + e.dataError + ")" : JSON.stringify(e.data, null, 2);
    }).catch(function (error) {
      $("detail").hidden = false;
      $("detail-id").textContent = id;
      $("detail-data").textContent = error.message;
    });
  }

  // The tail's state, from its stream: connecting (until the shared subscription reads), live (events committed from
  // now on show), reconnecting (the stream or the subscription's connection dropped), failed: why (an error message
  // ended the stream; the browser reconnects, and a fresh subscription replaces the failed one).
  function showTailState(state, text) {
    var badge = $("tail-state");
    badge.dataset.state = state;
    badge.textContent = text;
  }

  function connectTail() {
    var source = new EventSource(base + "api/tail");
    var failed = null;
    source.onopen = function () {
      if (!failed) { showTailState("connecting", "connecting…"); }
    };
    source.addEventListener("state", function (m) {
      var state = JSON.parse(m.data).state;
      if (state === "live") {
        failed = null;
        showTailState("live", "live");
      } else if (state === "reconnecting") {
        showTailState("reconnecting", "reconnecting…");
      } else if (state === "starting" || state === "catchingUp") {
        if (!failed) { showTailState("connecting", "connecting…"); }
      }
    });
    source.addEventListener("error", function (m) {
      // The server's error message (a MessageEvent with data), not the EventSource's own error (a plain Event).
      if (typeof m.data !== "string") { return; }
      var error = JSON.parse(m.data);
      failed = error.message || error.error || "the tail failed";
      showTailState("failed", "failed: " + failed);
    });
    source.addEventListener("stored", function (m) {
      var body = $("tail").tBodies[0];
      body.insertBefore(eventRow(JSON.parse(m.data), false), body.firstChild);
      while (body.rows.length > 50) { body.deleteRow(body.rows.length - 1); }
    });
    // The stream ended or dropped: EventSource reconnects by itself. A failure stays shown until the tail is live again.
    source.onerror = function () {
      if (failed) {
        showTailState("failed", "failed: " + failed + " (retrying)");
      } else {
        showTailState("reconnecting", "reconnecting…");
      }
    };
  }

  // ---- dead letters ----

  function showDeadLetters() {
    getJson("api/dead-letters?page=1&perPage=100").then(function (body) {
      $("dead-letters-error").hidden = true;
      var list = items(body);
      $("dead-letter-count").textContent = "(" + number(body && body.total !== undefined ? body.total : list.length) + ")";
      fill($("dead-letter-list").tBodies[0], list.map(function (d) {
        var buttons = el("td", { className: "actions" });
        if (actionsEnabled) {
          buttons.appendChild(el("button", { type: "button", className: "replay", onclick: function () { act(d, "replay"); } }, "Replay"));
          buttons.appendChild(el("button", { type: "button", className: "purge", onclick: function () { act(d, "purge"); } }, "Purge"));
        }
        return el("tr", { className: "dead-letter", dataset: { id: d.id } },
          el("td", null, utc(d.lastFailedAt)), el("td", null, d.topic), el("td", { className: "mono" }, d.id),
          el("td", { className: "num" }, number(d.attempts)), el("td", { className: "reason" }, d.reason), buttons);
      }));
    }).catch(function (error) {
      if (error.status === 404) { $("dead-letters").hidden = true; return; }
      $("dead-letters-error").textContent = "Cannot read the dead letters: " + error.message;
      $("dead-letters-error").hidden = false;
    });
  }

  function act(deadLetter, action) {
    var question = action === "replay"
      ? "Replay dead letter " + deadLetter.id + " (topic " + deadLetter.topic + ")?"
      : "Purge dead letter " + deadLetter.id + " (topic " + deadLetter.topic + ")? It is deleted for good.";
    if (!window.confirm(question)) { return; }
    fetch(base + "api/dead-letters/" + encodeURIComponent(deadLetter.id) + "/" + action, {
      method: "POST", credentials: "same-origin", headers: { "X-RxEventBus-Action": "1", "Accept": "application/json" },
    }).then(function (response) {
      return response.text().then(function (text) {
        var body = text ? JSON.parse(text) : {};
        var result = $("action-result");
        result.hidden = false;
        result.textContent = response.ok
          ? action + " of " + deadLetter.id + ": " + (body.outcome || body.result || "done")
          : action + " of " + deadLetter.id + " failed: " + (body.detail || body.title || response.status);
        showDeadLetters();
        showCounts();
      });
    }).catch(function (error) {
      $("action-result").hidden = false;
      $("action-result").textContent = action + " of " + deadLetter.id + " failed: " + error.message;
    });
  }

  // ---- start ----

  getJson("api/overview").then(function (overview) {
    actionsEnabled = !!overview.actionsEnabled;
    $("actions-off").hidden = actionsEnabled;
    showConsumer(overview.consumer);
    if (!overview.store) {
      $("store-missing").hidden = false;
      $("store-panel").hidden = true;
    } else {
      showCounts();
      connectTail();
    }
    showDeadLetters();
  }).catch(function (error) {
    $("live-state").textContent = "cannot read the dashboard's API: " + error.message;
  });
  refreshTopicsAndSubscribers();
  setInterval(refreshTopicsAndSubscribers, 5000);
  setInterval(function () {
    if (!$("store-panel").hidden) { showCounts(true); }
    if (!$("dead-letters").hidden) { showDeadLetters(); }
  }, 10000);
  connectLive();
  $("search-form").addEventListener("submit", search);
  $("counts-since").addEventListener("change", showCounts);
}());
