// Marks every open file descriptor above stderr close-on-exec, so child processes inherit none of
// them. Node opens its own descriptors with O_CLOEXEC; native libraries may not: libjuice (inside
// node-datachannel) opens the WebRTC UDP mux socket without it, and every ffmpeg spawned after
// that held udp/RTC_LISTEN, keeping the port after the stack died (research report, pitfall 1).
// A child's stdio is set up by libuv with dup2 after fork, which clears the flag on 0–2, so
// nothing a child is meant to have is lost.
import fs from 'node:fs';
import { libc } from '../libc.js';

const F_GETFD = 1;
const F_SETFD = 2;
const FD_CLOEXEC = 1;

/** Sets FD_CLOEXEC on every descriptor > 2 of this process; returns how many it had to change. */
export function closeOnExecAll(): number {
  const set = libc().fcntl;
  let changed = 0;
  for (const name of fs.readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    if (!Number.isInteger(fd) || fd <= 2) continue;
    const flags = set(fd, F_GETFD, 0);
    if (flags >= 0 && !(flags & FD_CLOEXEC) && set(fd, F_SETFD, flags | FD_CLOEXEC) === 0) changed += 1;
  }
  return changed;
}

/** Whether a descriptor is close-on-exec (tests). */
export function isCloseOnExec(fd: number): boolean {
  const flags = libc().fcntl(fd, F_GETFD, 0);
  return flags >= 0 && (flags & FD_CLOEXEC) !== 0;
}
