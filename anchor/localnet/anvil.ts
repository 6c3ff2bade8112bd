// A local Base-like chain for tests and the embedded default: anvil from the @foundry-rs/anvil npm
// package (its binary arrives through the platform's optional package), on 127.0.0.1 with an OP
// stack flavour and Base Sepolia's chain id. The port is chosen by the OS and read from anvil's
// "Listening on" line.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { AnchorError } from '../errors.js';

export const LOCAL_CHAIN_ID = 84532;

export interface Anvil {
  url: string;
  port: number;
  chainId: number;
  stop(): Promise<void>;
}

/** The anvil binary: $GAVEL_ANVIL, else the one the platform package installed. */
export function anvilBinary(): string {
  const fromEnv = process.env.GAVEL_ANVIL;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`;
  try {
    const require = createRequire(import.meta.url);
    const dir = path.dirname(require.resolve(`${pkg}/package.json`));
    const bin = path.join(dir, 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil');
    if (existsSync(bin)) return bin;
  } catch {
    // fall through
  }
  throw new AnchorError(
    'VALIDATOR',
    `no anvil binary: ${pkg} is not installed (npm install without --omit=optional)`,
  );
}

export interface AnvilOptions {
  /** Interval mining, in seconds (fractions allowed); default: a block per transaction. */
  blockTime?: number;
  /** The `finalized` tag trails the head by two epochs of this many blocks (anvil's default 32). */
  slotsInAnEpoch?: number;
  /** Keep the chain in this file across restarts (anvil --state; also dumped every 5 s). */
  statePath?: string;
  timeoutMs?: number;
}

export function startAnvil(opts: AnvilOptions = {}): Promise<Anvil> {
  const args = ['--host', '127.0.0.1', '--port', '0', '--optimism', '--chain-id', String(LOCAL_CHAIN_ID)];
  if (opts.blockTime !== undefined) args.push('--block-time', String(opts.blockTime));
  if (opts.slotsInAnEpoch !== undefined) args.push('--slots-in-an-epoch', String(opts.slotsInAnEpoch));
  if (opts.statePath !== undefined) args.push('--state', opts.statePath, '--state-interval', '5');
  const child: ChildProcess = spawn(anvilBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise<Anvil>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new AnchorError(
          'VALIDATOR',
          `anvil did not report a port within ${opts.timeoutMs ?? 15_000} ms:\n${out}`,
        ),
      );
    }, opts.timeoutMs ?? 15_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /Listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m === null) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stdout?.resume();
      child.stderr?.resume();
      const port = Number(m[1]);
      resolve({
        url: `http://127.0.0.1:${port}`,
        port,
        chainId: LOCAL_CHAIN_ID,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new AnchorError('VALIDATOR', `anvil exited (${code}) before listening:\n${out}`));
    });
  });
}
