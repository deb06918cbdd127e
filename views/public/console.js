// Progressive enhancement only: every page works without this file.
(function () {
  'use strict';
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || '';

  /** Calls the API with the console session (cookie) and its CSRF token. */
  async function api(path, body) {
    const res = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf() },
      body: JSON.stringify(body || {}),
    });
    const text = await res.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    if (!res.ok || !json || json.code !== 0) throw new Error((json && json.message) || res.status + ' ' + text);
    return json.data;
  }
  window.srsApi = api;

  document.addEventListener('click', async (ev) => {
    const el = ev.target.closest('[data-copy]');
    if (!el) return;
    const src = document.querySelector(el.dataset.copy);
    const text = src ? (src.value !== undefined && src.tagName !== 'PRE' && src.tagName !== 'CODE' ? src.value : src.textContent) : '';
    try {
      await navigator.clipboard.writeText(text.trim());
      const old = el.textContent;
      el.textContent = '✓';
      setTimeout(() => (el.textContent = old), 1200);
    } catch {
      window.prompt('Copy:', text.trim());
    }
  });

  document.addEventListener('submit', (ev) => {
    const form = ev.target;
    const msg = form.dataset && form.dataset.confirm;
    if (msg && !window.confirm(msg)) {
      ev.preventDefault();
      return;
    }
    // data-include-field="#id": submit that field's current value too (e.g. unsaved text to test).
    const extra = form.dataset && form.dataset.includeField && document.querySelector(form.dataset.includeField);
    if (extra) {
      let hidden = form.querySelector('input[type=hidden][name="' + extra.name + '"]');
      if (!hidden) {
        hidden = document.createElement('input');
        hidden.type = 'hidden';
        hidden.name = extra.name;
        form.appendChild(hidden);
      }
      hidden.value = extra.value;
    }
  });

  const fillOrigin = (root) => {
    for (const el of root.querySelectorAll('[data-origin]')) el.textContent = window.location.origin;
  };
  fillOrigin(document);

  // The server renders times in UTC (<time datetime="ISO">… UTC</time>); the viewer reads them in
  // their own zone and locale, with the UTC text kept as the tooltip.
  const localTimes = (root) => {
    for (const el of root.querySelectorAll('time[datetime]')) {
      const at = new Date(el.getAttribute('datetime'));
      if (Number.isNaN(at.getTime()) || el.dataset.local) continue;
      el.title = el.textContent;
      el.textContent = at.toLocaleString(document.documentElement.lang || undefined);
      el.dataset.local = 'true';
    }
  };
  localTimes(document);

  /** Puts the fresh page's version of every part that has one (by id) into this page; forms keep their typing. */
  function refreshParts(doc, selector) {
    for (const el of document.querySelectorAll(selector)) {
      const fresh = el.id && doc.getElementById(el.id);
      if (!fresh) continue;
      el.innerHTML = fresh.innerHTML;
      fillOrigin(el);
      localTimes(el);
    }
  }

  /** Loads a console page in the background and refreshes this page's live parts from it. */
  async function refreshFrom(url) {
    const doc = new DOMParser().parseFromString(await (await fetch(url, { credentials: 'same-origin' })).text(), 'text/html');
    refreshParts(doc, '[data-fresh], [data-refresh-section]');
    return doc;
  }
  window.srsRefreshFrom = refreshFrom;

  // Forms with data-keep-typed post in the background, so an error never erases what the user typed
  // in this or any other form of the page: the error goes beside the form's slot (its _errorAt
  // element's "-feedback" part, rendered by the server for the page without JavaScript too). On
  // success the page follows the answer, or with data-keep-typed="refresh" only its live parts
  // (a virtual-live source chosen while the destination is still being typed).
  document.addEventListener('submit', async (ev) => {
    const form = ev.target;
    // A browser that does not say which button was pressed (Start or Stop) posts the form itself.
    if (ev.defaultPrevented || !form.matches('form[data-keep-typed]') || !ev.submitter) return;
    ev.preventDefault();
    const feedback = document.getElementById(form.elements._errorAt.value + '-feedback');
    const data = new window.FormData(form);
    if (ev.submitter.name) data.append(ev.submitter.name, ev.submitter.value);
    const body = new window.URLSearchParams(data);
    const buttons = form.querySelectorAll('button');
    for (const b of buttons) b.dataset.wasDisabled = String(b.disabled);
    for (const b of buttons) b.disabled = true;
    try {
      const res = await fetch(form.action, {
        method: 'POST',
        credentials: 'same-origin',
        body,
      });
      const answered = new URL(res.url);
      const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
      // No redirect: the post itself failed (an expired session, a server error); its page says why.
      if (!res.redirected) throw new Error((doc.querySelector('.alert.error') || doc.body).textContent.trim());
      if (!answered.searchParams.has('error') && form.dataset.keepTyped !== 'refresh') {
        window.location.assign(answered.pathname + answered.search);
        return;
      }
      const fresh = doc.getElementById(feedback.id);
      const notice = doc.querySelector('.alert.ok');
      feedback.innerHTML = fresh && fresh.innerHTML.trim() ? fresh.innerHTML : notice ? notice.outerHTML : '';
      if (!answered.searchParams.has('error')) refreshParts(doc, '[data-fresh], [data-refresh-section]');
      feedback.scrollIntoView({ block: 'nearest' });
    } catch (e) {
      feedback.innerHTML = '';
      const p = document.createElement('p');
      p.className = 'alert error';
      p.textContent = String(e.message || e);
      feedback.appendChild(p);
    } finally {
      for (const b of buttons) b.disabled = b.dataset.wasDisabled === 'true';
    }
  });

  for (const btn of document.querySelectorAll('[data-try]')) {
    btn.addEventListener('click', async () => {
      const out = document.querySelector(btn.dataset.target);
      out.textContent = '…';
      try {
        out.textContent = JSON.stringify(await api(btn.dataset.try, {}), null, 2);
        out.dataset.ok = 'true';
      } catch (e) {
        out.textContent = String(e.message || e);
        out.dataset.ok = 'false';
      }
    });
  }

  // Long API calls (a certificate request) from a form: call the API instead of posting the form,
  // show the progress endpoint's steps meanwhile, then reload with the notice. Without this script
  // the same form posts normally and the page waits.
  for (const form of document.querySelectorAll('form[data-api]')) {
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = {};
      for (const el of form.elements) if (el.name && !el.name.startsWith('_')) body[el.name] = el.value;
      const out = document.querySelector(form.dataset.progressTarget);
      const button = form.querySelector('[type=submit]');
      const show = async () => {
        try {
          const p = await api(form.dataset.progress, {});
          out.textContent = p.steps.map((s) => s.at.slice(11, 19) + ' ' + s.text).join('\n');
        } catch {
          /* keep the last view */
        }
      };
      button.disabled = true;
      out.textContent = '…';
      out.dataset.ok = '';
      const timer = setInterval(show, 1000);
      try {
        await api(form.dataset.api, body);
        const back = new URL(form.elements._back.value, window.location.origin);
        back.searchParams.set('notice', form.dataset.notice);
        window.location.assign(back.pathname + back.search);
      } catch (e) {
        await show();
        out.textContent += '\n' + String(e.message || e);
        out.dataset.ok = 'false';
      } finally {
        clearInterval(timer);
        button.disabled = false;
      }
    });
  }

  // Tables with data-refresh reload their page section every 10 s without a full reload.
  const refreshing = document.querySelectorAll('[data-refresh-section]');
  if (refreshing.length) {
    setInterval(
      async () => {
        try {
          const html = await (await fetch(window.location.href, { credentials: 'same-origin' })).text();
          refreshParts(new DOMParser().parseFromString(html, 'text/html'), '[data-refresh-section]');
        } catch {
          /* keep the old view */
        }
      },
      Number(refreshing[0].dataset.refreshSection) || 10000,
    );
  }
})();
