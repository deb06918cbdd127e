// /players/whep.html: play a live stream over WHEP.
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const card = $('whep-player');
  if (!card) return;
  const report = window.srsWebrtc.badge($('whep-state'), JSON.parse(card.dataset.labels || '{}'));
  let current = null;

  function whepUrl() {
    const q = new URLSearchParams({ app: 'live', stream: $('whep-stream').value.trim() });
    // A private stream's signed token (docs/compatibility.md §13) comes with the page's own URL.
    const token = new URLSearchParams(window.location.search).get('token');
    if (token) q.set('token', token);
    return new URL('/rtc/v1/whep/?' + q.toString(), document.baseURI).href;
  }
  function showUrl() {
    $('whep-url').textContent = whepUrl();
  }

  async function stop() {
    const s = current;
    current = null;
    $('whep-stop').disabled = true;
    $('whep-start').disabled = false;
    if (s) await s.stop();
    report('stopped');
  }

  async function start() {
    if (current) await stop();
    $('whep-start').disabled = true;
    report('connecting');
    try {
      current = await window.srsWebrtc.play(whepUrl(), $('whep-video'));
      const pc = current.pc;
      pc.addEventListener('connectionstatechange', function () {
        if (pc.connectionState === 'connected') report('live');
        if (pc.connectionState === 'failed' || pc.connectionState === 'closed') report('error', 'ICE ' + pc.connectionState);
      });
      $('whep-stop').disabled = false;
      window.whepSession = current;
    } catch (e) {
      $('whep-start').disabled = false;
      report('error', e.message);
    }
  }

  $('whep-form').addEventListener('submit', function (e) {
    e.preventDefault();
    start();
  });
  $('whep-stop').addEventListener('click', stop);
  $('whep-stream').addEventListener('input', showUrl);
  showUrl();
  if ($('whep-autostart').value === 'true') start();
})();
