// multipart/form-data uploads as browsers and curl send them, for the upload routes (virtual-live
// files, the slate picture): one file part, optionally streamed without a Content-Length.

export interface UploadAnswer<T> {
  status: number;
  json: { code: number; data?: T; message?: string };
}

/** POSTs `data` as the one file part `filename` to `url`; `chunked` streams it without a Content-Length. */
export async function uploadFile<T = unknown>(
  url: string,
  filename: string,
  data: Buffer,
  opts: { bearer?: string; chunked?: boolean } = {},
): Promise<UploadAnswer<T>> {
  const boundary = '----restream-test-boundary';
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const body = Buffer.concat([head, data, tail]);
  const headers: Record<string, string> = { 'Content-Type': `multipart/form-data; boundary=${boundary}` };
  if (opts.bearer) headers.Authorization = `Bearer ${opts.bearer}`;
  const init: RequestInit & { duplex?: 'half' } = { method: 'POST', headers };
  if (opts.chunked) {
    const chunks: Buffer[] = [];
    for (let i = 0; i < body.length; i += 64 * 1024) chunks.push(body.subarray(i, i + 64 * 1024));
    init.body = new ReadableStream({
      pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    init.duplex = 'half';
  } else {
    init.body = body;
  }
  const res = await fetch(url, init);
  return { status: res.status, json: (await res.json()) as UploadAnswer<T>['json'] };
}
