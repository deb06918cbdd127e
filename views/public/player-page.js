// /tools/player.html?url=…: plays the URL at once (muted, so browsers allow autoplay).
(function () {
  'use strict';
  const input = document.getElementById('player-url');
  const video = document.getElementById('player-video');
  const badge = document.getElementById('player-state');
  if (!input || !video || !input.value) return;
  window.srsPlayer.play(video, input.value, window.srsPlayer.badgeReporter(badge, JSON.parse(video.dataset.labels || '{}')));
})();
