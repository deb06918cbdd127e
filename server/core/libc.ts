// glibc's functions the stack calls through koffi (a maintained FFI library), loaded once, on
// first use: the malloc settings of core/idle-memory.ts, close-on-exec in core/process/cloexec.ts,
// a thread's priority in core/process/thread-priority.ts. Throws where libc.so.6 is not there (not
// glibc); each caller says what that means for it.
import koffi from 'koffi';

export interface Libc {
  mallopt(param: number, value: number): number;
  malloc_trim(pad: number): number;
  /** malloc_trim on a thread of libuv's pool (koffi's async call): the event loop does not wait for it. */
  malloc_trim_in_background(pad: number, done: (err: unknown, result: number) => void): void;
  fcntl(fd: number, cmd: number, arg: number): number;
  gettid(): number;
  setpriority(which: number, who: number, prio: number): number;
}

let loaded: Libc | null = null;

export function libc(): Libc {
  if (!loaded) {
    const lib = koffi.load('libc.so.6');
    const mallocTrim = lib.func('int malloc_trim(size_t pad)');
    loaded = {
      mallopt: lib.func('int mallopt(int param, int value)') as Libc['mallopt'],
      malloc_trim: mallocTrim as Libc['malloc_trim'],
      malloc_trim_in_background: mallocTrim.async as Libc['malloc_trim_in_background'],
      fcntl: lib.func('int fcntl(int fd, int cmd, int arg)') as Libc['fcntl'],
      gettid: lib.func('int gettid()') as Libc['gettid'],
      setpriority: lib.func('int setpriority(int which, unsigned int who, int prio)') as Libc['setpriority'],
    };
  }
  return loaded;
}
