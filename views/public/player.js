// One player for the console and /tools/player.html: HTTP-FLV through mpegts.js, HLS through hls.js
// (or the browser itself where it plays HLS natively), an MP4 file (a finished record) by the browser. Both libraries come from their npm packages,
// served by the stack under /mgmt/vendor/: no CDN, so players work on a closed network.
(function () {
  'use strict';
  const LIBS = { flv: '/mgmt/vendor/mpegts/mpegts.js', hls: '/mgmt/vendor/hls/hls.min.js' };
  const loads = {};

  function load(src) {
    if (!loads[src]) {
      loads[src] = new Promise((resolve, reject) => {
        const s = document.createElement('script');
        s.src = src;
        s.onload = resolve;
        s.onerror = () => {
          delete loads[src];
          reject(new Error('cannot load ' + src));
        };
        document.head.appendChild(s);
      });
    }
    return loads[src];
  }

  function kindOf(url) {
    const path = String(url).split(/[?#]/)[0];
    if (/\.flv$/i.test(path)) return 'flv';
    if (/\.m3u8$/i.test(path)) return 'hls';
    if (/\.mp4$/i.test(path)) return 'file';
    return '';
  }

  /** How long the player waits before asking again for a stream that is not there yet. */
  const RETRY_MS = 2000;

  /**
   * Plays url in a <video>. onState(state, detail) hears 'loading', 'waiting', 'playing', 'error'
   * and 'stopped'. Returns { stop() }.
   *
   * A stream that is not there yet (the playlist or the FLV answers 404 until the encoder's first
   * segment) is 'waiting', retried every RETRY_MS until it plays or stop() is called: in the console
   * one presses Play while the encoder is still starting, and giving up then is wrong.
   */
  function play(video, url, onState) {
    let engine = null;
    let stopped = false;
    let retry = null;
    let recoveredMedia = false;
    let waited = false;
    const report = (state, detail) => {
      if (!stopped) onState(state, detail || '');
    };
    const onPlaying = () => report('playing');
    const onError = () => report('error', video.error ? video.error.message || 'media error ' + video.error.code : '');
    video.addEventListener('playing', onPlaying);
    video.addEventListener('error', onError);

    function detach() {
      if (engine) engine.destroy();
      engine = null;
      video.pause();
      video.removeAttribute('src');
      video.load();
    }

    function stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(retry);
      video.removeEventListener('playing', onPlaying);
      video.removeEventListener('error', onError);
      detach();
      onState('stopped', '');
    }

    function waitAndRetry() {
      if (stopped || retry) return;
      waited = true;
      report('waiting');
      detach();
      retry = setTimeout(() => {
        retry = null;
        start().catch(fail);
      }, RETRY_MS);
    }

    function fail(e) {
      // A play() interrupted by a retry or by stop() is not an error of the stream.
      if (stopped || retry) return;
      report('error', e && e.message ? e.message : String(e));
    }

    async function start() {
      if (!waited) report('loading');
      const kind = kindOf(url);
      if (kind === 'flv') {
        await load(LIBS.flv);
        if (stopped) return;
        const mpegts = window.mpegts;
        if (!mpegts.isSupported()) throw new Error('this browser has no Media Source Extensions');
        engine = mpegts.createPlayer({ type: 'flv', url: url, isLive: true }, { enableStashBuffer: false, liveBufferLatencyChasing: true });
        engine.on(mpegts.Events.ERROR, (type, detail) => {
          if (type === mpegts.ErrorTypes.NETWORK_ERROR) waitAndRetry();
          else report('error', type + ': ' + detail);
        });
        engine.attachMediaElement(video);
        engine.load();
      } else if (kind === 'hls') {
        await load(LIBS.hls);
        if (stopped) return;
        const Hls = window.Hls;
        if (Hls.isSupported()) {
          engine = new Hls({ lowLatencyMode: true });
          engine.on(Hls.Events.ERROR, (_event, data) => {
            if (!data.fatal) return;
            if (data.type === Hls.ErrorTypes.NETWORK_ERROR) waitAndRetry();
            else if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !recoveredMedia) {
              recoveredMedia = true;
              engine.recoverMediaError();
            } else report('error', data.type + ': ' + data.details);
          });
          engine.loadSource(url);
          engine.attachMedia(video);
        } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
          video.src = url;
        } else {
          throw new Error('this browser plays no HLS');
        }
      } else if (kind === 'file') {
        video.src = url;
      } else {
        throw new Error('not an .flv, .m3u8 or .mp4 URL');
      }
      await video.play();
    }

    start().catch(fail);
    return { stop: stop };
  }

  /** An onState that shows the state in a badge, with the page's translated labels. */
  function badgeReporter(badge, labels) {
    return (state, detail) => {
      badge.dataset.state = state;
      badge.className = 'badge ' + state;
      badge.textContent = (labels[state] || state) + (detail ? ' (' + detail + ')' : '');
    };
  }

  window.srsPlayer = { play: play, kindOf: kindOf, badgeReporter: badgeReporter };
})();
