// The citizen's form: file sizes checked before sending, a draft of the typed text in
// sessionStorage (the server cannot echo a body it refused as too large), and
// "Đổi mã khác" without reloading the page.
(function () {
  var form = document.getElementById("submit-form");
  if (!form) return;
  var DRAFT = "pakn-submit-draft";
  var names = ["full_name", "phone", "email", "address", "title", "content"];

  // --- draft ------------------------------------------------------------------------
  function saveDraft() {
    var draft = {};
    names.forEach(function (n) { if (form.elements[n]) draft[n] = form.elements[n].value; });
    try { sessionStorage.setItem(DRAFT, JSON.stringify(draft)); } catch (e) {}
  }
  try {
    var saved = JSON.parse(sessionStorage.getItem(DRAFT) || "null");
    if (saved && form.hasAttribute("data-restore-draft")) {
      names.forEach(function (n) {
        var el = form.elements[n];
        if (el && !el.value && saved[n]) el.value = saved[n];
      });
    }
  } catch (e) {}
  form.addEventListener("input", saveDraft);
  window.addEventListener("pagehide", saveDraft);

  // --- file sizes ---------------------------------------------------------------------
  var input = document.getElementById("attachments");
  var out = document.getElementById("attachments-check");
  function problems() {
    if (!input) return [];
    var maxFiles = +input.getAttribute("data-max-files");
    var maxFile = +input.getAttribute("data-max-file-bytes");
    var maxTotal = +input.getAttribute("data-max-total-bytes");
    var found = [];
    var total = 0;
    var count = 0;
    form.querySelectorAll("input[name=keep_file]:checked").forEach(function (box) {
      total += +box.getAttribute("data-size"); count += 1;
    });
    Array.prototype.forEach.call(input.files || [], function (f) {
      total += f.size; count += 1;
      if (f.size > maxFile) found.push(input.getAttribute("data-msg-too-large").replace("{name}", f.name));
    });
    if (count > maxFiles) found.push(input.getAttribute("data-msg-too-many"));
    if (total > maxTotal) found.push(input.getAttribute("data-msg-total"));
    return found;
  }
  function show(list) {
    if (!out) return;
    out.textContent = list.join(" ");
    out.hidden = list.length === 0;
    if (list.length) input.setAttribute("aria-invalid", "true");
    else if (!form.querySelector("#attachments-error")) input.removeAttribute("aria-invalid");
  }
  if (input) input.addEventListener("change", function () { show(problems()); });
  form.addEventListener("change", function (e) { if (e.target.name === "keep_file") show(problems()); });
  form.addEventListener("submit", function (e) {
    var submitter = e.submitter;
    if (submitter && submitter.name === "new_captcha") return;
    var list = problems();
    show(list);
    if (list.length) { e.preventDefault(); input.focus(); }
  });

  // --- "Đổi mã khác" ------------------------------------------------------------------
  var refresh = document.getElementById("captcha-refresh");
  var url = form.getAttribute("data-captcha-new");
  if (refresh && url && window.fetch) {
    refresh.addEventListener("click", function (e) {
      e.preventDefault();
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (data) {
          form.elements.captcha_token.value = data.token;
          document.getElementById("captcha-image").src = data.image;
          var audio = document.getElementById("captcha-audio");
          audio.src = data.audio;
          audio.load();
          var typed = document.getElementById("captcha");
          typed.value = "";
          typed.focus();
          document.getElementById("captcha-status").textContent = "Đã đổi mã bảo vệ mới.";
        })
        .catch(function () { form.requestSubmit(refresh); });  // fall back to the full reload
    });
  }
})();
