// File uploads with a progress bar (XHR reports upload progress, fetch does not): a virtual-live
// source, then probed and chosen as the slot's source through the API, and the slate picture of the
// Forward tab. Afterwards the page's live parts are refreshed in place (console.js).
(function () {
  'use strict';
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || '';

  /** Sends the form's file to `url`, showing progress; then `after(data)`, the API's answer. */
  function upload(form, url, after) {
    const file = form.querySelector('input[type=file]').files[0];
    const bar = form.querySelector('progress');
    const status = form.querySelector('.upload-status');
    const button = form.querySelector('button');
    if (!file) return;
    const show = (text, ok) => {
      status.textContent = text;
      status.dataset.ok = ok === undefined ? '' : String(ok);
    };
    const xhr = new window.XMLHttpRequest();
    xhr.open('POST', url(file));
    xhr.setRequestHeader('X-CSRF-Token', csrf());
    xhr.upload.onprogress = (e) => {
      if (!e.lengthComputable) return;
      const pct = Math.floor((e.loaded / e.total) * 100);
      bar.value = pct;
      show(pct + '% (' + (e.loaded / 1048576).toFixed(1) + ' / ' + (e.total / 1048576).toFixed(1) + ' MB)');
    };
    xhr.onerror = () => {
      button.disabled = false;
      show('upload failed: network error', false);
    };
    xhr.onload = async () => {
      let json = null;
      try {
        json = JSON.parse(xhr.responseText);
      } catch {
        /* not JSON */
      }
      if (xhr.status !== 200 || !json || json.code !== 0) {
        button.disabled = false;
        show((json && json.message) || 'upload failed: HTTP ' + xhr.status, false);
        return;
      }
      show('…');
      try {
        await after(json.data, file);
        show('OK', true);
        // Refresh only the live parts: a reload would erase what the user may have typed meanwhile.
        await window.srsRefreshFrom(window.location.href);
      } catch (e) {
        show(String(e.message || e), false);
      }
      button.disabled = false;
    };
    button.disabled = true;
    bar.hidden = false;
    bar.value = 0;
    const data = new window.FormData();
    data.append('file', file, file.name);
    xhr.send(data);
  }

  const submitted = (form, send) =>
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      send();
    });

  for (const form of document.querySelectorAll('form[data-upload]')) {
    const platform = form.dataset.upload;
    submitted(form, () =>
      upload(
        form,
        (file) => '/terraform/v1/ffmpeg/vlive/upload/' + encodeURIComponent(file.name),
        (up, file) =>
          window.srsApi('/terraform/v1/ffmpeg/vlive/source', {
            platform,
            files: [{ name: file.name, path: file.name, size: file.size, uuid: up.uuid, target: up.target, type: 'upload' }],
          }),
      ),
    );
  }
  for (const form of document.querySelectorAll('form[data-upload-url]')) {
    submitted(form, () =>
      upload(
        form,
        () => form.dataset.uploadUrl,
        async () => undefined,
      ),
    );
  }
})();
