// Polls the receipt status until the PAKN code is assigned (CSP forbids inline scripts).
(function () {
  try { sessionStorage.removeItem("pakn-submit-draft"); } catch (e) {}  // the form's draft is sent now
  var box = document.getElementById("receipt");
  if (!box) return;
  var url = box.getAttribute("data-status-url");
  var delay = 1000;
  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (state) {
        if (state) {
          document.getElementById("status-label").textContent = state.label;
          if (state.code) {
            document.getElementById("pakn-code").textContent = state.code;
            var link = document.getElementById("lookup-link");
            if (link) link.href = "/lookup?code=" + encodeURIComponent(state.code);
            return;
          }
        }
        delay = Math.min(delay * 1.5, 10000);
        setTimeout(poll, delay);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  if (document.getElementById("pakn-code").textContent.indexOf("-") < 0) setTimeout(poll, delay);
})();
