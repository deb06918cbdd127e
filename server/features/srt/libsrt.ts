// A thin koffi binding to the system's libsrt (Debian's libsrt1.5-openssl, what SRS links; Ubuntu
// 22.04's libsrt1.4-openssl): only what the gateway uses. Loaded inside the gateway's worker
// thread only (gateway-worker.ts explains why). Constants from /usr/include/srt/srt.h (1.5.1),
// unchanged since 1.4.
import koffi, { type TypeObject } from 'koffi';

/** Sonames tried in order. */
export const LIBSRT_CANDIDATES = ['libsrt.so.1.5', 'libsrt-openssl.so.1.5', 'libsrt.so.1.4', 'libsrt-gnutls.so.1.5', 'libsrt.so'];

export const INSTALL_HINT = 'apt install libsrt1.5-openssl (Ubuntu 22.04: libsrt1.4-openssl)';

export const SRTO = {
  SNDSYN: 1,
  RCVSYN: 2,
  TSBPDMODE: 22,
  LATENCY: 23,
  PASSPHRASE: 26,
  TLPKTDROP: 31,
  STREAMID: 46,
} as const;
export const EPOLL = { IN: 1, OUT: 4, ERR: 8 } as const;
export const SRT_EASYNCSND = 6001;
export const SRT_EASYNCRCV = 6002;

// koffi's function objects are untyped callables: each wrapper below states its C signature.
type Fn = ReturnType<ReturnType<typeof koffi.load>['func']>;

export interface LibSrt {
  readonly name: string;
  readonly version: string;
  readonly listenCallbackType: TypeObject;
  readonly fn: Record<
    | 'startup'
    | 'cleanup'
    | 'create_socket'
    | 'bind'
    | 'listen'
    | 'accept'
    | 'listen_callback'
    | 'close'
    | 'setsockflag'
    | 'getsockflag'
    | 'recvmsg'
    | 'sendmsg'
    | 'setrejectreason'
    | 'getlasterror'
    | 'getlasterror_str'
    | 'epoll_create'
    | 'epoll_add_usock'
    | 'epoll_remove_usock'
    | 'epoll_uwait'
    | 'epoll_release',
    Fn
  >;
}

/** Loads libsrt, or throws naming what was tried and how to install it. */
export function loadLibSrt(candidates: readonly string[] = LIBSRT_CANDIDATES): LibSrt {
  let lib: ReturnType<typeof koffi.load> | null = null;
  let name = '';
  for (const candidate of candidates) {
    try {
      lib = koffi.load(candidate);
      name = candidate;
      break;
    } catch {
      /* try the next soname */
    }
  }
  if (!lib) throw new Error(`libsrt not found (tried ${candidates.join(', ')}): ${INSTALL_HINT}`);
  const listenCallbackType = koffi.proto(
    'int SrtListenCallback(void *opaque, int ns, int hsversion, const void *peeraddr, const char *streamid)',
  );
  const fn = {
    startup: lib.func('int srt_startup()'),
    cleanup: lib.func('int srt_cleanup()'),
    create_socket: lib.func('int srt_create_socket()'),
    bind: lib.func('int srt_bind(int u, const void *name, int namelen)'),
    listen: lib.func('int srt_listen(int u, int backlog)'),
    accept: lib.func('int srt_accept(int u, void *addr, _Inout_ int *addrlen)'),
    listen_callback: lib.func('int srt_listen_callback(int lsn, SrtListenCallback *hook, void *opaque)'),
    close: lib.func('int srt_close(int u)'),
    setsockflag: lib.func('int srt_setsockflag(int u, int opt, const void *optval, int optlen)'),
    getsockflag: lib.func('int srt_getsockflag(int u, int opt, void *optval, _Inout_ int *optlen)'),
    recvmsg: lib.func('int srt_recvmsg(int u, void *buf, int len)'),
    sendmsg: lib.func('int srt_sendmsg(int u, const void *buf, int len, int ttl, int inorder)'),
    setrejectreason: lib.func('int srt_setrejectreason(int u, int value)'),
    getlasterror: lib.func('int srt_getlasterror(_Out_ int *errno_loc)'),
    getlasterror_str: lib.func('const char *srt_getlasterror_str()'),
    epoll_create: lib.func('int srt_epoll_create()'),
    epoll_add_usock: lib.func('int srt_epoll_add_usock(int eid, int u, const int *events)'),
    epoll_remove_usock: lib.func('int srt_epoll_remove_usock(int eid, int u)'),
    epoll_uwait: lib.func('int srt_epoll_uwait(int eid, void *fds, int fdsSize, int64_t msTimeOut)'),
    epoll_release: lib.func('int srt_epoll_release(int eid)'),
  };
  // libsrt logs every refused handshake as a warning on stderr; errors are enough (LOG_ERR).
  lib.func('void srt_setloglevel(int ll)')(3);
  const v = Number(lib.func('uint32_t srt_getversion()')());
  const version = `${(v >> 16) & 0xff}.${(v >> 8) & 0xff}.${v & 0xff}`;
  return { name, version, listenCallbackType, fn };
}

/** The calling thread's last libsrt error. */
export function lastError(srt: LibSrt): { code: number; message: string } {
  const errno = [0];
  const code = Number(srt.fn.getlasterror(errno));
  return { code, message: String(srt.fn.getlasterror_str()) };
}

export function setIntOption(srt: LibSrt, u: number, opt: number, value: number): void {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value | 0);
  if (srt.fn.setsockflag(u, opt, b, 4) < 0) throw new Error(`srt_setsockflag(${opt}=${value}): ${lastError(srt).message}`);
}

export function setStringOption(srt: LibSrt, u: number, opt: number, value: string): void {
  const b = Buffer.from(value, 'utf8');
  if (srt.fn.setsockflag(u, opt, b, b.length) < 0) throw new Error(`srt_setsockflag(${opt}): ${lastError(srt).message}`);
}

export function getStringOption(srt: LibSrt, u: number, opt: number): string {
  const b = Buffer.alloc(600);
  const len = [b.length];
  if (srt.fn.getsockflag(u, opt, b, len) < 0) return '';
  return b.subarray(0, len[0]).toString('utf8');
}

/** struct sockaddr_in for bind (IPv4 only: SRS Stack's listener is IPv4 too). */
export function sockaddrIn(host: string, port: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(2, 0);
  b.writeUInt16BE(port, 2);
  host.split('.').forEach((x, i) => (b[4 + i] = Number(x)));
  return b;
}

/** Decodes a struct sockaddr (IPv4 or IPv6) from a Buffer. */
export function decodeSockaddr(b: Buffer): { ip: string; port: number } {
  const family = b.readUInt16LE(0);
  const port = b.readUInt16BE(2);
  if (family === 2) return { ip: `${b[4]}.${b[5]}.${b[6]}.${b[7]}`, port };
  if (family === 10) {
    const parts: string[] = [];
    for (let i = 0; i < 8; i++) parts.push(b.readUInt16BE(8 + 2 * i).toString(16));
    return { ip: parts.join(':'), port };
  }
  return { ip: '', port: 0 };
}

/** Decodes the peer address libsrt hands the listen callback (a `const sockaddr *`). */
export function decodePeerPointer(ptr: unknown): { ip: string; port: number } {
  if (!ptr) return { ip: '', port: 0 };
  const bytes = koffi.decode(ptr, koffi.array('uint8_t', 28)) as number[] | Uint8Array;
  return decodeSockaddr(Buffer.from(bytes));
}
