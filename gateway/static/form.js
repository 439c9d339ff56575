// Focus the error summary after a failed submission, and Ctrl+Enter submits the form.
(function () {
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
  document.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && e.target.form) e.target.form.requestSubmit();
  });
})();
