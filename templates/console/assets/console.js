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
