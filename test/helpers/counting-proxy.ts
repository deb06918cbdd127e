// A plain HTTP reverse proxy that prints every request it passes on (one JSON line on stdout):
// the integration test of the edge runs it in front of the origin, inside the origin's namespace,
// to count what the origin was asked. Usage: node counting-proxy.js <listenHost> <listenPort> <targetPort>
import http from 'node:http';

const [listenHost = '127.0.0.1', listenPort = '0', targetPort = '0'] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

const server = http.createServer((req, res) => {
  process.stdout.write(`${JSON.stringify({ method: req.method, url: req.url, edge: req.headers['x-srs-edge'] ?? null })}\n`);
  const upstream = http.request(
    { host: '127.0.0.1', port: Number(targetPort), method: req.method, path: req.url, headers: req.headers, agent },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => res.destroy());
  res.on('close', () => upstream.destroy());
  req.pipe(upstream);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(listenPort), listenHost, () => process.stdout.write('{"listening":true}\n'));
process.on('SIGTERM', () => process.exit(0));
