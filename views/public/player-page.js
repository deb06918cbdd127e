// /tools/player.html?url=…: plays the URL at once (muted, so browsers allow autoplay). The page's
// timeshift control (timeshift.js) switches the same <video> to another URL through switchTo.
(function () {
  'use strict';
  const input = document.getElementById('player-url');
  const video = document.getElementById('player-video');
  const badge = document.getElementById('player-state');
  if (!input || !video || !input.value) return;
  const report = window.srsPlayer.badgeReporter(badge, JSON.parse(video.dataset.labels || '{}'));
  let player = window.srsPlayer.play(video, input.value, report);
  window.srsPlayerPage = {
    switchTo(url) {
      player.stop();
      player = window.srsPlayer.play(video, url, report);
    },
  };
})();
