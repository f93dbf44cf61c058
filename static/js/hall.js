// The hall display (叫号屏): htmx fetches the "now calling" panel every few seconds (hx-get on
// #now-calling). When a later call than any seen appears — a new number, or the same number called
// again (重呼) — this script plays the chime and then the spoken call ("请 A 零零三 号 到 法律服务窗口"), both
// same-origin files made on the server. The call already on screen when the page opens is not played
// again. The TV's Chromium is started with --autoplay-policy=no-user-gesture-required; any other
// browser plays sound only after a first click on the page: then the call is simply not heard, and the
// screen still shows it. Without a voice on the server (no data-voice, or its file fails) the chime
// alone plays.
(function () {
  "use strict";

  var latest = null; // when the latest call this screen has seen was made; null until the first panel
  var player = null;
  var queue = [];

  function playNext() {
    var source = queue.shift();
    if (!source) {
      return;
    }
    player.src = source;
    var playing;
    try {
      playing = player.play();
    } catch (error) {
      queue = [];
      return;
    }
    if (playing && playing.catch) {
      playing.catch(function () {
        queue = []; // refused (no gesture) or no audio device: the screen still shows the call
      });
    }
  }

  function announce(panel, current) {
    if (player === null) {
      player = new Audio();
      player.addEventListener("ended", playNext);
      player.addEventListener("error", playNext); // a missing voice file: go on (nothing left)
    }
    queue = [panel.getAttribute("data-chime")];
    var voice = current.getAttribute("data-voice");
    if (voice) {
      queue.push(voice);
    }
    player.pause();
    playNext();
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var panel = event.target;
    if (!panel || panel.id !== "now-calling") {
      return;
    }
    var current = panel.querySelector(".call-current");
    var at = current ? parseFloat(current.getAttribute("data-call-at")) || 0 : 0;
    // Only a call later than any seen: a number passed over (过号) brings the call before it back on
    // screen, which is not called again.
    var fresh = latest !== null && at > latest;
    latest = latest === null ? at : Math.max(latest, at);
    if (!fresh) {
      return;
    }
    current.classList.add("call-flash");
    announce(panel, current);
    // How many calls this screen has announced: for whoever checks the screen (and the tests).
    var count = parseInt(panel.getAttribute("data-announcements"), 10) || 0;
    panel.setAttribute("data-announcements", String(count + 1));
  });
})();
