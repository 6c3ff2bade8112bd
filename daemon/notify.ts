// systemd readiness and watchdog. Node has no Unix datagram sockets, so notifications go through
// `systemd-notify` (the unit sets NotifyAccess=all because the sender is a child process, not the
// main PID; `--pid=<our pid>` names us). Without NOTIFY_SOCKET (not under systemd) all of this is
// a no-op.
import { execFile } from 'node:child_process';

export interface Notifier {
  ready(status?: string): void;
  stopping(): void;
  reloading(): void;
  status(text: string): void;
  /** Starts WATCHDOG=1 pings at half of WATCHDOG_USEC (when set); returns a stop function. */
  startWatchdog(healthy: () => boolean): () => void;
}

function send(lines: string[], env: NodeJS.ProcessEnv): void {
  execFile('systemd-notify', [`--pid=${process.pid}`, ...lines], { timeout: 5000, env }, () => {
    /* a lost notification is retried by the next one; never crash the daemon over it */
  });
}

export function systemdNotifier(env: NodeJS.ProcessEnv = process.env): Notifier {
  const on = env.NOTIFY_SOCKET !== undefined && env.NOTIFY_SOCKET !== '';
  const n = (lines: string[]): void => {
    if (on) send(lines, env);
  };
  return {
    ready: (status) => n(['--ready', ...(status === undefined ? [] : [`STATUS=${status}`])]),
    stopping: () => n(['STOPPING=1']),
    reloading: () => n(['RELOADING=1']),
    status: (text) => n([`STATUS=${text}`]),
    startWatchdog(healthy) {
      const usec = Number(env.WATCHDOG_USEC);
      const pid = env.WATCHDOG_PID === undefined ? process.pid : Number(env.WATCHDOG_PID);
      if (!on || !Number.isFinite(usec) || usec <= 0 || pid !== process.pid) return () => {};
      const t = setInterval(
        () => {
          if (healthy()) n(['WATCHDOG=1']);
        },
        Math.max(100, Math.floor(usec / 2000)),
      );
      t.unref();
      return () => clearInterval(t);
    },
  };
}
