// Conditions of the answer form while filling it in. Without JavaScript every question is shown
// with its note "Nur beantworten, wenn …" and the server ignores hidden questions on submit;
// this only hides what does not apply, with the same rule as the server: a question is shown if
// its source question is shown and answered as the condition says (so chains hide together).
(function () {
  "use strict";
  var form = document.getElementById("antwort-form");
  if (!form) { return; }
  var status = document.getElementById("bedingungen-status");
  var blocks = Array.prototype.slice.call(form.querySelectorAll("[data-question]"));
  var kinds = {};
  blocks.forEach(function (block) { kinds[block.getAttribute("data-question")] = block.getAttribute("data-kind"); });
  var first = true;

  function answerOf(id) {
    var kind = kinds[id];
    var inputs = Array.prototype.slice.call(form.querySelectorAll("[name='a-" + id + "']"));
    if (kind === "multiple") {
      return inputs.filter(function (i) { return i.checked; }).map(function (i) { return i.value; });
    }
    if (kind === "single" || kind === "scale") {
      var picked = inputs.filter(function (i) { return i.checked; })[0];
      return picked ? picked.value : "";
    }
    return inputs.length ? inputs[0].value.trim() : "";
  }

  function matches(kind, answer, equals) {
    if (kind === "multiple") { return answer.indexOf(equals) >= 0; }
    if (answer === "") { return false; }
    if (kind === "number" || kind === "scale") {
      return parseFloat(String(answer).replace(",", ".")) === parseFloat(equals);
    }
    return answer === equals.trim();
  }

  function update() {
    var shown = {};
    var changed = [];
    blocks.forEach(function (block) {
      var id = block.getAttribute("data-question");
      var source = block.getAttribute("data-show-if-question");
      var visible = true;
      if (source) {
        visible = Boolean(shown[source]) &&
          matches(kinds[source], answerOf(source), block.getAttribute("data-show-if-equals") || "");
      }
      shown[id] = visible;
      if (block.hidden === visible) {
        block.hidden = !visible;
        changed.push((visible ? form.getAttribute("data-shown-label") : form.getAttribute("data-hidden-label")) +
          " " + block.getAttribute("data-label"));
      }
    });
    if (status && changed.length && !first) { status.textContent = changed.join(". "); }
    first = false;
  }

  form.addEventListener("change", update);
  form.addEventListener("input", update);
  update();
}());
