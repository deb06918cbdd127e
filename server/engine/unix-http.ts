// A bounded HTTP GET over a unix socket: the engine's stats and control API listen on one, so they
// are reachable from this host only and never collide with another instance's ports.
import http from 'node:http';

export interface UnixHttpAnswer {
  status: number;
  body: string;
}

export function unixGet(socketPath: string, pathWithQuery: string, timeoutMs = 3000, maxBytes = 16 * 1024 * 1024): Promise<UnixHttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path: pathWithQuery, method: 'GET', timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          req.destroy(new Error(`answer of ${pathWithQuery} is larger than ${maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from the engine within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
