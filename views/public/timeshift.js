// The public player page's "Live / Timeshift" control (docs/compatibility.md §13b): Timeshift plays
// the stream's DVR playlist (/{app}/{stream}/dvr.m3u8, the last timeshiftMinutes) in the same
// player, a seek bar spans the window the browser can seek in, and Back to live jumps to its edge.
(function () {
  'use strict';
  const box = document.getElementById('timeshift');
  const video = document.getElementById('player-video');
  const input = document.getElementById('player-url');
  if (!box || !video || !input || !window.srsPlayerPage) return;
  const liveBtn = document.getElementById('timeshift-live');
  const dvrBtn = document.getElementById('timeshift-dvr');
  const seek = document.getElementById('timeshift-seek');
  const behind = document.getElementById('timeshift-behind');
  const goLive = document.getElementById('timeshift-golive');
  /** hls.js keeps about three segments behind the edge; closer, it stalls waiting for the next one. */
  const EDGE_MARGIN_S = 6;

  function windowOf() {
    const s = video.seekable;
    return s && s.length ? { start: s.start(0), end: s.end(s.length - 1) } : null;
  }

  function clock(seconds) {
    const s = Math.max(0, Math.round(seconds));
    return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
  }

  function setMode(mode) {
    box.dataset.mode = mode;
    liveBtn.setAttribute('aria-pressed', String(mode === 'live'));
    dvrBtn.setAttribute('aria-pressed', String(mode === 'dvr'));
    window.srsPlayerPage.switchTo(mode === 'dvr' ? box.dataset.dvrUrl : input.value);
    update();
  }

  function update() {
    const w = box.dataset.mode === 'dvr' ? windowOf() : null;
    seek.disabled = !w;
    goLive.disabled = !w;
    if (!w) {
      behind.textContent = '';
      behind.dataset.behind = '';
      return;
    }
    seek.min = String(w.start);
    seek.max = String(w.end);
    if (!seek.matches(':active')) seek.value = String(video.currentTime);
    const lag = w.end - video.currentTime;
    behind.dataset.behind = lag.toFixed(1);
    behind.textContent = lag <= EDGE_MARGIN_S + 2 ? behind.dataset.liveLabel : '-' + clock(lag);
  }

  liveBtn.addEventListener('click', () => setMode('live'));
  dvrBtn.addEventListener('click', () => setMode('dvr'));
  seek.addEventListener('input', () => {
    video.currentTime = Number(seek.value);
  });
  goLive.addEventListener('click', () => {
    const w = windowOf();
    if (w) video.currentTime = Math.max(w.start, w.end - EDGE_MARGIN_S);
  });
  for (const event of ['timeupdate', 'progress', 'durationchange', 'seeked']) video.addEventListener(event, update);
})();
