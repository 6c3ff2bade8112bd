// A local Solana validator for tests and `npm start` when `solana-test-validator` is not installed:
// a JSON-RPC (HTTP) + WebSocket server on 127.0.0.1 backed by LiteSVM, which runs the real SVM and
// the real SPL programs (the Memo v3 program among them; checked at start). Unmodified
// @solana/web3.js 1.x `Connection` code works against it for what anchoring needs; what it
// implements and what it does not is listed in ./README.md.
//
// Time: a slot every `slotMs`; block height equals the slot. Each slot has its own blockhash, valid
// until the block height passes `lastValidBlockHeight` = its height + `blockhashValidSlots` (150 on
// a real cluster), so transactions expire as on a real cluster. A transaction received is executed
// at the next slot boundary (`processed` at that slot), is `confirmed` one slot later and
// `finalized` `finalityLag` slots later. Queries that take a commitment see the chain at that
// commitment: the `confirmed` head is one slot behind, the `finalized` head `finalityLag` behind.
//
// Fault knobs (for tests; on the returned object, never reachable over RPC): `mode` ('ok',
// 'garbage' = non-JSON answers, 'error' = every call a JSON-RPC error, 'hang' = requests are read
// and never answered), `dropTransactions` (signatures are returned but nothing executes),
// `down()`/`up()` (connections refused, then the same port again), `halted` (no new slots).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PublicKey, VersionedMessage, VersionedTransaction } from '@solana/web3.js';
import { LiteSVM } from 'litesvm';
import { type WebSocket, WebSocketServer } from 'ws';
import { base58Decode, base58Encode } from '../base58.js';

export interface SolanaRpcOptions {
  /** TCP port on 127.0.0.1 (default 0: chosen by the OS). */
  port?: number;
  /** Milliseconds per slot (default 400, as a real cluster). */
  slotMs?: number;
  /** Slots a blockhash stays valid (default 150, as a real cluster); tests use a few. */
  blockhashValidSlots?: number;
  /** Slots between `processed` and `finalized` (default 32). */
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
  innerInstructions?: { index: number; instructions: unknown[] }[];
  blockTime: number;
}

export interface SolanaRpcServer {
  url: string;
  wsUrl: string;
  port: number;
  /** 'ok'; 'garbage': non-JSON answers; 'error': every call a JSON-RPC error; 'hang': never answer. */
  mode: 'ok' | 'garbage' | 'error' | 'hang';
  /** Accept transactions (answer with their signature) but never execute them. */
  dropTransactions: boolean;
  /** No new slots while true (blockhashes stop expiring, nothing executes or confirms). */
  halted: boolean;
  /** The current (processed) slot = block height. */
  readonly slot: number;
  /** Transactions executed so far (airdrops excluded). */
  readonly executed: number;
  /** Stop answering (connections refused) and start again on the same port. */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

const MEMO_PROGRAM = 'MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr';
const COMPUTE_BUDGET = 'ComputeBudget111111111111111111111111111111';
const LAMPORTS_PER_SIGNATURE = 5000;
/** Slots the status cache remembers without `searchTransactionHistory` (MAX_RECENT_BLOCKHASHES). */
const STATUS_CACHE_SLOTS = 300;
const MAX_BODY = 1 << 20;

const RPC_ERROR = { INVALID_PARAMS: -32602, METHOD_NOT_FOUND: -32601, PARSE: -32700, SEND: -32002 };

// Names of LiteSVM's fieldless error enums (const enums in its .d.ts, numbers at run time), so errors
// are reported in the JSON shape a real node uses ("InsufficientFundsForFee",
// {"InstructionError":[0,"InvalidInstructionData"]}, {"InstructionError":[0,{"Custom":1}]}).
const TX_ERRORS =
  'AccountInUse AccountLoadedTwice AccountNotFound ProgramAccountNotFound InsufficientFundsForFee InvalidAccountForFee AlreadyProcessed BlockhashNotFound CallChainTooDeep MissingSignatureForFee InvalidAccountIndex SignatureFailure InvalidProgramForExecution SanitizeFailure ClusterMaintenance AccountBorrowOutstanding WouldExceedMaxBlockCostLimit UnsupportedVersion InvalidWritableAccount WouldExceedMaxAccountCostLimit WouldExceedAccountDataBlockLimit TooManyAccountLocks AddressLookupTableNotFound InvalidAddressLookupTableOwner InvalidAddressLookupTableData InvalidAddressLookupTableIndex InvalidRentPayingAccount WouldExceedMaxVoteCostLimit WouldExceedAccountDataTotalLimit MaxLoadedAccountsDataSizeExceeded ResanitizationNeeded InvalidLoadedAccountsDataSizeLimit UnbalancedTransaction ProgramCacheHitMaxLimit CommitCancelled'.split(
    ' ',
  );
const IX_ERRORS =
  'GenericError InvalidArgument InvalidInstructionData InvalidAccountData AccountDataTooSmall InsufficientFunds IncorrectProgramId MissingRequiredSignature AccountAlreadyInitialized UninitializedAccount UnbalancedInstruction ModifiedProgramId ExternalAccountLamportSpend ExternalAccountDataModified ReadonlyLamportChange ReadonlyDataModified DuplicateAccountIndex ExecutableModified RentEpochModified NotEnoughAccountKeys AccountDataSizeChanged AccountNotExecutable AccountBorrowFailed AccountBorrowOutstanding DuplicateAccountOutOfSync InvalidError ExecutableDataModified ExecutableLamportChange ExecutableAccountNotRentExempt UnsupportedProgramId CallDepth MissingAccount ReentrancyNotAllowed MaxSeedLengthExceeded InvalidSeeds InvalidRealloc ComputationalBudgetExceeded PrivilegeEscalation ProgramEnvironmentSetupFailure ProgramFailedToComplete ProgramFailedToCompile Immutable IncorrectAuthority AccountNotRentExempt InvalidAccountOwner ArithmeticOverflow UnsupportedSysvar IllegalOwner MaxAccountsDataAllocationsExceeded MaxAccountsExceeded MaxInstructionTraceLengthExceeded BuiltinProgramsMustConsumeComputeUnits BorshIoError'.split(
    ' ',
  );

/** A LiteSVM transaction error -> the JSON a real node answers with. */
function txError(e: unknown): unknown {
  if (typeof e === 'number') return TX_ERRORS[e] ?? `TransactionError(${e})`;
  const o = e as {
    index?: number;
    accountIndex?: number;
    err?: () => unknown;
    constructor?: { name?: string };
  };
  if (typeof o?.err === 'function') {
    const ie = o.err();
    const inner =
      typeof ie === 'number'
        ? (IX_ERRORS[ie] ?? `InstructionError(${ie})`)
        : typeof (ie as { code?: unknown })?.code === 'number'
          ? { Custom: (ie as { code: number }).code }
          : { BorshIoError: String(ie) };
    return { InstructionError: [o.index ?? 0, inner] };
  }
  const name = o?.constructor?.name?.replace(/^TransactionError/, '') ?? 'Unknown';
  if (typeof o?.index === 'number') return { [name]: o.index };
  if (typeof o?.accountIndex === 'number') return { [name]: { account_index: o.accountIndex } };
  return String(e);
}

class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

interface ExecMeta {
  logs(): string[];
  computeUnitsConsumed(): bigint;
  innerInstructions(): {
    instruction(): { programIdIndex(): number; accounts(): Uint8Array; data(): Uint8Array };
    stackHeight(): number;
  }[][];
}

/** The fee a real cluster charges for `msg`: 5,000 lamports a signature + the priority fee. */
export function feeForMessage(msg: VersionedMessage): number {
  const keys = msg.staticAccountKeys;
  let price = 0n;
  let limit: bigint | undefined;
  let others = 0;
  for (const ix of msg.compiledInstructions) {
    if (keys[ix.programIdIndex]?.toBase58() !== COMPUTE_BUDGET) {
      others++;
      continue;
    }
    const d = Buffer.from(ix.data);
    if (d[0] === 2 && d.length >= 5) limit = BigInt(d.readUInt32LE(1));
    if (d[0] === 3 && d.length >= 9) price = d.readBigUInt64LE(1);
  }
  const units = limit ?? BigInt(Math.min(1_400_000, 200_000 * others));
  const priority = (price * units + 999_999n) / 1_000_000n;
  return LAMPORTS_PER_SIGNATURE * msg.header.numRequiredSignatures + Number(priority);
}

export async function startSolanaRpc(o: SolanaRpcOptions = {}): Promise<SolanaRpcServer> {
  const slotMs = o.slotMs ?? 400;
  const validSlots = o.blockhashValidSlots ?? 150;
  const finalityLag = Math.max(1, o.finalityLag ?? 32);
  let svm: LiteSVM;
  const history = new Map<string, TxRecord>();
  let slot = 1;
  const seed = createHash('sha256').update(`gavel-localnet:${Date.now()}:${Math.random()}`).digest('hex');
  if (o.statePath !== undefined && existsSync(`${o.statePath}.svm`) && existsSync(`${o.statePath}.json`)) {
    svm = LiteSVM.loadFromFile(`${o.statePath}.svm`)
      .withBlockhashCheck(false)
      .withSigverify(true)
      .withTransactionHistory(0n);
    const saved = JSON.parse(readFileSync(`${o.statePath}.json`, 'utf8')) as {
      slot: number;
      history: TxRecord[];
    };
    slot = saved.slot + 1;
    for (const r of saved.history) history.set(r.signature, r);
  } else {
    // Blockhashes are ours (one per slot, expiring by block height), so LiteSVM's own check is off;
    // signatures are verified; duplicates are refused here (LiteSVM's history is off).
    svm = new LiteSVM().withBlockhashCheck(false).withSigverify(true).withTransactionHistory(0n);
  }
  const memoAccount = svm.getAccount(MEMO_PROGRAM as never) as { exists: boolean; executable?: boolean };
  if (!memoAccount.exists || memoAccount.executable !== true)
    throw new Error(`LiteSVM did not load the SPL Memo program ${MEMO_PROGRAM}`);
  svm.warpToSlot(BigInt(slot));

  const blockhashOf = (s: number) =>
    new PublicKey(createHash('sha256').update(`${seed}:${s}`).digest()).toBase58();
  const keepSlots = Math.max(validSlots, finalityLag) + 10;
  const hashes = new Map<string, number>(); // blockhash -> slot (= block height) it was issued at
  for (let s = Math.max(1, slot - keepSlots); s <= slot; s++) hashes.set(blockhashOf(s), s);
  const queue: { signature: string; tx: VersionedTransaction; wire: string }[] = [];
  const subs = new Map<number, { ws: WebSocket; signature: string; commitment: Commitment }>();
  const slotSubs = new Map<number, WebSocket>();
  let nextSub = 1;
  let executed = 0;
  const genesis = new PublicKey(createHash('sha256').update(`genesis:${seed}`).digest()).toBase58();

  /** The head slot as seen at a commitment level. */
  const slotAt = (c: Commitment): number =>
    Math.max(1, c === 'processed' ? slot : c === 'confirmed' ? slot - 1 : slot - finalityLag);
  const reached = (r: TxRecord, c: Commitment): boolean => r.slot <= slotAt(c);
  const statusOf = (r: TxRecord): Commitment =>
    reached(r, 'finalized') ? 'finalized' : reached(r, 'confirmed') ? 'confirmed' : 'processed';
  const blockhashValid = (h: string): boolean => {
    const s = hashes.get(h);
    return s !== undefined && slot <= s + validSlots;
  };

  function execute(item: { signature: string; tx: VersionedTransaction; wire: string }): void {
    const msg = item.tx.message;
    if (!blockhashValid(msg.recentBlockhash) || history.has(item.signature)) return; // a leader drops it
    const keys = msg.staticAccountKeys.map((k) => k.toBase58());
    const balance = (k: string) => Number(svm.getBalance(k as never) ?? 0n);
    const pre = keys.map(balance);
    const signatures: Record<string, Uint8Array> = {};
    for (let i = 0; i < msg.header.numRequiredSignatures; i++)
      signatures[keys[i] as string] = item.tx.signatures[i] as Uint8Array;
    const ktx = { messageBytes: msg.serialize(), signatures: Object.freeze(signatures) };
    const r = svm.sendTransaction(ktx as never) as unknown as { err?: () => unknown; meta?: () => ExecMeta };
    const failed = typeof r.err === 'function';
    const meta: ExecMeta = failed ? (r.meta as () => ExecMeta)() : (r as unknown as ExecMeta);
    const post = keys.map(balance);
    const fee = Math.max(0, (pre[0] ?? 0) - (post[0] ?? 0));
    if (failed && fee === 0) return; // not even the fee could be paid (or a bad signature): dropped
    executed++;
    const inner = meta.innerInstructions().map((list, index) => ({
      index,
      instructions: list.map((ii) => ({
        programIdIndex: ii.instruction().programIdIndex(),
        accounts: Array.from(ii.instruction().accounts()),
        data: base58Encode(ii.instruction().data()),
        stackHeight: ii.stackHeight(),
      })),
    }));
    history.set(item.signature, {
      signature: item.signature,
      slot,
      wire: item.wire,
      fee,
      err: failed ? txError((r.err as () => unknown)()) : null,
      logs: meta.logs(),
      computeUnits: Number(meta.computeUnitsConsumed()),
      preBalances: pre,
      postBalances: post,
      innerInstructions: inner.filter((x) => x.instructions.length > 0),
      blockTime: Math.floor(Date.now() / 1000),
    });
  }

  const send = (ws: WebSocket, msg: unknown) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
  };
  const notify = () => {
    for (const [id, s] of subs) {
      const r = history.get(s.signature);
      if (r === undefined || !reached(r, s.commitment)) continue;
      subs.delete(id);
      send(s.ws, {
        jsonrpc: '2.0',
        method: 'signatureNotification',
        params: {
          result: { context: { slot: slotAt(s.commitment) }, value: { err: r.err } },
          subscription: id,
        },
      });
    }
  };

  const tick = () => {
    if (server.halted) return;
    slot++;
    hashes.set(blockhashOf(slot), slot);
    for (const [h, s] of hashes) if (s + keepSlots < slot) hashes.delete(h);
    svm.warpToSlot(BigInt(slot));
    for (const item of queue.splice(0)) execute(item);
    notify();
    for (const [id, ws] of slotSubs)
      send(ws, {
        jsonrpc: '2.0',
        method: 'slotNotification',
        params: { result: { parent: slot - 1, root: slotAt('finalized'), slot }, subscription: id },
      });
  };
  const timer = setInterval(tick, slotMs);
  timer.unref();

  const ctx = (c: Commitment = 'processed') => ({ context: { slot: slotAt(c), apiVersion: '2.2.0' } });
  /** Commitment of a call's config object; a real node defaults to `finalized`. */
  const commitmentOf = (cfg: unknown): Commitment => {
    const c = (cfg as { commitment?: string } | undefined)?.commitment;
    if (c === 'processed' || c === 'recent') return 'processed';
    if (c === 'confirmed' || c === 'single' || c === 'singleGossip') return 'confirmed';
    return 'finalized';
  };
  const decodeTx = (data: unknown, encoding: unknown): { tx: VersionedTransaction; wire: string } => {
    if (typeof data !== 'string')
      throw new RpcError(RPC_ERROR.INVALID_PARAMS, 'invalid transaction: expected an encoded string');
    if (encoding !== 'base64' && encoding !== 'base58')
      throw new RpcError(RPC_ERROR.INVALID_PARAMS, `unsupported encoding: ${String(encoding)}`);
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
      if (typeof v !== 'string') throw new Error('not a string');
      return new PublicKey(v).toBase58();
    } catch {
      throw new RpcError(RPC_ERROR.INVALID_PARAMS, `Invalid param: Invalid pubkey: ${String(v)}`);
    }
  };
  const kitTx = (tx: VersionedTransaction) => {
    const msg = tx.message;
    const signatures: Record<string, Uint8Array> = {};
    msg.staticAccountKeys.slice(0, msg.header.numRequiredSignatures).forEach((k, i) => {
      signatures[k.toBase58()] = tx.signatures[i] as Uint8Array;
    });
    return { messageBytes: msg.serialize(), signatures: Object.freeze(signatures) };
  };

  /** Preflight as a real node: blockhash, duplicate, then a simulation of the transaction. */
  const preflight = (tx: VersionedTransaction, signature: string) => {
    const fail = (message: string, err: unknown, logs: string[] = [], units = 0) => {
      throw new RpcError(RPC_ERROR.SEND, `Transaction simulation failed: ${message}`, {
        accounts: null,
        err,
        logs,
        returnData: null,
        unitsConsumed: units,
      });
    };
    if (!blockhashValid(tx.message.recentBlockhash)) fail('Blockhash not found', 'BlockhashNotFound');
    if (history.has(signature)) fail('This transaction has already been processed', 'AlreadyProcessed');
    const sim = svm.simulateTransaction(kitTx(tx) as never) as unknown as {
      err?: () => unknown;
      meta(): ExecMeta;
    };
    if (typeof sim.err === 'function') {
      const m = sim.meta();
      const err = txError(sim.err());
      fail(
        typeof err === 'string' ? err : `Error processing Instruction: ${JSON.stringify(err)}`,
        err,
        m.logs(),
        Number(m.computeUnitsConsumed()),
      );
    }
  };

  const methods: Record<string, (params: unknown[]) => unknown> = {
    getHealth: () => 'ok',
    getVersion: () => ({ 'solana-core': '2.2.0', 'feature-set': 3294202862 }),
    getGenesisHash: () => genesis,
    getSlot: (p) => slotAt(commitmentOf(p[0])),
    getBlockHeight: (p) => slotAt(commitmentOf(p[0])),
    getEpochInfo: (p) => {
      const s = slotAt(commitmentOf(p[0]));
      return {
        absoluteSlot: s,
        blockHeight: s,
        epoch: Math.floor(s / 432000),
        slotIndex: s % 432000,
        slotsInEpoch: 432000,
        transactionCount: executed,
      };
    },
    getLatestBlockhash: (p) => {
      const c = commitmentOf(p[0]);
      const s = slotAt(c);
      return { ...ctx(c), value: { blockhash: blockhashOf(s), lastValidBlockHeight: s + validSlots } };
    },
    isBlockhashValid: (p) => ({ ...ctx(commitmentOf(p[1])), value: blockhashValid(String(p[0])) }),
    getBalance: (p) => ({
      ...ctx(commitmentOf(p[1])),
      value: Number(svm.getBalance(pubkey(p[0]) as never) ?? 0n),
    }),
    getAccountInfo: (p) => {
      const cfg = (p[1] ?? {}) as { encoding?: string };
      if (cfg.encoding !== undefined && cfg.encoding !== 'base64')
        throw new RpcError(RPC_ERROR.INVALID_PARAMS, `unsupported encoding: ${cfg.encoding} (base64 only)`);
      const a = svm.getAccount(pubkey(p[0]) as never) as unknown as {
        exists: boolean;
        data: Uint8Array;
        executable: boolean;
        lamports: bigint;
        programAddress: string;
      };
      return {
        ...ctx(commitmentOf(cfg)),
        value: !a.exists
          ? null
          : {
              data: [Buffer.from(a.data).toString('base64'), 'base64'],
              executable: a.executable,
              lamports: Number(a.lamports),
              owner: String(a.programAddress),
              rentEpoch: 0,
              space: a.data.length,
            },
      };
    },
    getMinimumBalanceForRentExemption: (p) => {
      const n = Number(p[0] ?? 0);
      if (!Number.isSafeInteger(n) || n < 0)
        throw new RpcError(RPC_ERROR.INVALID_PARAMS, 'data length must be a non-negative integer');
      return Number(svm.minimumBalanceForRentExemption(BigInt(n)));
    },
    getFeeForMessage: (p) => {
      let msg: VersionedMessage;
      try {
        if (typeof p[0] !== 'string') throw new Error('expected a base64 string');
        msg = VersionedMessage.deserialize(Buffer.from(p[0], 'base64'));
      } catch (err) {
        throw new RpcError(RPC_ERROR.INVALID_PARAMS, `invalid message: ${(err as Error).message}`);
      }
      // A real node answers null for a message whose blockhash it no longer knows.
      return {
        ...ctx(commitmentOf(p[1])),
        value: blockhashValid(msg.recentBlockhash) ? feeForMessage(msg) : null,
      };
    },
    getRecentPrioritizationFees: () => [],
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
        throw new RpcError(-32603, 'airdrop failed');
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
      if (!cfg.skipPreflight) preflight(tx, signature);
      if (
        !server.dropTransactions &&
        blockhashValid(tx.message.recentBlockhash) && // else a real leader drops it silently
        !history.has(signature) &&
        !queue.some((q) => q.signature === signature)
      )
        queue.push({ signature, tx, wire });
      return signature;
    },
    getSignatureStatuses: (p) => {
      const sigs = p[0];
      const cfg = (p[1] ?? {}) as { searchTransactionHistory?: boolean };
      if (!Array.isArray(sigs) || sigs.length > 256)
        throw new RpcError(RPC_ERROR.INVALID_PARAMS, 'expected an array of at most 256 signatures');
      return {
        ...ctx(),
        value: sigs.map((s) => {
          const r = history.get(String(s));
          if (r === undefined) return null;
          if (cfg.searchTransactionHistory !== true && r.slot + STATUS_CACHE_SLOTS < slot) return null;
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
      const cfg = (p[1] ?? {}) as {
        encoding?: string;
        maxSupportedTransactionVersion?: number;
        commitment?: string;
      };
      const c = commitmentOf(cfg);
      if (c === 'processed')
        throw new RpcError(RPC_ERROR.INVALID_PARAMS, 'Method does not support commitment below `confirmed`');
      const r = history.get(String(p[0]));
      if (r === undefined || r.wire === undefined || !reached(r, c)) return null;
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
        innerInstructions: r.innerInstructions ?? [],
        logMessages: r.logs,
        preTokenBalances: [],
        postTokenBalances: [],
        rewards: [],
        loadedAddresses: { writable: [], readonly: [] },
        computeUnitsConsumed: r.computeUnits,
      };
      const version = cfg.maxSupportedTransactionVersion === undefined ? {} : { version: m.version };
      if (cfg.encoding === 'base64')
        return { slot: r.slot, blockTime: r.blockTime, meta, transaction: [r.wire, 'base64'], ...version };
      if (cfg.encoding !== undefined && cfg.encoding !== 'json')
        throw new RpcError(RPC_ERROR.INVALID_PARAMS, `unsupported encoding: ${cfg.encoding} (json, base64)`);
      return {
        slot: r.slot,
        blockTime: r.blockTime,
        meta,
        ...version,
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
    const f = Object.hasOwn(methods, call.method) ? methods[call.method] : undefined;
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
      const data = err instanceof RpcError && err.data !== undefined ? { data: err.data } : {};
      return { jsonrpc: '2.0', id, error: { code, message: (err as Error).message, ...data } };
    }
  }

  const onHttp = (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET' && req.url === '/health') {
      if (server.mode !== 'hang') res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405).end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        res.writeHead(413).end();
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (server.mode === 'hang') return; // read, never answered (the client's timeout decides)
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

  const onWsMessage = (ws: WebSocket, data: unknown) => {
    if (server.mode === 'hang') return;
    if (server.mode === 'garbage') {
      ws.send('<html>upstream timeout</html>');
      return;
    }
    let call: { id?: unknown; method?: string; params?: unknown[] };
    try {
      call = JSON.parse(String(data));
    } catch {
      send(ws, { jsonrpc: '2.0', id: null, error: { code: RPC_ERROR.PARSE, message: 'Parse error' } });
      return;
    }
    if (call === null || typeof call !== 'object' || call.id === undefined) return; // a notification (web3.js pings)
    const id = call.id;
    const reply = (result: unknown) => send(ws, { jsonrpc: '2.0', id, result });
    if (server.mode === 'error') {
      send(ws, handle(call));
    } else if (call.method === 'signatureSubscribe') {
      const signature = call.params?.[0];
      if (typeof signature !== 'string' || !/^[1-9A-HJ-NP-Za-km-z]{64,88}$/.test(signature)) {
        send(ws, {
          jsonrpc: '2.0',
          id,
          error: { code: RPC_ERROR.INVALID_PARAMS, message: 'Invalid signature' },
        });
        return;
      }
      const sub = nextSub++;
      subs.set(sub, { ws, signature, commitment: commitmentOf(call.params?.[1]) });
      reply(sub);
      notify();
    } else if (call.method === 'signatureUnsubscribe') {
      reply(subs.delete(Number(call.params?.[0])));
    } else if (call.method === 'slotSubscribe') {
      const sub = nextSub++;
      slotSubs.set(sub, ws);
      reply(sub);
    } else if (call.method === 'slotUnsubscribe') {
      reply(slotSubs.delete(Number(call.params?.[0])));
    } else {
      send(ws, handle(call));
    }
  };

  let http: Server | undefined;
  let wss: WebSocketServer | undefined;
  let port = o.port ?? 0;
  const listen = async () => {
    const h = createServer(onHttp);
    const w = new WebSocketServer({ server: h, maxPayload: MAX_BODY });
    w.on('connection', (ws) => {
      ws.on('message', (data) => onWsMessage(ws, data));
      ws.on('close', () => {
        for (const [id, s] of subs) if (s.ws === ws) subs.delete(id);
        for (const [id, s] of slotSubs) if (s === ws) slotSubs.delete(id);
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
    halted: false,
    get slot() {
      return slot;
    },
    get executed() {
      return executed;
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
