// The kiosk's name tools (issue 14): the two tabs (write by hand / pinyin), "delete the last character",
// and the pinyin keyboard: letters typed on an on-screen keyboard (simple-keyboard, vendored) spell a
// syllable, its characters are offered as big buttons a page at a time (the table comes from
// bin/make-pinyin-table: common surnames first, then by use in given names), and the one tapped is
// added to the name field. A spelling that is only the start of syllables ("zh") offers theirs.
(function () {
  "use strict";
  var tools = document.getElementById("name-tools");
  var panel = document.getElementById("name-pinyin");
  if (!tools || !panel) { return; }
  var input = document.getElementById(tools.getAttribute("data-name-input"));
  var typedEl = document.getElementById("pinyin-typed");
  var list = document.getElementById("pinyin-candidates");
  var prev = document.getElementById("pinyin-prev");
  var next = document.getElementById("pinyin-next");
  var PAGE = 10;
  var MAX_TYPED = 6;  // the longest syllable, "zhuang", has six letters
  var table = null;
  var rank = {};
  var typed = "";
  var page = 0;
  var found = [];

  function add(character) {
    if (!input) { return; }
    var room = input.maxLength > 0 ? input.maxLength - input.value.length : 1;
    if (room <= 0) { return; }
    input.value += character;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function deleteLast() {
    if (!input || !input.value) { return; }
    input.value = Array.from(input.value).slice(0, -1).join("");
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // Tabs: one panel shown at a time.
  var tabs = Array.prototype.slice.call(tools.querySelectorAll("[data-name-tab]"));
  tabs.forEach(function (tab) {
    tab.addEventListener("click", function () {
      tabs.forEach(function (other) {
        if (!other.isConnected) { return; }
        var chosen = other === tab;
        other.setAttribute("aria-selected", chosen ? "true" : "false");
        var target = document.getElementById(other.getAttribute("data-name-tab"));
        if (target) { target.hidden = !chosen; }
      });
    });
  });
  tools.querySelectorAll("[data-name-delete]").forEach(function (button) {
    button.addEventListener("click", deleteLast);
  });
  tools.hidden = false;

  // The characters of a syllable: its usual readings, then the rarer ones (after "|" in the table).
  function parts(syllable) {
    var entry = table.syllables[syllable] || "|";
    var cut = entry.indexOf("|");
    return [Array.from(entry.slice(0, cut)), Array.from(entry.slice(cut + 1))];
  }

  function byRank(a, b) { return (rank[a] || 0) - (rank[b] || 0); }

  function candidates(spelling) {
    if (!spelling || !table) { return []; }
    var own = parts(spelling);
    var usual = [];
    var rare = [];
    Object.keys(table.syllables).forEach(function (syllable) {
      if (syllable !== spelling && syllable.indexOf(spelling) === 0) {
        var more = parts(syllable);
        usual = usual.concat(more[0]);
        rare = rare.concat(more[1]);
      }
    });
    var seen = {};
    return own[0].concat(usual.sort(byRank), own[1], rare.sort(byRank)).filter(function (c) {
      if (seen[c]) { return false; }
      seen[c] = true;
      return true;
    });
  }

  function render() {
    typedEl.textContent = typed;
    list.replaceChildren();
    var shown = found.slice(page * PAGE, page * PAGE + PAGE);
    shown.forEach(function (character) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "name-candidate";
      button.textContent = character;
      button.setAttribute("data-candidate", character);
      button.addEventListener("click", function () {
        add(character);
        typed = "";
        update();
      });
      list.appendChild(button);
    });
    if (typed && !found.length) {
      var none = document.createElement("p");
      none.className = "name-none";
      none.textContent = panel.getAttribute("data-none");
      list.appendChild(none);
    }
    prev.disabled = page === 0;
    next.disabled = (page + 1) * PAGE >= found.length;
  }

  function update() {
    found = candidates(typed);
    page = 0;
    render();
  }

  prev.addEventListener("click", function () { if (page > 0) { page -= 1; render(); } });
  next.addEventListener("click", function () { if ((page + 1) * PAGE < found.length) { page += 1; render(); } });

  function press(key) {
    if (key === "{bksp}") {
      if (typed) { typed = typed.slice(0, -1); } else { deleteLast(); }
    } else if (key === "{clear}") {
      typed = "";
    } else if (/^[a-z]$/.test(key) && typed.length < MAX_TYPED) {
      typed += key;
    }
    update();
  }

  window.fetch(panel.getAttribute("data-table-url"), { credentials: "same-origin" })
    .then(function (response) { return response.json(); })
    .then(function (data) {
      table = data;
      Array.from(data.order).forEach(function (character, i) { rank[character] = i + 1; });
      update();
    });

  var Keyboard = window.SimpleKeyboard && window.SimpleKeyboard.default;
  if (!Keyboard) { return; }
  new Keyboard(document.getElementById("pinyin-keys"), {
    layout: { default: ["q w e r t y u i o p", "a s d f g h j k l", "{clear} z x c v b n m {bksp}"] },
    display: { "{bksp}": "⌫", "{clear}": panel.getAttribute("data-clear-label") || "✕" },
    mergeDisplay: false,
    physicalKeyboardHighlight: false,
    disableButtonHold: true,
    preventMouseDownDefault: true,
    onKeyPress: press
  });
  // Typing on a real keyboard in a field stays as it is; letters typed elsewhere on the page (a keyboard
  // attached to the kiosk) spell pinyin too.
  document.addEventListener("keydown", function (event) {
    var inField = /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(event.target.tagName);
    if (panel.hidden || inField || event.ctrlKey || event.altKey || event.metaKey) { return; }
    if (/^[a-zA-Z]$/.test(event.key)) { press(event.key.toLowerCase()); event.preventDefault(); }
    else if (event.key === "Backspace" && event.target === document.body) { press("{bksp}"); event.preventDefault(); }
  });
})();
