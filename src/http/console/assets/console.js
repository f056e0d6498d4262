// tollgate console: keeps "time remaining" current. The pages work without it.
'use strict';
(function () {
  function format(ms) {
    if (ms <= 0) return 'expired';
    var s = Math.floor(ms / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    s = s % 60;
    return (h ? h + 'h ' : '') + (h || m ? m + 'm ' : '') + s + 's';
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll('[data-expires]').forEach(function (el) {
      el.textContent = format(Number(el.getAttribute('data-expires')) - now);
    });
  }
  document.addEventListener('DOMContentLoaded', function () {
    tick();
    setInterval(tick, 1000);
  });
})();
