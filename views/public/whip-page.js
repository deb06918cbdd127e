// /players/whip.html: publish the camera or the screen over WHIP.
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const card = $('whip-publisher');
  if (!card) return;
  const report = window.srsWebrtc.badge($('whip-state'), JSON.parse(card.dataset.labels || '{}'));
  // Browsers give pages the camera only in a secure context: HTTPS, or localhost.
  if (!window.isSecureContext) $('whip-https').hidden = false;
  let current = null;

  function whipUrl() {
    const q = new URLSearchParams({ app: 'live', stream: $('whip-stream').value.trim() });
    if ($('whip-secret').value) q.set('secret', $('whip-secret').value);
    return new URL('/rtc/v1/whip/?' + q.toString(), document.baseURI).href;
  }
  function showUrl() {
    $('whip-url').textContent = whipUrl();
    $('whip-watch').href = '/players/whep.html?stream=' + encodeURIComponent($('whip-stream').value.trim()) + '&autostart=true';
  }

  async function stop() {
    const s = current;
    current = null;
    $('whip-stop').disabled = true;
    $('whip-start').disabled = false;
    if (s) await s.stop();
    report('stopped');
  }

  async function start() {
    if (current) await stop();
    $('whip-start').disabled = true;
    report('connecting');
    try {
      const media = await window.srsWebrtc.capture($('whip-source').value);
      $('whip-video').srcObject = media;
      current = await window.srsWebrtc.publish(whipUrl(), media);
      const pc = current.pc;
      pc.addEventListener('connectionstatechange', function () {
        if (pc.connectionState === 'connected') report('live');
        if (pc.connectionState === 'failed') report('error', 'ICE failed: is UDP open?');
      });
      $('whip-stop').disabled = false;
      window.whipSession = current;
    } catch (e) {
      $('whip-start').disabled = false;
      report('error', e.message);
    }
  }

  $('whip-form').addEventListener('submit', function (e) {
    e.preventDefault();
    start();
  });
  $('whip-stop').addEventListener('click', stop);
  $('whip-stream').addEventListener('input', showUrl);
  $('whip-secret').addEventListener('input', showUrl);
  window.addEventListener('pagehide', function () {
    if (current) current.stop();
  });
  showUrl();
  if ($('whip-autostart').value === 'true') start();
})();
