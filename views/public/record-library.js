// The Recordings library (views/record/record.ejs): In/Out buttons take the in-page player's position
// as a clip's in or out point, once that record is playing in it (views/public/watch.js).
(() => {
  const video = document.getElementById('watch-video');
  document.addEventListener('click', (event) => {
    const btn = event.target.closest?.('[data-clip-mark]');
    if (!btn || !video) return;
    const input = document.querySelector(btn.dataset.clipMark);
    const playing = video.currentSrc && new URL(btn.dataset.clipOf, window.location.href).href === video.currentSrc;
    if (!input) return;
    if (!playing) {
      const play = btn.closest('tr')?.querySelector('[data-watch]');
      play?.click();
      return;
    }
    input.value = (Math.round(video.currentTime * 10) / 10).toFixed(1);
  });
})();
