'use strict';
/**
 * What the runner reads from Linux and the environment: a process's memory
 * (/proc/<pid>/status, /proc/<pid>/smaps_rollup), the kernel's socket memory
 * (/proc/net/sockstat, system-wide) and slab size (/proc/meminfo), and machine facts
 * (cores, RAM, kernel, Node, package and toolchain versions) for the results file.
 * @module benchmark/lib/metrics
 */

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const PAGE_BYTES = (() => {
  try {
    return Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim()) || 4096;
  } catch {
    return 4096;
  }
})();

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Parses `Key:   123 kB` lines into { Key: 123 } (values in KiB). */
function kbLines(text) {
  /** @type {Record<string, number>} */
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s+(\d+)\s*kB/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

/** A process's memory right now, KiB: VmRSS/RssAnon/… and smaps_rollup's Rss/Pss/Anonymous/…. */
function processMemory(pid) {
  const status = kbLines(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  let rollup = {};
  try {
    rollup = kbLines(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  } catch {
    // Older kernels have no smaps_rollup; VmRSS is still there.
  }
  return {
    VmRSS: status.VmRSS,
    RssAnon: status.RssAnon,
    RssFile: status.RssFile,
    VmHWM: status.VmHWM,
    smaps: { Rss: rollup.Rss, Pss: rollup.Pss, Anonymous: rollup.Anonymous, Private_Dirty: rollup.Private_Dirty },
  };
}

/** CPU time (user + system) a process has used so far, in seconds (from /proc/<pid>/stat). */
function cpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the `(comm)`, which may itself contain spaces: state is field 3, utime 14, stime 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/**
 * CPU time all live threads of a process have run so far, in seconds, at ns resolution
 * (the sum of /proc/<pid>/task/<tid>/schedstat's first field). Threads that exited are not
 * in it, so use it for deltas over short windows in which threads persist.
 */
function schedCpuSeconds(pid) {
  try {
    let ns = 0;
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread exited while we read
      }
    }
    return ns / 1e9;
  } catch {
    return null;
  }
}

/** Open fds of a process (counts /proc/<pid>/fd entries). */
function fdCount(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/**
 * /proc/net/sockstat, system-wide: TCP sockets in use, TIME_WAIT, and `mem` (pages the
 * kernel has charged to TCP socket buffers), plus slab memory from /proc/meminfo (KiB).
 */
function kernelSockets() {
  const text = fs.readFileSync('/proc/net/sockstat', 'utf8');
  const tcp = /TCP: inuse (\d+) orphan (\d+) tw (\d+) alloc (\d+) mem (\d+)/.exec(text);
  const used = /sockets: used (\d+)/.exec(text);
  const mem = kbLines(fs.readFileSync('/proc/meminfo', 'utf8'));
  return {
    socketsUsed: used ? Number(used[1]) : null,
    tcpInuse: tcp ? Number(tcp[1]) : null,
    tcpTw: tcp ? Number(tcp[3]) : null,
    tcpAlloc: tcp ? Number(tcp[4]) : null,
    tcpMemPages: tcp ? Number(tcp[5]) : null,
    tcpMemKiB: tcp ? (Number(tcp[5]) * PAGE_BYTES) / 1024 : null,
    slabKiB: (mem.SReclaimable || 0) + (mem.SUnreclaim || 0),
  };
}

/** Share of all cores busy over `ms` (from /proc/stat), 0..1: other load on the box. */
async function busyShare(ms = 1000) {
  const read = () => {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idleTicks = f[3] + (f[4] || 0);
    return { idle: idleTicks, total: f.reduce((a, b) => a + b, 0) };
  };
  const a = read();
  await new Promise((r) => setTimeout(r, ms));
  const b = read();
  const total = b.total - a.total;
  return total > 0 ? 1 - (b.idle - a.idle) / total : 0;
}

/** The processes `ps` lists as busiest (%CPU over their lifetime, at least 10%). */
function busyProcesses() {
  const out = tryRun('ps', ['-eo', 'pid,ni,pcpu,comm', '--sort=-pcpu', '--no-headers'], '/');
  if (!out) return [];
  return out.split('\n').slice(0, 5).map((l) => l.trim().split(/\s+/))
    .filter((f) => Number(f[2]) >= 10 && Number(f[0]) !== process.pid)
    .map(([pid, ni, pcpu, comm]) => ({ pid: Number(pid), nice: Number(ni), cpuPercent: Number(pcpu), comm }));
}

function tryRun(cmd, args, cwd) {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function pkgVersion(root, name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

/** Facts about the machine and software the numbers came from. */
function machineFacts(root) {
  const cpus = os.cpus();
  const limits = fs.readFileSync('/proc/self/limits', 'utf8');
  const nofile = /Max open files\s+(\d+)\s+(\d+)/.exec(limits);
  const rev = tryRun('git', ['rev-parse', '--short', 'HEAD'], root);
  const dirty = tryRun('git', ['status', '--porcelain', '--untracked-files=no'], root);
  return {
    cores: cpus.length,
    cpuModel: cpus[0] ? cpus[0].model : null,
    ramMiB: Math.round(os.totalmem() / 1048576),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    rustc: tryRun('rustc', ['--version'], root),
    pageBytes: PAGE_BYTES,
    openFiles: nofile ? { soft: Number(nofile[1]), hard: Number(nofile[2]) } : null,
    ephemeralPorts: tryRun('cat', ['/proc/sys/net/ipv4/ip_local_port_range'], root)?.replace(/\s+/, '-') ?? null,
    somaxconn: tryRun('cat', ['/proc/sys/net/core/somaxconn'], root),
    git: rev ? `${rev}${dirty ? '-dirty' : ''}` : null,
    packages: {
      subwire: JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version,
      ws: pkgVersion(root, 'ws'),
      graphql: pkgVersion(root, 'graphql'),
      'graphql-ws': pkgVersion(root, 'graphql-ws'),
    },
  };
}

module.exports = { busyShare, busyProcesses, processMemory, cpuSeconds, schedCpuSeconds, fdCount, kernelSockets, machineFacts, PAGE_BYTES };
