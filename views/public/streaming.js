// Scenarios › Streaming: the stream name lives in the browser (localStorage SRS_STREAM_NAME, as in
// SRS Stack); "Change stream" picks a new one and rewrites every URL on the page from the
// server-rendered templates. Also drives the in-page player.
(function () {
  'use strict';
  const root = document.getElementById('streaming');
  if (!root) return;
  const KEY = 'SRS_STREAM_NAME';
  const TOKEN = '{stream}';
  const valid = (name) => typeof name === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(name);

  function saved() {
    try {
      const name = window.localStorage.getItem(KEY);
      return valid(name) ? name : '';
    } catch {
      return '';
    }
  }

  // The token raw becomes the name raw (rtmp://, srt://); the token escaped once or twice (http URLs,
  // an http URL inside another URL's query) becomes the name escaped as often. Same rule as
  // fillStream in server/features/streaming-guide/urls.ts.
  function fill(template, name) {
    let out = template;
    let token = TOKEN;
    let value = name;
    for (let level = 0; level < 3; level++) {
      out = out.split(token).join(value);
      token = encodeURIComponent(token);
      value = encodeURIComponent(value);
    }
    return out;
  }

  // Private streams (docs/compatibility.md §13): the play URLs carry a token signed for the stream.
  let playToken = '';
  // A JWT is URL-safe: the same text at every escaping level.
  const fillAll = (template, name) => fill(template, name).split('{token}').join(playToken);

  function render(name) {
    if (root.dataset.playAuth === 'on' && root.dataset.tokenFor !== name) {
      root.dataset.tokenFor = name;
      fetch('/mgmt/scenarios/live/play-token?stream=' + encodeURIComponent(name), { credentials: 'same-origin' })
        .then((res) => res.json())
        .then((answer) => {
          playToken = answer.token || '';
          render(name);
        })
        .catch(() => undefined);
    }
    for (const el of root.querySelectorAll('[data-tpl]')) el.textContent = fillAll(el.dataset.tpl, name);
    for (const el of root.querySelectorAll('[data-tpl-href]')) el.setAttribute('href', fillAll(el.dataset.tplHref, name));
    for (const qr of root.querySelectorAll('img[data-qr-kind]')) {
      const qrSrc = '/mgmt/scenarios/live/qr.svg?kind=' + qr.dataset.qrKind + '&stream=' + encodeURIComponent(name);
      if (qr.getAttribute('src') !== qrSrc) qr.setAttribute('src', qrSrc);
    }
    root.dataset.stream = name;
  }

  function randomName() {
    const bytes = new Uint8Array(6);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => String.fromCharCode(97 + (b % 26))).join('');
  }

  render(saved() || root.dataset.defaultStream);
  for (const btn of root.querySelectorAll('.change-stream')) {
    btn.addEventListener('click', () => {
      const name = randomName();
      try {
        window.localStorage.setItem(KEY, name);
      } catch {
        /* private mode: the name lasts for this page only */
      }
      render(name);
      window.alert(root.dataset.changedMessage);
    });
  }

  const video = document.getElementById('live-player');
  // The start page shows the URLs without the in-page player.
  if (!video) return;
  const setState = window.srsPlayer.badgeReporter(document.getElementById('player-state'), JSON.parse(root.dataset.playerLabels || '{}'));
  let current = null;
  for (const btn of root.querySelectorAll('[data-play]')) {
    btn.addEventListener('click', () => {
      if (current) current.stop();
      const url = document.querySelector(btn.dataset.play).textContent.trim();
      current = window.srsPlayer.play(video, url, setState);
    });
  }
  document.getElementById('play-stop').addEventListener('click', () => {
    if (current) current.stop();
    current = null;
  });
})();
