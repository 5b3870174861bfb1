import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

/**
 * What tells a process apart from a later one that got the same PID (after a crash or a reboot):
 * its start time (field 22 of /proc/<pid>/stat, clock ticks since boot) and its command line.
 * Where there is no /proc (macOS), `ps -o lstart=,args=` gives the same two facts.
 */
export interface ProcessIdentity {
  startTime: string;
  cmdline: string[];
}

export function processIdentity(pid: number): ProcessIdentity | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (existsSync("/proc/self/stat")) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const startTime = fields[22 - 3];
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((a, i, all) => a !== "" || i < all.length - 1);
      return startTime === undefined ? undefined : { startTime, cmdline };
    } catch {
      return undefined;
    }
  }
  try {
    const line = execFileSync("ps", ["-o", "lstart=,args=", "-p", String(pid)], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const m = /^(\S+\s+\S+\s+\d+\s+[\d:]+\s+\d+)\s+(.*)$/.exec(line);
    return m ? { startTime: m[1]!, cmdline: m[2]!.split(" ") } : undefined;
  } catch {
    return undefined;
  }
}

