// The kiosk's handwriting pad (issue 14): a character written with a finger (or a mouse) in the box is
// recognised on the server (POST data-recognise-url, JSON strokes → JSON candidates) after every
// stroke; tapping a candidate adds it to the name field and clears the box. When the server cannot
// recognise (503: Zinnia not installed) the pad goes away and the pinyin keyboard stays.
(function () {
  "use strict";
  var panel = document.getElementById("name-hand");
  var tools = document.getElementById("name-tools");
  if (!panel || !tools) { return; }
  var input = document.getElementById(tools.getAttribute("data-name-input"));
  var canvas = document.getElementById("hand-pad");
  var list = document.getElementById("hand-candidates");
  var status = document.getElementById("hand-status");
  var url = panel.getAttribute("data-recognise-url");
  var tokenField = document.querySelector('input[name="csrf_token"]');
  var context = canvas.getContext("2d");
  var strokes = [];
  var current = null;
  var asked = 0;  // answers to an older drawing than the last one asked about are dropped

  function clearBox() {
    strokes = [];
    current = null;
    asked += 1;
    context.clearRect(0, 0, canvas.width, canvas.height);
    guides();
    list.replaceChildren();
    status.textContent = "";
  }

  // A light cross in the box helps people place a character's strokes.
  function guides() {
    context.save();
    context.strokeStyle = "#d6d6d6";
    context.lineWidth = 2;
    context.setLineDash([12, 12]);
    context.beginPath();
    context.moveTo(canvas.width / 2, 0); context.lineTo(canvas.width / 2, canvas.height);
    context.moveTo(0, canvas.height / 2); context.lineTo(canvas.width, canvas.height / 2);
    context.stroke();
    context.restore();
  }

  function point(event) {
    var box = canvas.getBoundingClientRect();
    var x = (event.clientX - box.left) * canvas.width / box.width;
    var y = (event.clientY - box.top) * canvas.height / box.height;
    return [Math.round(Math.min(canvas.width, Math.max(0, x))), Math.round(Math.min(canvas.height, Math.max(0, y)))];
  }

  function add(name) {
    if (!input) { return; }
    var room = input.maxLength > 0 ? input.maxLength - input.value.length : 1;
    if (room <= 0) { return; }
    input.value += name;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function show(candidates) {
    list.replaceChildren();
    candidates.forEach(function (character) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "name-candidate";
      button.textContent = character;
      button.setAttribute("data-candidate", character);
      button.addEventListener("click", function () { add(character); clearBox(); });
      list.appendChild(button);
    });
  }

  // Without a recogniser on the server the pad is no use: leave only the pinyin keyboard.
  function unavailable() {
    var tab = document.getElementById("name-tab-hand");
    var other = document.getElementById("name-tab-pinyin");
    if (other) { other.click(); }
    if (tab) { tab.remove(); }
    panel.remove();
  }

  function recognise() {
    asked += 1;
    var mine = asked;
    var body = JSON.stringify({ strokes: strokes, width: canvas.width, height: canvas.height });
    window.fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": tokenField ? tokenField.value : "" },
      body: body
    }).then(function (response) {
      if (response.status === 503) { unavailable(); return null; }
      var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      if (!response.ok || !json) { throw new Error("status " + response.status); }
      return response.json();
    }).then(function (answer) {
      if (!answer || mine !== asked) { return; }
      status.textContent = "";
      show(answer.candidates || []);
    }).catch(function () {
      if (mine === asked) { status.textContent = panel.getAttribute("data-failed"); }
    });
  }

  canvas.addEventListener("pointerdown", function (event) {
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    current = [point(event)];
    context.beginPath();
    context.moveTo(current[0][0], current[0][1]);
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!current) { return; }
    var next = point(event);
    var last = current[current.length - 1];
    if (next[0] === last[0] && next[1] === last[1]) { return; }
    current.push(next);
    context.lineTo(next[0], next[1]);
    context.stroke();
  });
  function finish() {
    if (!current) { return; }
    strokes.push(current);
    current = null;
    if (strokes.length > 30) { clearBox(); return; }  // the server takes at most 30 strokes
    recognise();
  }
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);

  panel.querySelector("[data-hand-clear]").addEventListener("click", clearBox);
  context.lineWidth = 14;
  context.lineCap = "round";
  context.lineJoin = "round";
  context.strokeStyle = "#111";
  clearBox();
})();
