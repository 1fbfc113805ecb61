// Similar needs while typing. Without JavaScript the form's "Ähnliche Bedarfe prüfen" button
// does the same on the server; this only saves the round trip.
(function () {
  "use strict";
  var form = document.getElementById("bedarf-form");
  var region = document.getElementById("aehnliche");
  if (!form || !region) { return; }
  var section = region.closest("[data-similar-endpoint]");
  var endpoint = section ? section.getAttribute("data-similar-endpoint") : null;
  var csrf = form.querySelector("input[name=csrf_token]");
  var title = form.querySelector("#title");
  var description = form.querySelector("#description");
  if (!endpoint || !csrf || !title || !description) { return; }
  var timer = null;
  var lastQuery = "";

  function render(items) {
    region.textContent = "";
    if (!items.length) {
      var p = document.createElement("p");
      p.className = "kern-body";
      p.textContent = region.getAttribute("data-empty");
      region.appendChild(p);
      return;
    }
    var list = document.createElement("ul");
    list.className = "kern-list similar-list";
    list.setAttribute("data-testid", "similar-list");
    items.forEach(function (item) {
      var li = document.createElement("li");
      li.className = "similar-item";
      var link = document.createElement("a");
      link.className = "kern-link";
      link.href = "/bedarfe/" + encodeURIComponent(item.id);
      link.textContent = item.title;
      li.appendChild(link);
      var count = document.createElement("span");
      count.className = "kern-body--small";
      count.textContent = " (" + item.supporter_count + " " + region.getAttribute("data-count-label") + ")";
      li.appendChild(count);
      var f = document.createElement("form");
      f.method = "post";
      f.action = "/bedarfe/" + encodeURIComponent(item.id) + "/betroffen";
      f.className = "inline-form";
      var token = document.createElement("input");
      token.type = "hidden";
      token.name = "csrf_token";
      token.value = csrf.value;
      f.appendChild(token);
      var button = document.createElement("button");
      button.type = "submit";
      button.className = "kern-btn kern-btn--tertiary kern-btn--x-small";
      var label = document.createElement("span");
      label.className = "kern-label";
      label.textContent = form.getAttribute("data-support-label") || "Betrifft uns auch";
      var hidden = document.createElement("span");
      hidden.className = "kern-sr-only";
      hidden.textContent = ": " + item.title;
      label.appendChild(hidden);
      button.appendChild(label);
      f.appendChild(button);
      li.appendChild(f);
      list.appendChild(li);
    });
    region.appendChild(list);
  }

  function lookup() {
    var text = (title.value + " " + description.value).trim();
    if (text.length < 4 || text === lastQuery) { return; }
    lastQuery = text;
    fetch(endpoint + "?limit=5&text=" + encodeURIComponent(text.slice(0, 2000)), {
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (body) {
      if (body && text === lastQuery) { render(body.items || []); }
    }).catch(function () { /* the server-side check still works */ });
  }

  function schedule() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(lookup, 400);
  }
  title.addEventListener("input", schedule);
  description.addEventListener("input", schedule);
}());
