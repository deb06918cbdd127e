// WHIP and WHEP clients for the console's WebRTC pages (no library: RTCPeerConnection and fetch).
// Both send a complete offer (ICE gathering done, no trickle) as application/sdp and apply the
// 201's answer; the Location names the session, deleted on stop.
(function () {
  'use strict';

  function waitGathered(pc) {
    return new Promise(function (resolve) {
      if (pc.iceGatheringState === 'complete') return resolve();
      const timer = setTimeout(resolve, 2000);
      pc.addEventListener('icegatheringstatechange', function () {
        if (pc.iceGatheringState === 'complete') {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }

  async function exchange(pc, url, headers) {
    await pc.setLocalDescription(await pc.createOffer());
    await waitGathered(pc);
    const res = await fetch(url, {
      method: 'POST',
      headers: Object.assign({ 'Content-Type': 'application/sdp' }, headers || {}),
      body: pc.localDescription.sdp,
    });
    const text = await res.text();
    if (res.status !== 201) throw new Error('HTTP ' + res.status + ': ' + text.trim());
    const location = new URL(res.headers.get('Location') || '', new URL(url, document.baseURI)).href;
    await pc.setRemoteDescription({ type: 'answer', sdp: text });
    return location;
  }

  function session(pc, location, stream) {
    return {
      pc: pc,
      location: location,
      stream: stream,
      async stop() {
        if (stream) stream.getTracks().forEach((t) => t.stop());
        pc.close();
        try {
          await fetch(location, { method: 'DELETE' });
        } catch {
          /* the server ends it on ICE failure anyway */
        }
      },
    };
  }

  /** Publishes a MediaStream (camera or screen) to a WHIP URL; `bearer` is sent as OBS does. */
  async function publish(url, media, opts) {
    const pc = new RTCPeerConnection();
    media.getTracks().forEach((t) => pc.addTransceiver(t, { direction: 'sendonly' }));
    const headers = opts && opts.bearer ? { Authorization: 'Bearer ' + opts.bearer } : {};
    try {
      return session(pc, await exchange(pc, url, headers), media);
    } catch (e) {
      pc.close();
      throw e;
    }
  }

  /** Plays a WHEP URL into a video element. */
  async function play(url, video) {
    const pc = new RTCPeerConnection();
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const ms = new MediaStream();
    pc.addEventListener('track', function (e) {
      ms.addTrack(e.track);
      video.srcObject = ms;
    });
    try {
      return session(pc, await exchange(pc, url), null);
    } catch (e) {
      pc.close();
      throw e;
    }
  }

  async function capture(source) {
    if (!navigator.mediaDevices) throw new Error('this page is not a secure context (HTTPS or localhost): no camera access');
    if (source === 'screen') {
      const screen = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: true });
      if (!screen.getAudioTracks().length) {
        try {
          const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
          mic.getAudioTracks().forEach((t) => screen.addTrack(t));
        } catch {
          /* screen without sound */
        }
      }
      return screen;
    }
    return navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720, frameRate: 25 }, audio: true });
  }

  function badge(el, labels) {
    return function (state, detail) {
      el.dataset.state = state;
      el.className = 'badge ' + state;
      el.textContent = labels[state] || state;
      const err = document.getElementById(el.id.replace('-state', '-error'));
      if (err) err.textContent = detail || '';
    };
  }

  window.srsWebrtc = { publish: publish, play: play, capture: capture, badge: badge };
})();
