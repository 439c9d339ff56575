// Staff pages: move focus to the message that matters after an action (a confirmation, an error summary),
// so that a screen reader reads it and a keyboard user starts from it. CSP forbids inline scripts.
(function () {
  var target = document.querySelector("#error-summary[data-focus]") || document.querySelector("[data-focus]");
  if (target) {
    target.focus();
    if (target.scrollIntoView) target.scrollIntoView({ block: "start" });
  }
})();
