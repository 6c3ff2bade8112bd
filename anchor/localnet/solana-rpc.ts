// A local Solana validator for tests and `npm start` when `solana-test-validator` is not installed:
// a JSON-RPC (HTTP) + WebSocket server on 127.0.0.1 backed by LiteSVM, which runs the real SVM and
// the real SPL Memo program. Unmodified @solana/web3.js `Connection` code works against it for what
// anchoring needs; what it implements and what it does not is listed in ./README.md.
//
// Time: a slot every `slotMs`; each slot has its own blockhash, valid for `blockhashValidSlots`
// slots (150 on a real cluster), so transactions expire like on a real cluster. Transactions are
// executed at the next slot boundary (processed), count as `confirmed` one slot later and
// `finalized` after `finalityLag` slots.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PublicKey, VersionedTransaction } from '@solana/web3.js';
import { LiteSVM } from 'litesvm';
import { type WebSocket, WebSocketServer } from 'ws';
import { base58Decode, base58Encode } from '../base58.js';

export interface SolanaRpcOptions {
  port?: number;
  slotMs?: number;
  blockhashValidSlots?: number;
  finalityLag?: number;
  /** Keep the chain across restarts: LiteSVM snapshot + transaction history in these files. */
  statePath?: string;
}

type Commitment = 'processed' | 'confirmed' | 'finalized';

interface TxRecord {
  signature: string;
  slot: number;
  /** base64 wire transaction (absent for airdrops). */
  wire?: string;
  fee: number;
  err: unknown;
  logs: string[];
  computeUnits: number;
  preBalances: number[];
  postBalances: number[];
  blockTime: number;
}

export interface SolanaRpcServer {
  url: string;
  wsUrl: string;
  port: number;
  /** Fault knobs for tests: 'ok', answer non-JSON garbage, or answer every call with a JSON-RPC error. */
  mode: 'ok' | 'garbage' | 'error';
  /** Accept transactions (answer with their signature) but never execute them. */
  dropTransactions: boolean;
  readonly slot: number;
  /** Stop answering (connections refused) and start again on the same port. */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

const RPC_ERROR = { INVALID_PARAMS: -32602, METHOD_NOT_FOUND: -32601, PARSE: -32700, SEND: -32002 };

class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startSolanaRpc(o: SolanaRpcOptions = {}): Promise<SolanaRpcServer> {
  const slotMs = o.slotMs ?? 400;
  const validSlots = o.blockhashValidSlots ?? 150;
  const finalityLag = o.finalityLag ?? 32;
  let svm: LiteSVM;
  const history = new Map<string, TxRecord>();
  let slot = 1;
  const seed = createHash('sha256').update(`gavel-localnet:${Date.now()}:${Math.random()}`).digest('hex');
  if (o.statePath !== undefined && existsSync(`${o.statePath}.svm`) && existsSync(`${o.statePath}.json`)) {
    svm = LiteSVM.loadFromFile(`${o.statePath}.svm`).withBlockhashCheck(false).withSigverify(true);
    const saved = JSON.parse(readFileSync(`${o.statePath}.json`, 'utf8')) as {
      slot: number;
      history: TxRecord[];
    };
    slot = saved.slot + 1;
    for (const r of saved.history) history.set(r.signature, r);
  } else {
    svm = new LiteSVM().withBlockhashCheck(false).withSigverify(true).withTransactionHistory(0n);
  }
  const blockhashOf = (s: number) =>
    new PublicKey(createHash('sha256').update(`${seed}:${s}`).digest()).toBase58();
  const hashes = new Map<string, number>(); // blockhash -> slot it was issued
  hashes.set(blockhashOf(slot), slot);
  const queue: { signature: string; tx: VersionedTransaction; wire: string }[] = [];
  const subs = new Map<number, { ws: WebSocket; signature: string; commitment: Commitment }>();
  let nextSub = 1;
  const genesis = new PublicKey(createHash('sha256').update(`genesis:${seed}`).digest()).toBase58();

  const reached = (r: TxRecord, c: Commitment): boolean =>
    c === 'processed' ? true : c === 'confirmed' ? slot >= r.slot + 1 : slot >= r.slot + finalityLag;
  const statusOf = (r: TxRecord): Commitment =>
    reached(r, 'finalized') ? 'finalized' : reached(r, 'confirmed') ? 'confirmed' : 'processed';

  function execute(item: { signature: string; tx: VersionedTransaction; wire: string }): void {
    const msg = item.tx.message;
    const lastValid = (hashes.get(msg.recentBlockhash) ?? -1) + validSlots;
    if (slot > lastValid || history.has(item.signature)) return; // expired or already processed: dropped
    const keys = msg.staticAccountKeys.map((k) => k.toBase58());
    const balance = (k: string) => Number(svm.getBalance(k as never) ?? 0n);
    const pre = keys.map(balance);
    const signatures: Record<string, Uint8Array> = {};
    for (let i = 0; i < msg.header.numRequiredSignatures; i++)
      signatures[keys[i] as string] = item.tx.signatures[i] as Uint8Array;
    const ktx = { messageBytes: msg.serialize(), signatures: Object.freeze(signatures) };
    const r = svm.sendTransaction(ktx as never) as unknown as {
      err?: () => unknown;
      meta?: () => { logs(): string[]; computeUnitsConsumed(): bigint };
      logs?: () => string[];
      computeUnitsConsumed?: () => bigint;
    };
    const failed = typeof r.err === 'function';
    const meta = failed
      ? (r.meta as () => { logs(): string[]; computeUnitsConsumed(): bigint })()
      : (r as never as { logs(): string[]; computeUnitsConsumed(): bigint });
    const post = keys.map(balance);
    const fee = Math.max(0, (pre[0] ?? 0) - (post[0] ?? 0));
    if (failed && fee === 0) return; // not even the fee could be paid: a real leader drops it too
    history.set(item.signature, {
      signature: item.signature,
      slot,
      wire: item.wire,
      fee,
      err: failed ? { InstructionError: [0, String((r.err as () => unknown)())] } : null,
      logs: meta.logs(),
      computeUnits: Number(meta.computeUnitsConsumed()),
      preBalances: pre,
      postBalances: post,
      blockTime: Math.floor(Date.now() / 1000),
    });
  }

  const notify = () => {
    for (const [id, s] of subs) {
      const r = history.get(s.signature);
      if (r === undefined || !reached(r, s.commitment)) continue;
      subs.delete(id);
      s.ws.send(
        JSON.stringify({
          jsonrpc: '2.0',
          method: 'signatureNotification',
          params: { result: { context: { slot }, value: { err: r.err } }, subscription: id },
        }),
      );
    }
  };

  const tick = () => {
    slot++;
    hashes.set(blockhashOf(slot), slot);
    for (const [h, s] of hashes) if (s + validSlots + 10 < slot) hashes.delete(h);
    svm.warpToSlot(BigInt(slot));
    for (const item of queue.splice(0)) execute(item);
    notify();
  };
  const timer = setInterval(tick, slotMs);
  timer.unref();

  const ctx = () => ({ context: { slot, apiVersion: '2.2.0' } });
  const commitmentOf = (cfg: unknown): Commitment => {
    const c = (cfg as { commitment?: string } | undefined)?.commitment;
    return c === 'processed' || c === 'confirmed' ? c : c === undefined ? 'finalized' : 'finalized';
  };
  const decodeTx = (data: unknown, encoding: unknown): { tx: VersionedTransaction; wire: string } => {
    if (typeof data !== 'string')
      throw new RpcError(RPC_ERROR.INVALID_PARAMS, 'expected an encoded transaction');
    let bytes: Uint8Array;
    try {
      bytes = encoding === 'base64' ? Buffer.from(data, 'base64') : base58Decode(data);
      return { tx: VersionedTransaction.deserialize(bytes), wire: Buffer.from(bytes).toString('base64') };
    } catch (err) {
      throw new RpcError(
        RPC_ERROR.INVALID_PARAMS,
        `failed to deserialize transaction: ${(err as Error).message}`,
      );
    }
  };
  const pubkey = (v: unknown): string => {
    try {
      return new PublicKey(v as string).toBase58();
    } catch {
      throw new RpcError(RPC_ERROR.INVALID_PARAMS, `Invalid param: not a public key: ${String(v)}`);
    }
  };

  const methods: Record<string, (params: unknown[]) => unknown> = {
    getHealth: () => 'ok',
    getVersion: () => ({ 'solana-core': '2.2.0 (gavel localnet: LiteSVM 1.5)', 'feature-set': 0 }),
    getGenesisHash: () => genesis,
    getSlot: () => slot,
    getBlockHeight: () => slot,
    getEpochInfo: () => ({
      absoluteSlot: slot,
      blockHeight: slot,
      epoch: Math.floor(slot / 432000),
      slotIndex: slot % 432000,
      slotsInEpoch: 432000,
      transactionCount: history.size,
    }),
    getLatestBlockhash: () => ({
      ...ctx(),
      value: { blockhash: blockhashOf(slot), lastValidBlockHeight: slot + validSlots },
    }),
    isBlockhashValid: (p) => {
      const s = hashes.get(String(p[0]));
      return { ...ctx(), value: s !== undefined && slot <= s + validSlots };
    },
    getBalance: (p) => ({ ...ctx(), value: Number(svm.getBalance(pubkey(p[0]) as never) ?? 0n) }),
    getMinimumBalanceForRentExemption: (p) =>
      Number(svm.minimumBalanceForRentExemption(BigInt(Number(p[0] ?? 0)))),
    getFeeForMessage: (p) => {
      try {
        const bytes = Buffer.from(String(p[0]), 'base64');
        return { ...ctx(), value: 5000 * (bytes[0] ?? 1) };
      } catch {
        throw new RpcError(RPC_ERROR.INVALID_PARAMS, 'invalid message');
      }
    },
    requestAirdrop: (p) => {
      const to = pubkey(p[0]);
      const lamports = Number(p[1]);
      if (!Number.isSafeInteger(lamports) || lamports <= 0)
        throw new RpcError(RPC_ERROR.INVALID_PARAMS, 'lamports must be a positive integer');
      const before = Number(svm.getBalance(to as never) ?? 0n);
      const r = svm.airdrop(to as never, BigInt(lamports) as never) as unknown as {
        signature(): Uint8Array;
      } | null;
      if (r === null || typeof (r as { err?: unknown }).err === 'function')
        throw new RpcError(RPC_ERROR.SEND, 'airdrop failed');
      const signature = base58Encode(r.signature());
      history.set(signature, {
        signature,
        slot,
        fee: 0,
        err: null,
        logs: [],
        computeUnits: 150,
        preBalances: [before],
        postBalances: [before + lamports],
        blockTime: Math.floor(Date.now() / 1000),
      });
      return signature;
    },
    sendTransaction: (p) => {
      const cfg = (p[1] ?? {}) as { encoding?: string; skipPreflight?: boolean };
      const { tx, wire } = decodeTx(p[0], cfg.encoding ?? 'base58');
      const sig = tx.signatures[0];
      if (sig === undefined || sig.every((b) => b === 0))
        throw new RpcError(RPC_ERROR.SEND, 'Transaction signature verification failure');
      const signature = base58Encode(sig);
      if (!tx.message.recentBlockhash || !hashes.has(tx.message.recentBlockhash)) {
        if (!cfg.skipPreflight)
          throw new RpcError(RPC_ERROR.SEND, 'Transaction simulation failed: Blockhash not found');
        return signature; // a real leader drops it silently
      }
      if (
        !server.dropTransactions &&
        !history.has(signature) &&
        !queue.some((q) => q.signature === signature)
      )
        queue.push({ signature, tx, wire });
      return signature;
    },
    getSignatureStatuses: (p) => {
      const sigs = p[0];
      if (!Array.isArray(sigs))
        throw new RpcError(RPC_ERROR.INVALID_PARAMS, 'expected an array of signatures');
      return {
        ...ctx(),
        value: sigs.map((s) => {
          const r = history.get(String(s));
          if (r === undefined) return null;
          const st = statusOf(r);
          return {
            slot: r.slot,
            confirmations: st === 'finalized' ? null : slot - r.slot,
            err: r.err,
            status: r.err === null ? { Ok: null } : { Err: r.err },
            confirmationStatus: st,
          };
        }),
      };
    },
    getTransaction: (p) => {
      const r = history.get(String(p[0]));
      const cfg = (p[1] ?? {}) as { encoding?: string; maxSupportedTransactionVersion?: number };
      if (r === undefined || r.wire === undefined || !reached(r, commitmentOf(cfg))) return null;
      const tx = VersionedTransaction.deserialize(Buffer.from(r.wire, 'base64'));
      const m = tx.message;
      if (m.version !== 'legacy' && cfg.maxSupportedTransactionVersion === undefined)
        throw new RpcError(
          -32015,
          'Transaction version (0) is not supported by the requesting client. Please try the request again with the following configuration parameter: "maxSupportedTransactionVersion": 0',
        );
      const meta = {
        err: r.err,
        status: r.err === null ? { Ok: null } : { Err: r.err },
        fee: r.fee,
        preBalances: r.preBalances,
        postBalances: r.postBalances,
        innerInstructions: [],
        logMessages: r.logs,
        preTokenBalances: [],
        postTokenBalances: [],
        rewards: [],
        loadedAddresses: { writable: [], readonly: [] },
        computeUnitsConsumed: r.computeUnits,
      };
      if (cfg.encoding === 'base64')
        return {
          slot: r.slot,
          blockTime: r.blockTime,
          meta,
          transaction: [r.wire, 'base64'],
          version: m.version,
        };
      return {
        slot: r.slot,
        blockTime: r.blockTime,
        meta,
        version: m.version,
        transaction: {
          signatures: tx.signatures.map((s) => base58Encode(s)),
          message: {
            accountKeys: m.staticAccountKeys.map((k) => k.toBase58()),
            header: m.header,
            recentBlockhash: m.recentBlockhash,
            instructions: m.compiledInstructions.map((ix) => ({
              programIdIndex: ix.programIdIndex,
              accounts: ix.accountKeyIndexes,
              data: base58Encode(ix.data),
              stackHeight: null,
            })),
            ...(m.version === 'legacy' ? {} : { addressTableLookups: [] }),
          },
        },
      };
    },
  };

  function handle(body: unknown): unknown {
    const call = body as { jsonrpc?: string; id?: unknown; method?: unknown; params?: unknown };
    const id = call?.id ?? null;
    if (typeof call !== 'object' || call === null || typeof call.method !== 'string')
      return { jsonrpc: '2.0', id, error: { code: -32600, message: 'Invalid request' } };
    if (server.mode === 'error')
      return {
        jsonrpc: '2.0',
        id,
        error: { code: -32005, message: 'Node is unhealthy (gavel localnet fault knob)' },
      };
    const f = methods[call.method];
    if (f === undefined)
      return {
        jsonrpc: '2.0',
        id,
        error: { code: RPC_ERROR.METHOD_NOT_FOUND, message: `Method not found: ${call.method}` },
      };
    try {
      const params = Array.isArray(call.params) ? call.params : [];
      return { jsonrpc: '2.0', id, result: f(params) };
    } catch (err) {
      const code = err instanceof RpcError ? err.code : -32603;
      return { jsonrpc: '2.0', id, error: { code, message: (err as Error).message } };
    }
  }

  const onHttp = (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'POST') {
      res.writeHead(405).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (server.mode === 'garbage') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('<html>upstream timeout</html>');
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            jsonrpc: '2.0',
            id: null,
            error: { code: RPC_ERROR.PARSE, message: 'Parse error' },
          }),
        );
        return;
      }
      const out = Array.isArray(body) ? body.map(handle) : handle(body);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
    });
  };

  let http: Server | undefined;
  let wss: WebSocketServer | undefined;
  let port = o.port ?? 0;
  const listen = async () => {
    const h = createServer(onHttp);
    const w = new WebSocketServer({ server: h });
    w.on('connection', (ws) => {
      ws.on('message', (data) => {
        let call: { id?: unknown; method?: string; params?: unknown[] };
        try {
          call = JSON.parse(String(data));
        } catch {
          return;
        }
        const id = call.id ?? null;
        if (call.method === 'signatureSubscribe') {
          const sub = nextSub++;
          subs.set(sub, {
            ws,
            signature: String(call.params?.[0]),
            commitment: commitmentOf(call.params?.[1]),
          });
          ws.send(JSON.stringify({ jsonrpc: '2.0', id, result: sub }));
          notify();
        } else if (call.method === 'signatureUnsubscribe') {
          ws.send(JSON.stringify({ jsonrpc: '2.0', id, result: subs.delete(Number(call.params?.[0])) }));
        } else if (call.method === 'slotSubscribe') {
          ws.send(JSON.stringify({ jsonrpc: '2.0', id, result: nextSub++ }));
        } else if (call.method === 'slotUnsubscribe') {
          ws.send(JSON.stringify({ jsonrpc: '2.0', id, result: true }));
        } else {
          ws.send(JSON.stringify(handle(call)));
        }
      });
      ws.on('close', () => {
        for (const [id, s] of subs) if (s.ws === ws) subs.delete(id);
      });
    });
    await new Promise<void>((resolve, reject) => {
      h.once('error', reject);
      h.listen(port, '127.0.0.1', () => resolve());
    });
    port = (h.address() as AddressInfo).port;
    http = h;
    wss = w;
  };
  const unlisten = async () => {
    const h = http;
    const w = wss;
    http = undefined;
    wss = undefined;
    if (w !== undefined) {
      for (const c of w.clients) c.terminate();
      w.close();
    }
    if (h !== undefined) {
      h.closeAllConnections();
      await new Promise<void>((r) => h.close(() => r()));
    }
  };
  await listen();

  const server: SolanaRpcServer = {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    port,
    mode: 'ok',
    dropTransactions: false,
    get slot() {
      return slot;
    },
    down: unlisten,
    up: async () => {
      if (http === undefined) await listen();
    },
    async close() {
      clearInterval(timer);
      await unlisten();
      if (o.statePath !== undefined) {
        svm.saveToFile(`${o.statePath}.svm`);
        writeFileSync(`${o.statePath}.json`, JSON.stringify({ slot, history: [...history.values()] }));
      }
    },
  };
  return server;
}
