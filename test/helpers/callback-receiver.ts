// A user's HTTP callback receiver for tests: records every body it gets and answers as told
// (`{"code":0}` with 200 to accept, 500 with `{"code":1}` to refuse).
import http from 'node:http';

export interface CallbackReceiver {
  readonly received: Array<Record<string, unknown>>;
  /** What the next callbacks are answered. */
  verdict: 'ok' | 'fail';
  /** The target URL to put into `mgmt/hooks/apply`. */
  readonly url: string;
  close(): void;
}

export async function startCallbackReceiver(verdict: 'ok' | 'fail' = 'ok'): Promise<CallbackReceiver> {
  const received: Array<Record<string, unknown>> = [];
  const state = { verdict };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(state.verdict === 'ok' ? 200 : 500, { 'Content-Type': 'application/json' });
      res.end(state.verdict === 'ok' ? '{"code":0}' : '{"code":1}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks`;
  return {
    received,
    get verdict() {
      return state.verdict;
    },
    set verdict(v) {
      state.verdict = v;
    },
    url,
    close: () => server.close(),
  };
}
