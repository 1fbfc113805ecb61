// Polls: live result tables (server-sent events) and the points still left on a dot ballot.
// Progressive enhancement only: without JavaScript the pages show the result as it was when
// loaded and the ballot form still works. Text only ever goes in through textContent.
(function () {
  "use strict";

  function formatter(lang) {
    try {
      return new Intl.NumberFormat(lang || "de", { maximumFractionDigits: 2 });
    } catch (e) {
      return { format: function (n) { return String(n); } };
    }
  }

  function cell(tag, text, className, scope) {
    var el = document.createElement(tag);
    el.className = className;
    if (scope) { el.setAttribute("scope", scope); }
    el.textContent = text;
    return el;
  }

  function setField(root, name, text) {
    var el = root.querySelector('[data-field="' + name + '"]');
    if (el) { el.textContent = text; }
  }

  function labelsOf(root) {
    var labels = {};
    try { labels = JSON.parse(root.getAttribute("data-labels") || "{}"); } catch (e) { labels = {}; }
    return labels;
  }

  function render(root, result) {
    var fmt = formatter(root.getAttribute("data-lang"));
    var labels = labelsOf(root);
    setField(root, "ballots", String(result.ballots));
    if (result.eligible) {
      setField(root, "turnout", fmt.format(Math.round(result.ballots / result.eligible * 100)) + " %");
    }
    setField(root, "announce", (root.getAttribute("data-text-updated") || "").replace("{n}", result.ballots));
    if (result.hidden) { return; }
    var table = root.querySelector('[data-table="ranking"] tbody');
    if (table) {
      var rows = [];
      var top = result.ranking.reduce(function (m, s) { return Math.max(m, s.score); }, 0);
      result.ranking.forEach(function (s) {
        labels[s.option_id] = s.label;
        var tr = document.createElement("tr");
        tr.className = "kern-table__row";
        tr.appendChild(cell("td", String(s.rank), "kern-table__cell kern-table__cell--numeric"));
        tr.appendChild(cell("th", s.label, "kern-table__cell", "row"));
        var scoreCell = cell("td", "", "kern-table__cell kern-table__cell--numeric");
        scoreCell.appendChild(cell("span", fmt.format(s.score), "score-value"));
        scoreCell.appendChild(document.createTextNode(" "));
        var bar = document.createElement("meter");
        bar.className = "score-bar";
        bar.setAttribute("aria-hidden", "true");
        bar.min = 0;
        bar.max = top || 1;
        bar.value = s.score;
        scoreCell.appendChild(bar);
        tr.appendChild(scoreCell);
        if (result.method === "score") {
          tr.appendChild(cell("td", String(s.top_scores || 0), "kern-table__cell kern-table__cell--numeric"));
        }
        var outcome = "";
        if (result.winners.indexOf(s.option_id) >= 0) { outcome = root.getAttribute("data-text-winner"); }
        else if (result.undecided.indexOf(s.option_id) >= 0) { outcome = root.getAttribute("data-text-undecided"); }
        tr.appendChild(cell("td", outcome || "", "kern-table__cell"));
        rows.push(tr);
      });
      table.replaceChildren.apply(table, rows);
    }
    var names = function (ids) { return ids.map(function (id) { return labels[id] || id; }).join(", "); };
    setField(root, "winners", result.winners.length ? names(result.winners) : root.getAttribute("data-text-none"));
    setField(root, "undecided", names(result.undecided));
    var undecided = root.querySelector('[data-show="undecided"]');
    if (undecided) { undecided.hidden = result.undecided.length === 0; }
    ["pairwise", "strongest_paths"].forEach(function (key) {
      var body = root.querySelector('[data-table="' + key + '"] tbody');
      if (!body || !result[key]) { return; }
      var rows = [];
      result[key].forEach(function (row, r) {
        var tr = document.createElement("tr");
        tr.className = "kern-table__row";
        tr.appendChild(cell("th", labels[result.matrix_options[r]] || "", "kern-table__cell", "row"));
        row.forEach(function (value, c) {
          tr.appendChild(cell("td", c === r ? "–" : String(value), "kern-table__cell kern-table__cell--numeric"));
        });
        rows.push(tr);
      });
      body.replaceChildren.apply(body, rows);
    });
  }

  function follow(root) {
    if (root.getAttribute("data-final") === "true" || typeof EventSource === "undefined") { return; }
    var wasHidden = root.getAttribute("data-hidden") === "true";
    var source = new EventSource(root.getAttribute("data-stream"));
    source.addEventListener("result", function (event) {
      var result;
      try { result = JSON.parse(event.data); } catch (e) { return; }
      if (wasHidden && !result.hidden) {
        // the poll was closed: the page renders the now visible result in full
        source.close();
        window.location.reload();
        return;
      }
      render(root, result);
      if (result.final) {
        source.close();
        window.location.reload();
      }
    });
  }

  function pointsLeft(form) {
    var budget = parseInt(form.getAttribute("data-budget"), 10);
    var output = form.querySelector('[data-field="points-left"]');
    var inputs = form.querySelectorAll("input[data-points]");
    if (!output || !budget) { return; }
    var template = output.getAttribute("data-template") || "";
    function update() {
      var used = 0;
      inputs.forEach(function (input) {
        var n = parseInt(input.value, 10);
        if (n > 0) { used += n; }
      });
      output.textContent = template.replace("{n}", String(budget - used));
      output.hidden = false;
    }
    inputs.forEach(function (input) { input.addEventListener("input", update); });
    update();
  }

  document.querySelectorAll("[data-live-results]").forEach(follow);
  document.querySelectorAll('form[data-ballot="dot"]').forEach(pointsLeft);
})();
