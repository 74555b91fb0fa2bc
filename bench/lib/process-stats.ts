/**
 * CPU and memory of processes read straight from /proc (what `pidusage` does on Linux), so the bench
 * needs no extra dependency: utime + stime from /proc/<pid>/stat, VmRSS from /proc/<pid>/status,
 * and the machine-wide busy share from /proc/stat.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

let clockTicks: number | undefined;

/** Kernel clock ticks per second (USER_HZ), the unit of utime/stime. */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

interface StatFields {
  comm: string;
  ppid: number;
  cpuSeconds: number;
}

function readStat(pid: number, task?: number): StatFields | undefined {
  let text: string;
  try {
    text = readFileSync(task === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${task}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm is in parentheses and may contain spaces: split after the last ')'.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { comm, ppid: Number(fields[1]), cpuSeconds: ticks / ticksPerSecond() };
}

/** Resident set size in bytes, or undefined when the process is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Children, grandchildren… of `rootPid` whose command name matches (a server behind a guardian shell). */
export function descendantPids(rootPid: number, comm?: RegExp): number[] {
  const parents = new Map<number, { ppid: number; comm: string }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) parents.set(Number(entry), stat);
  }
  const isDescendant = (pid: number): boolean => {
    for (let current = parents.get(pid)?.ppid, depth = 0; current !== undefined && depth < 64; current = parents.get(current)?.ppid, depth++) {
      if (current === rootPid) return true;
    }
    return false;
  };
  return [...parents.entries()].filter(([pid, stat]) => isDescendant(pid) && (!comm || comm.test(stat.comm))).map(([pid]) => pid);
}

/** CPU seconds of each thread of `pid`, summed per thread name (`node`, `tokio-runtime-w`, `V8 DefaultWorke`, `libuv-worker`…). */
export function threadCpuSeconds(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return byName;
  }
  for (const task of tasks) {
    const stat = readStat(pid, Number(task));
    if (stat) byName.set(stat.comm, (byName.get(stat.comm) ?? 0) + stat.cpuSeconds);
  }
  return byName;
}

/** Every process whose command name matches (e.g. all postgres backends). */
export function pidsByName(comm: RegExp): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat && comm.test(stat.comm)) found.push(Number(entry));
  }
  return found;
}

export interface ProcessUsage {
  /** CPU over the interval, percent of one core (200% = both cores of this machine). */
  cpuPercent: number;
  /** With `threads`: percent of one core per thread name. */
  threads?: Record<string, number>;
  /** RSS at the end of the interval, MiB. */
  rssMiB: number;
}

/** A named process, or a group of processes measured as one (postgres backends). */
export interface WatchedProcess {
  name: string;
  pids: () => number[];
  /** A subset of another entry's processes, reported on its own and left out of the machine's sum. */
  part?: boolean;
  /** Also report CPU per thread name (where a Node process's time goes: main thread, Temporal core, GC…). */
  threads?: boolean;
}

export interface CpuReport {
  processes: Record<string, ProcessUsage>;
  /** Busy share of all cores over the interval (100% = every core busy). */
  machineBusyPercent: number;
  /** CPU used by processes outside the watched set (other work on the machine), percent of one core. */
  otherPercent: number;
  seconds: number;
}

interface Snapshot {
  at: number;
  /** CPU seconds per process name, per pid (a group such as postgres backends has several). */
  cpuSeconds: Map<string, Map<number, number>>;
  /** Per process name with `threads`: CPU seconds per `<pid>/<thread name>`. */
  threadSeconds: Map<string, Map<string, number>>;
  machineBusy: number;
  machineTotal: number;
}

function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((sum, value) => sum + value, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

/** Samples the CPU of a set of processes at two instants and reports usage between them. */
export class CpuMeter {
  private start: Snapshot | undefined;

  constructor(private readonly processes: WatchedProcess[]) {}

  private snapshot(): Snapshot {
    const cpuSeconds = new Map<string, Map<number, number>>();
    const threadSeconds = new Map<string, Map<string, number>>();
    for (const process of this.processes) {
      const perPid = new Map<number, number>();
      const perThread = new Map<string, number>();
      for (const pid of process.pids()) {
        const stat = readStat(pid);
        if (stat) perPid.set(pid, stat.cpuSeconds);
        if (process.threads) for (const [name, seconds] of threadCpuSeconds(pid)) perThread.set(`${pid}/${name}`, seconds);
      }
      cpuSeconds.set(process.name, perPid);
      if (process.threads) threadSeconds.set(process.name, perThread);
    }
    const machine = machineTicks();
    return { at: performance.now(), cpuSeconds, threadSeconds, machineBusy: machine.busy, machineTotal: machine.total };
  }

  begin(): void {
    this.start = this.snapshot();
  }

  /** Usage per process since `begin`, and the machine's busy share of all cores (100% = every core busy). */
  end(): CpuReport {
    if (!this.start) throw new Error('CpuMeter.end() before begin()');
    const stop = this.snapshot();
    const seconds = (stop.at - this.start.at) / 1000;
    const result: Record<string, ProcessUsage> = {};
    for (const process of this.processes) {
      // Per pid: a process that started during the interval counts from zero; one that exited is lost.
      const before = this.start.cpuSeconds.get(process.name) ?? new Map<number, number>();
      let used = 0;
      for (const [pid, seconds] of stop.cpuSeconds.get(process.name) ?? new Map<number, number>()) used += seconds - (before.get(pid) ?? 0);
      const rss = process.pids().reduce((sum, pid) => sum + (rssBytes(pid) ?? 0), 0);
      result[process.name] = { cpuPercent: Math.round((used / seconds) * 1000) / 10, rssMiB: Math.round((rss / 1048576) * 10) / 10 };
      if (process.threads) {
        const threadsBefore = this.start.threadSeconds.get(process.name) ?? new Map<string, number>();
        const perName = new Map<string, number>();
        for (const [key, value] of stop.threadSeconds.get(process.name) ?? new Map<string, number>()) {
          const name = key.slice(key.indexOf('/') + 1);
          perName.set(name, (perName.get(name) ?? 0) + value - (threadsBefore.get(key) ?? 0));
        }
        result[process.name]!.threads = Object.fromEntries(
          [...perName.entries()].filter(([, value]) => value > 0).sort((left, right) => right[1] - left[1]).map(([name, value]) => [name, Math.round((value / seconds) * 1000) / 10]),
        );
      }
    }
    const busyShare = (stop.machineBusy - this.start.machineBusy) / Math.max(1, stop.machineTotal - this.start.machineTotal);
    const watchedPercent = this.processes.filter((process) => !process.part).reduce((sum, process) => sum + (result[process.name]?.cpuPercent ?? 0), 0);
    const machinePercentOfOneCore = busyShare * 100 * cpus().length;
    return {
      processes: result,
      machineBusyPercent: Math.round(busyShare * 1000) / 10,
      otherPercent: Math.max(0, Math.round(machinePercentOfOneCore - watchedPercent)),
      seconds: Math.round(seconds * 10) / 10,
    };
  }
}
