// The one place that finds and kills processes that outlived their owner: those named by the pid
// files the supervisor writes (the stack was killed with -9, the host lost power), and what is left
// of a process group whose leader died first (an nginx master killed with -9 leaves its workers
// holding the RTMP port). Linux /proc is read here and nowhere else.
//
// Pids are recycled, so nothing is killed on a pid alone: the process must still carry the name of
// the command that was started.
import fs from 'node:fs';
import path from 'node:path';
import { createLogger } from '../logger.js';

const log = createLogger('reaper');

/** Time a stale process gets to exit on SIGTERM (redis saves its data) before SIGKILL. */
const STALE_GRACE_MS = 5000;
/** The kernel keeps the first 15 bytes of a process name (TASK_COMM_LEN - 1). */
const COMM_LENGTH = 15;

interface ProcStat {
  readonly pid: number;
  /** The kernel's name of the process (`comm`): the executable's name, truncated; not its title. */
  readonly name: string;
  /** R, S, D, Z (zombie: already dead, waiting for its parent)… */
  readonly state: string;
  readonly pgid: number;
}

function readStat(pid: number): ProcStat | null {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The name is in parentheses and may itself contain spaces and parentheses: cut at the last ')'.
  const close = stat.lastIndexOf(')');
  const name = stat.slice(stat.indexOf('(') + 1, close);
  const [state = '', , pgid = ''] = stat.slice(close + 2).split(' ');
  return { pid, name, state, pgid: Number(pgid) };
}

function allPids(): number[] {
  try {
    return fs
      .readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
  } catch {
    return [];
  }
}

function kernelName(command: string): string {
  return path.basename(command).slice(0, COMM_LENGTH);
}

/** Whether `pid` is alive (not a zombie). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return readStat(pid)?.state !== 'Z';
}

/**
 * Whether `pid` still runs `command`. Its command line is searched for the executable's name, since
 * processes may rewrite their title ("nginx: master process …").
 */
export function processMatches(pid: number, command: string): boolean {
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    return cmdline.includes(path.basename(command));
  } catch {
    return false;
  }
}

/** The live members of process group `pgid` that run `command`. */
export function groupMembers(pgid: number, command: string): number[] {
  const name = kernelName(command);
  return allPids()
    .map(readStat)
    .filter((s): s is ProcStat => s !== null && s.pgid === pgid && s.name === name && s.state !== 'Z')
    .map((s) => s.pid);
}

/**
 * SIGKILLs what is left of process group `pgid` running `command` (the group of a child the
 * supervisor spawned, whose leader is gone); returns how many were killed.
 */
export function killGroupLeftovers(pgid: number, command: string): number {
  if (!Number.isInteger(pgid) || pgid <= 1) return 0;
  let killed = 0;
  for (const pid of groupMembers(pgid, command)) {
    try {
      process.kill(pid, 'SIGKILL');
      killed += 1;
    } catch {
      /* gone meanwhile */
    }
  }
  if (killed) log.warn(`killed ${killed} ${path.basename(command)} process(es) left in process group ${pgid}`);
  return killed;
}

/** The pid file the supervisor writes for each child: `<pid>\n<command>\n`. */
export function writePidFile(file: string, pid: number, command: string): void {
  fs.writeFileSync(file, `${pid}\n${command}\n`, { mode: 0o600 });
}

/**
 * Kills the processes named by the pid files in `runDir` whose command still matches, with their
 * process groups (the supervisor spawns each child as a group leader), and removes the files.
 * Returns the names of the files whose process was reaped.
 */
export async function reapStalePids(runDir: string, graceMs = STALE_GRACE_MS): Promise<string[]> {
  let entries: string[];
  try {
    entries = fs.readdirSync(runDir).filter((f) => f.endsWith('.pid'));
  } catch {
    return [];
  }
  const reaped: string[] = [];
  const stale: Array<{ pid: number; command: string }> = [];
  for (const file of entries) {
    const full = path.join(runDir, file);
    let text: string;
    try {
      text = fs.readFileSync(full, 'utf8');
    } catch {
      continue;
    }
    const [pidText, command] = text.split('\n');
    const pid = Number(pidText);
    fs.rmSync(full, { force: true });
    if (!Number.isInteger(pid) || pid <= 1 || !command) continue;
    if (processMatches(pid, command)) {
      log.warn(`reaping stale ${path.basename(command)} pid ${pid} left by a previous run (${file})`);
      try {
        process.kill(pid, 'SIGTERM');
        reaped.push(file);
      } catch {
        /* gone meanwhile */
      }
    }
    // Even when the leader is gone, its group may not be (the nginx master died before the stack).
    stale.push({ pid, command });
  }
  // Give them a moment to exit cleanly, then force, leaders and what they left in their groups.
  const deadline = Date.now() + graceMs;
  while (stale.some((s) => isAlive(s.pid) && processMatches(s.pid, s.command)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const { pid, command } of stale) {
    if (isAlive(pid) && processMatches(pid, command)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    killGroupLeftovers(pid, command);
  }
  return reaped;
}
