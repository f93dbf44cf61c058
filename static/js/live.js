// The desk and the duty console update themselves (issue 14): htmx fetches the page's lists every few
// seconds (hx-get + hx-trigger="every 5s" on the [data-live] block) and swaps them in; the forms outside
// the lists are never fetched again, and the rows' own forms are kept as they are (hx-preserve).
// This script adds what htmx does not: a soft chime when someone new arrives, a short highlight on rows
// that are new or changed, and a reload when the answer is no longer the lists (signed out, moved off
// duty, station taken away), so the page shows what the server now says instead of stale names.
(function () {
  "use strict";

  var chime = null;

  function region(element) {
    return element && element.matches && element.matches("[data-live]") ? element : null;
  }

  function count(element) {
    return parseInt(element.getAttribute("data-arrivals"), 10) || 0;
  }

  function keys(element) {
    var seen = {};
    element.querySelectorAll("[data-key]").forEach(function (cell) {
      seen[cell.getAttribute("data-key")] = true;
    });
    return seen;
  }

  // Browsers refuse to play sound until the page has had a gesture (a click, a key): then it is
  // simply not heard, quietly; the first click on the page lets the next chime through.
  function ring(element) {
    try {
      if (chime === null) {
        chime = new Audio(element.getAttribute("data-chime"));
        chime.volume = 0.5;
      }
      chime.currentTime = 0;
      var playing = chime.play();
      if (playing && playing.catch) {
        playing.catch(function () {});
      }
    } catch (error) {
      // No audio on this machine: the lists still update.
    }
  }

  var before = { arrivals: 0, keys: {} };

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = region(event.detail.target);
    if (!target) {
      return;
    }
    var text = event.detail.serverResponse || "";
    var ours = event.detail.xhr.status === 200 && text.indexOf('id="' + target.id + '"') !== -1;
    if (!ours) {
      event.detail.shouldSwap = false;
      // 401/403/404, or the sign-in page a redirect led to: show the page as it now stands for this
      // user (the full page applies the same rules). A server error or a lost network: try again later.
      var status = event.detail.xhr.status;
      if (status === 200 || status === 401 || status === 403 || status === 404) {
        window.location.reload();
      }
      return;
    }
    before = { arrivals: count(target), keys: keys(target) };
  });

  // Fired on the block just swapped in (the old one is gone from the page by then).
  document.addEventListener("htmx:afterSwap", function (event) {
    var fresh = region(event.target);
    if (!fresh) {
      return;
    }
    // The key (the record and its state) sits on the row's first cell: the row is marked.
    fresh.querySelectorAll("[data-key]").forEach(function (cell) {
      if (!before.keys[cell.getAttribute("data-key")]) {
        cell.closest("tr").classList.add("live-new");
      }
    });
    if (count(fresh) > before.arrivals) {
      ring(fresh);
    }
  });
})();
