// A thread's nice value as Linux reports it (the 19th field of /proc/<pid>/task/<tid>/stat, counted
// after the command name in parentheses, which may hold spaces): core/process/thread-priority.ts.
import fs from 'node:fs';

export function niceOf(statPath: string): number {
  const stat = fs.readFileSync(statPath, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

/** How many threads of this process run at `nice`. */
export function threadsAtNice(nice: number): number {
  return fs.readdirSync('/proc/self/task').filter((tid) => niceOf(`/proc/self/task/${tid}/stat`) === nice).length;
}
