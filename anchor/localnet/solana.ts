// The local Solana validator for `gavel localnet` and `npm start`: a real `solana-test-validator`
// when one is on PATH (or $GAVEL_SOLANA_TEST_VALIDATOR names it), otherwise the LiteSVM-backed
// JSON-RPC + WebSocket server of ./solana-rpc.ts.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { AnchorError } from '../errors.js';
import { startSolanaRpc } from './solana-rpc.js';

export interface SolanaLocal {
  kind: 'solana-test-validator' | 'litesvm';
  url: string;
  wsUrl: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export function findTestValidator(): string | undefined {
  const named = process.env.GAVEL_SOLANA_TEST_VALIDATOR;
  if (named !== undefined && named !== '') return named;
  const r = spawnSync('solana-test-validator', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? 'solana-test-validator' : undefined;
}

/** Starts a local Solana validator; `dir` keeps its state (ledger folder or LiteSVM snapshot). */
export async function startSolanaLocal(o: { dir?: string; slotMs?: number } = {}): Promise<SolanaLocal> {
  const bin = findTestValidator();
  if (bin === undefined) {
    const s = await startSolanaRpc({
      slotMs: o.slotMs ?? 400,
      finalityLag: 32,
      statePath: o.dir === undefined ? undefined : `${o.dir}/litesvm`,
    });
    return { kind: 'litesvm', url: s.url, wsUrl: s.wsUrl, stop: () => s.close() };
  }
  // solana-test-validator serves WebSocket on rpc-port + 1.
  const port = await freePort();
  const args = ['--rpc-port', String(port), '--bind-address', '127.0.0.1', '--quiet'];
  if (o.dir !== undefined) args.push('--ledger', `${o.dir}/test-ledger`);
  const child: ChildProcess = spawn(bin, args, { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  const end = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new AnchorError('VALIDATOR', `${bin} exited with ${child.exitCode}`);
    try {
      const r = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getHealth' }),
      });
      if (((await r.json()) as { result?: unknown }).result === 'ok') break;
    } catch {
      // not up yet
    }
    if (Date.now() > end) {
      child.kill('SIGKILL');
      throw new AnchorError('VALIDATOR', `${bin} did not answer getHealth within 60 s`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    kind: 'solana-test-validator',
    url,
    wsUrl: `ws://127.0.0.1:${port + 1}`,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

/** Asks a local validator for lamports (requestAirdrop); throws VALIDATOR with its message. */
export async function airdrop(url: string, address: string, lamports: number): Promise<string> {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'requestAirdrop', params: [address, lamports] }),
  });
  const j = (await r.json()) as { result?: string; error?: { message: string } };
  if (j.result === undefined)
    throw new AnchorError('VALIDATOR', `airdrop to ${address}: ${j.error?.message ?? 'no answer'}`);
  return j.result;
}
