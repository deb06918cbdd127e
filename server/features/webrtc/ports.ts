// Loopback UDP ports for the ffmpeg bridges: the OS picks them (bind to port 0), so they never
// collide with another process; pairs (RTP, RTP + 1 for RTCP) are checked free together.
import dgram from 'node:dgram';

function bindUdp(port: number): Promise<dgram.Socket | null> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(null);
    });
    socket.bind(port, '127.0.0.1', () => resolve(socket));
  });
}

/** An even port P with P + 1 also free, both released before returning (ffmpeg binds them next). */
export async function freeUdpPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await bindUdp(0);
    if (!first) continue;
    const port = first.address().port;
    const base = port % 2 === 0 ? port : port + 1;
    const held = [first];
    const a = base === port ? first : await bindUdp(base);
    if (a && a !== first) held.push(a);
    const b = a ? await bindUdp(base + 1) : null;
    if (b) held.push(b);
    await Promise.all(held.map((s) => new Promise<void>((r) => s.close(() => r()))));
    if (a && b && base + 1 <= 65535) return base;
  }
  throw new Error('no free pair of loopback UDP ports');
}

/** A socket bound on loopback to a port of the OS's choosing. */
export async function loopbackSocket(): Promise<dgram.Socket> {
  const socket = await bindUdp(0);
  if (!socket) throw new Error('cannot bind a loopback UDP socket');
  return socket;
}
