// Virtual-live upload with a progress bar: XHR reports upload progress, fetch does not. Then the
// uploaded file is probed and chosen as the slot's source through the API, and the page's source
// and status parts are refreshed in place (console.js).
(function () {
  'use strict';
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || '';

  function upload(form) {
    const platform = form.dataset.upload;
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
    xhr.open('POST', '/terraform/v1/ffmpeg/vlive/upload/' + encodeURIComponent(file.name));
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
      const up = json.data;
      try {
        await window.srsApi('/terraform/v1/ffmpeg/vlive/source', {
          platform,
          files: [{ name: file.name, path: file.name, size: file.size, uuid: up.uuid, target: up.target, type: 'upload' }],
        });
        show('OK', true);
        // Refresh only the slot's source and the status: a reload would erase the label and
        // destination the user may have typed while the file was uploading.
        await window.srsRefreshFrom(window.location.href);
        button.disabled = false;
      } catch (e) {
        button.disabled = false;
        show(String(e.message || e), false);
      }
    };
    button.disabled = true;
    bar.hidden = false;
    bar.value = 0;
    const data = new window.FormData();
    data.append('file', file, file.name);
    xhr.send(data);
  }

  for (const form of document.querySelectorAll('form[data-upload]')) {
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      upload(form);
    });
  }
})();
