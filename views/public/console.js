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
          const doc = new DOMParser().parseFromString(html, 'text/html');
          for (const el of refreshing) {
            const fresh = doc.getElementById(el.id);
            if (fresh) {
              el.innerHTML = fresh.innerHTML;
              fillOrigin(el);
            }
          }
        } catch {
          /* keep the old view */
        }
      },
      Number(refreshing[0].dataset.refreshSection) || 10000,
    );
  }
})();
