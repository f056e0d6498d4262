// tollgate console: keeps "time remaining" current, follows live updates (another reviewer
// acted) and shows what a modification changes. The pages work without it.
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

  // What a live banner says about a request that changed.
  function outcome(change) {
    var by = change.by && change.by.length ? ' by ' + change.by.join(', ') : '';
    switch (change.state) {
      case 'approved': return 'Approved' + by + '.';
      case 'denied': return 'Denied' + by + '.';
      case 'expired': return 'Expired before enough reviewers approved.';
      case 'cancelled': return 'Cancelled by the requester.';
      default: return 'Another review was recorded.';
    }
  }

  function say(region, text, href) {
    region.textContent = '';
    var p = document.createElement('p');
    p.textContent = text + ' ';
    if (href) {
      var a = document.createElement('a');
      a.href = href;
      a.textContent = 'Reload';
      p.appendChild(a);
    }
    region.appendChild(p);
    region.classList.add('shown');
  }

  // The detail page: a banner when this request changes; its review buttons are disabled
  // once it has ended.
  function followDetail(live, change) {
    if (change.id !== live.getAttribute('data-approval')) return;
    var reviews = Number(live.getAttribute('data-reviews'));
    if (change.state === live.getAttribute('data-state') && change.reviews === reviews) return;
    say(live, outcome(change), location.pathname);
    if (change.state !== 'pending') {
      document.querySelectorAll('form.review button, form.review textarea').forEach(function (el) {
        el.disabled = true;
      });
    }
  }

  // The list pages: the list is read again (its region only), and the change announced.
  var refreshing = false;
  function refreshList(live) {
    if (refreshing) return;
    refreshing = true;
    fetch(location.href, { credentials: 'same-origin', headers: { Accept: 'text/html' } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(new Error(String(r.status))); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, 'text/html').getElementById('live-list');
        var here = document.getElementById('live-list');
        if (fresh && here) here.replaceWith(fresh);
        tick();
        say(live, 'The list was updated.', null);
      })
      .catch(function () { say(live, 'Requests changed.', location.href); })
      .finally(function () { refreshing = false; });
  }

  function follow() {
    var live = document.getElementById('live');
    if (!live || !window.EventSource) return;
    var source = new EventSource('/console/events');
    // Open means subscribed: every change from now on arrives (tests wait for this).
    source.addEventListener('open', function () { live.setAttribute('data-connected', 'true'); });
    source.addEventListener('approval', function (e) {
      var change;
      try { change = JSON.parse(e.data); } catch (_) { return; }
      if (live.getAttribute('data-live') === 'detail') followDetail(live, change);
      else refreshList(live);
    });
    source.addEventListener('resync', function () {
      if (live.getAttribute('data-live') === 'detail') say(live, 'Requests changed.', location.pathname);
      else refreshList(live);
    });
    // Signed out or the server is stopping: do not reconnect.
    source.addEventListener('end', function () { source.close(); });
    window.addEventListener('pagehide', function () { source.close(); });
  }

  // The review form: which parameters a modification changes, before it is submitted.
  function diffParams() {
    var editor = document.getElementById('params');
    var out = document.getElementById('params-diff');
    if (!editor || !out) return;
    var original;
    try { original = JSON.parse(editor.defaultValue); } catch (_) { return; }
    var show = function () {
      var edited;
      try { edited = JSON.parse(editor.value); } catch (_) {
        out.textContent = 'Not valid JSON yet.';
        return;
      }
      if (edited === null || typeof edited !== 'object' || Array.isArray(edited)) {
        out.textContent = 'Parameters must be a JSON object.';
        return;
      }
      var keys = Object.keys(original).concat(Object.keys(edited).filter(function (k) {
        return !(k in original);
      }));
      var list = document.createElement('ul');
      keys.forEach(function (k) {
        var before = JSON.stringify(original[k]), after = JSON.stringify(edited[k]);
        if (before === after) return;
        var li = document.createElement('li');
        if (!(k in edited)) li.textContent = k + ': ' + before + ' removed';
        else if (!(k in original)) li.textContent = k + ': ' + after + ' added';
        else li.textContent = k + ': ' + before + ' \u2192 ' + after;
        list.appendChild(li);
      });
      out.textContent = '';
      if (list.children.length === 0) {
        out.textContent = 'No change to the requested parameters.';
      } else {
        var p = document.createElement('p');
        p.textContent = 'Approve modified would change:';
        out.appendChild(p);
        out.appendChild(list);
      }
    };
    editor.addEventListener('input', show);
  }

  document.addEventListener('DOMContentLoaded', function () {
    tick();
    setInterval(tick, 1000);
    follow();
    diffParams();
  });
})();
