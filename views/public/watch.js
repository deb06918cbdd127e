// The console's Play buttons (Streams, Live rooms, Record, Transcode): a button with data-watch="<url>"
// plays that URL in the page's player (views/console/watch.ejs) through player.js: a live stream over
// HTTP-FLV or HLS, a record in progress over HLS (hls.js), a finished record as MP4. Delegated, so
// buttons in a table that refreshes itself keep working.
(function () {
  'use strict';
  const box = document.getElementById('watch');
  if (!box) return;
  const video = document.getElementById('watch-video');
  const name = document.getElementById('watch-name');
  const setState = window.srsPlayer.badgeReporter(document.getElementById('watch-state'), JSON.parse(box.dataset.labels || '{}'));
  let current = null;

  function stop() {
    if (current) current.stop();
    current = null;
  }

  document.addEventListener('click', (event) => {
    const btn = event.target && event.target.closest ? event.target.closest('[data-watch]') : null;
    if (!btn) return;
    stop();
    box.hidden = false;
    name.textContent = btn.dataset.watchName || '';
    // A relative URL plays from this console's origin, which serves every play URL.
    current = window.srsPlayer.play(video, new URL(btn.dataset.watch, window.location.href).href, setState);
    box.scrollIntoView({ block: 'nearest' });
  });
  document.getElementById('watch-stop').addEventListener('click', stop);
})();
