// relais console: the few things pages do in the browser. No inline script (the Content-Security-Policy
// forbids it); every request that changes something carries the page's CSRF token.
"use strict";

document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.dataset && form.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// The template editor: re-render the preview 400 ms after the last keystroke, on the data shown beside it.
(function () {
  const editor = document.getElementById("editor");
  if (!editor) return;
  const source = document.getElementById("source");
  const variables = document.getElementById("variables");
  const frame = document.getElementById("preview");
  const problems = document.getElementById("problems");
  const errors = document.getElementById("preview-errors");
  const state = document.getElementById("preview-state");
  const dataSource = document.getElementById("data-source");
  const lineWord = document.documentElement.lang === "en" ? "line" : "ligne";
  let timer = null;
  let sent = 0;

  function item(text, line) {
    const li = document.createElement("li");
    li.className = "bad";
    li.textContent = line ? lineWord + " " + line + " : " + text : text;
    if (line) {
      li.dataset.line = String(line);
      li.addEventListener("click", () => goToLine(line));
    }
    return li;
  }

  function goToLine(line) {
    const lines = source.value.split("\n");
    const start = lines.slice(0, line - 1).join("\n").length + (line > 1 ? 1 : 0);
    source.focus();
    source.setSelectionRange(start, start + (lines[line - 1] || "").length);
  }

  async function refresh() {
    const mine = ++sent;
    let data = {};
    if (variables) {
      try {
        data = JSON.parse(variables.value || "{}");
      } catch (e) {
        errors.replaceChildren(item("JSON: " + e.message));
        return;
      }
    }
    state.textContent = "…";
    const response = await fetch(editor.dataset.preview, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": editor.dataset.csrf },
      body: JSON.stringify({ source: source.value, variables: data }),
      credentials: "same-origin",
    });
    if (mine !== sent) return;
    if (!response.ok) {
      state.textContent = String(response.status);
      return;
    }
    const answer = await response.json();
    problems.replaceChildren(...answer.problems.map((p) => item(p.message, p.line)));
    if (errors) errors.replaceChildren(...answer.errors.map((e) => item((e.field ? e.field + " : " : "") + e.message)));
    if (frame && answer.html) frame.srcdoc = answer.html;
    state.textContent = answer.html ? "✓" : "✗";
    editor.dataset.rendered = String(mine);
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  }

  source.addEventListener("input", later);
  if (variables) variables.addEventListener("input", later);
  if (dataSource) {
    dataSource.addEventListener("change", () => {
      const option = dataSource.selectedOptions[0];
      variables.value = option.value === "example" ? variables.dataset.example : option.dataset.json;
      later();
    });
  }
  if (editor.dataset.letter) refresh();
})();
