// Keeps the call being keyed in localStorage, so a crash or a closed tab loses nothing;
// the call page clears the draft once the case is stored.
(function () {
  var done = document.querySelector("[data-clear-draft]");
  if (done) { try { localStorage.removeItem(done.getAttribute("data-clear-draft")); } catch (e) {} return; }
  var form = document.getElementById("call-form");
  if (!form) return;
  var key = form.getAttribute("data-draft-key");
  var status = document.getElementById("draft-status");
  var names = ["caller", "caller_name", "address", "email", "title", "transcript", "field_hint"];
  try {
    var saved = JSON.parse(localStorage.getItem(key) || "null");
    if (saved) {
      names.forEach(function (n) { if (saved[n] && !form.elements[n].value) form.elements[n].value = saved[n]; });
      if (status) status.textContent = "Đã khôi phục bản nháp chưa lưu.";
    }
  } catch (e) {}
  var timer = null;
  function save() {
    clearTimeout(timer);
    timer = null;
    var draft = {};
    names.forEach(function (n) { draft[n] = form.elements[n].value; });
    try { localStorage.setItem(key, JSON.stringify(draft)); if (status) status.textContent = "Đã lưu nháp."; } catch (e) {}
  }
  form.addEventListener("input", function () {
    clearTimeout(timer);
    if (status) status.textContent = "";
    timer = setTimeout(save, 300);
  });
  var submitted = false;
  // A reload or a closed tab must not lose the last keystrokes (nor those typed before this script ran).
  function typed() { return names.some(function (n) { return n !== "caller" && form.elements[n].value; }); }
  window.addEventListener("pagehide", function () { if (!submitted && (timer !== null || typed())) save(); });
  form.addEventListener("submit", function () { clearTimeout(timer); timer = null; submitted = true; });
  form.setAttribute("data-draft-ready", "");
})();
