/** Processes seen through Linux's /proc (the server's cluster workers, for the tests and the serving bench). */
import fs from "node:fs";

/** The ids of the processes whose parent is `pid`. */
export function childPids(pid: number): number[] {
  return fs
    .readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        // The command name (in parentheses) may hold spaces; the parent id is the second field after it.
        return fs.readFileSync(`/proc/${d}/stat`, "utf8").split(") ")[1]?.split(" ")[1] === String(pid);
      } catch {
        return false; // exited meanwhile
      }
    })
    .map(Number);
}
