// What every anchor target (Solana, Base) offers the anchoring service. A target sends one memo per
// checkpoint and reports inclusion and finality; the service (anchor/service.ts) turns each step into
// an `anchor.*` ledger entry, so a restarted daemon can resume from what the ledger says was sent.
import type { AnchorMemo } from './memo.js';

export type ChainKind = 'solana' | 'base';

/** One signed transaction as broadcast; `extra` holds what a resume needs to judge it later. */
export interface SentTx {
  tx: string;
  /** 1 for the first signed transaction of this anchor, +1 for each re-signed one. */
  attempt: number;
  /** Solana: { last_valid_block_height }; Base: { nonce }. Numbers or decimal strings only. */
  extra: Record<string, number | string>;
}

/** A transaction that is included in a block (Solana `confirmed`, Base: has a receipt). */
export interface Included {
  tx: string;
  /** Solana slot or Base block number. */
  slot: number;
  /** What the anchor cost, in lamports or wei, as a decimal string. */
  fee: string;
  extra?: Record<string, number | string>;
}

export interface SubmitOptions {
  /** Called (and awaited) for each newly signed transaction BEFORE it is first broadcast, so a
   *  process killed right after sending still finds it in the ledger and never pays twice. */
  onSent(sent: SentTx): Promise<void>;
  /** Transactions sent for this anchor before (e.g. by a process that was killed): if one of them
   *  is included it is returned without sending anything; a new one is signed only when none of
   *  them can land any more (Solana: blockhash expired; Base: the nonce was used or the tx dropped). */
  prior?: readonly SentTx[];
  signal?: AbortSignal;
}

export interface AnchorTarget {
  readonly chain: ChainKind;
  /** devnet, testnet, mainnet-beta, local / base, base-sepolia, local. */
  readonly network: string;
  /** The payer / sender address (base58 or 0x hex). */
  readonly address: string;
  /** Balance of the payer in lamports or wei. */
  balance(): Promise<bigint>;
  /** Sends the memo and resolves once included; throws AnchorError (RPC errors are code 'RPC'). */
  submit(memo: AnchorMemo, opts: SubmitOptions): Promise<Included>;
  /** Whether the included transaction is final (Solana `finalized`, Base `finalized` block tag). */
  isFinal(inc: Included): Promise<boolean>;
  /** Re-reads a transaction from the chain: the memo from instruction data / calldata, never logs. */
  read(tx: string): Promise<{ memo: AnchorMemo; slot: number | null; signer: string }>;
  /** Explorer link for public networks, undefined for local ones. */
  explorer(tx: string): string | undefined;
  close(): Promise<void>;
}
