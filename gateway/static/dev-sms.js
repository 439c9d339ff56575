// The development SMS console: the thread refreshes by itself while replies come in.
(function () {
  var list = document.getElementById("thread");
  if (!list) return;
  var url = list.getAttribute("data-url");
  var label = document.getElementById("phone").value;
  var shortCode = list.getAttribute("data-short-code");
  var rounds = 0;
  function render(lines) {
    list.textContent = "";
    if (!lines.length) {
      var empty = document.createElement("li");
      empty.className = "empty";
      empty.textContent = "Chưa có tin nhắn.";
      list.appendChild(empty);
    }
    lines.forEach(function (line) {
      var li = document.createElement("li");
      li.className = line.incoming ? "in" : "out";
      var who = document.createElement("span");
      who.className = "who";
      who.textContent = line.incoming ? label : shortCode;
      var at = document.createElement("time");
      at.textContent = " " + line.at + " ";
      var state = document.createElement("span");
      state.className = "state";
      state.textContent = "(" + line.state + ")";
      var body = document.createElement("div");
      body.className = "pre";
      body.textContent = line.body;
      li.appendChild(who); li.appendChild(at); li.appendChild(state); li.appendChild(body);
      list.appendChild(li);
    });
  }
  var last = "";
  function poll() {
    rounds += 1;
    fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data) {
          var text = JSON.stringify(data.lines);
          if (text !== last) { last = text; render(data.lines); }
        }
        if (rounds < 120) setTimeout(poll, rounds < 20 ? 1000 : 3000);
      })
      .catch(function () { if (rounds < 120) setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
