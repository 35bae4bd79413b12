// Keyboard shortcuts for the review queue (progressive enhancement: every action is also a
// button). j/k: next/previous item; r: reveal; d: dismiss; c: confirm; e: escalate (the
// reason field gets the focus: an escalation needs one). Never while typing in a field.
(function () {
  "use strict";
  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName));
  }
  function click(selector) {
    var element = document.querySelector(selector);
    if (element) { element.click(); return true; }
    return false;
  }
  function follow(rel) {
    var link = document.querySelector('a[rel="' + rel + '"]');
    if (link) { window.location.assign(link.href); return true; }
    return false;
  }
  function moveInQueue(step) {
    var links = Array.prototype.slice.call(document.querySelectorAll(".item a.open"));
    if (!links.length) { return false; }
    var index = links.indexOf(document.activeElement);
    var next = index < 0 ? (step > 0 ? 0 : links.length - 1) : Math.min(links.length - 1, Math.max(0, index + step));
    links[next].focus();
    links[next].scrollIntoView({block: "nearest"});
    return true;
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var done = false;
    switch (event.key) {
      case "j": done = follow("next") || moveInQueue(1); break;
      case "k": done = follow("prev") || moveInQueue(-1); break;
      case "r": done = click("#reveal"); break;
      case "d": done = click("#dismiss"); break;
      case "c": done = click("#confirm"); break;
      case "e":
        var reason = document.getElementById("escalate-reason");
        if (reason) { reason.focus(); done = true; }
        break;
    }
    if (done) { event.preventDefault(); }
  });
  // The claim's remaining minutes, kept current while the page stays open.
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-expires]").forEach(function (element) {
      var left = Math.max(0, Math.ceil((Date.parse(element.dataset.expires) - now) / 60000));
      element.textContent = element.textContent.replace(/\d+/, String(left));
    });
  }
  window.setInterval(tick, 30000);
})();
