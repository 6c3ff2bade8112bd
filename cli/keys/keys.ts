// `gavel keys new|show`. Key types are a table: a type maps to a generator that returns the private
// file contents and the public form to print. Anchoring adds `solana` and `evm` entries here.
import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import {
  formatSignerKey,
  formatVerifierKey,
  generateSigner,
  parseSignerKey,
  parseVerifierKey,
} from '../../chain/index.js';
import { UsageError } from '../errors.js';

export interface GeneratedKey {
  /** Private key file contents (written 0600, never printed). */
  secretText: string;
  /** The public form printed to the user (for ed25519: the signed-note verifier key). */
  publicText: string;
}

export interface KeyType {
  description: string;
  generate(opts: { name: string }): GeneratedKey | Promise<GeneratedKey>;
  /** Public form of a private key file's contents, or undefined when the text is not this type. */
  show(text: string): string | undefined;
}

export const keyTypes: Record<string, KeyType | undefined> = {
  ed25519: {
    description: 'Ed25519 in C2SP signed-note encodings (checkpoints, policy signing)',
    generate({ name }) {
      const k = generateSigner(name);
      return { secretText: `${formatSignerKey(k)}\n`, publicText: formatVerifierKey(k) };
    },
    show(text) {
      const t = text.trim();
      if (t.startsWith('PRIVATE+KEY+')) return formatVerifierKey(parseSignerKey(t));
      if (/^[^\s+]+\+[0-9a-f]{8}\+\S+$/.test(t)) return formatVerifierKey(parseVerifierKey(t));
      return undefined;
    },
  },
  solana: {
    description: 'Solana keypair as solana-keygen writes it (JSON array of 64 bytes); prints the address',
    async generate() {
      const { newSolanaKey } = await import('../../anchor/keys.js');
      const k = newSolanaKey();
      return { secretText: k.secretText, publicText: k.address };
    },
    show(text) {
      if (!text.trim().startsWith('[')) return undefined;
      return solanaAddress?.(text);
    },
  },
  evm: {
    description: 'EVM (Base) private key as 32-byte hex; prints the address',
    async generate() {
      const { newEvmKey } = await import('../../anchor/keys.js');
      const k = newEvmKey();
      return { secretText: k.secretText, publicText: k.address };
    },
    show(text) {
      if (!/^(0x)?[0-9a-fA-F]{64}$/.test(text.trim())) return undefined;
      return evmAddressOf?.(text);
    },
  },
};

// `show` is synchronous; the chain libraries load once, on first use of keys show.
let solanaAddress: ((text: string) => string) | undefined;
let evmAddressOf: ((text: string) => string) | undefined;
export async function loadChainKeyReaders(): Promise<void> {
  const m = await import('../../anchor/keys.js');
  solanaAddress = (t) => m.parseSolanaKey(t).publicKey.toBase58();
  evmAddressOf = (t) => m.evmAddress(t);
}

function keyType(name: string): KeyType {
  if (!Object.hasOwn(keyTypes, name)) {
    throw new UsageError(
      `unknown key type ${JSON.stringify(name)} (known: ${Object.keys(keyTypes).join(', ')})`,
    );
  }
  const t = keyTypes[name];
  if (t === undefined) {
    throw new UsageError(`key type ${name} is not available in this build yet (it arrives with anchoring)`);
  }
  return t;
}

/** Writes `text` to `file` with mode 0600; without `force` an existing file is never touched. */
export function writeSecretFile(file: string, text: string, force: boolean): void {
  if (!force) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw Object.assign(new Error(`${file} already exists; refusing to overwrite a key (use --force)`), {
          code: 'KEY_EXISTS',
          exitCode: 1,
        });
      }
      throw err;
    }
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    return;
  }
  // Replace atomically so a crash never leaves a half-written key under the real name.
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, file);
  } catch (err) {
    unlinkSync(tmp);
    throw err;
  }
}

export async function keysNew(opts: {
  out: string;
  type: string;
  name: string;
  force: boolean;
  json: boolean;
}): Promise<void> {
  const t = keyType(opts.type);
  let k: GeneratedKey;
  try {
    k = await t.generate({ name: opts.name });
  } catch (err) {
    // A bad --name is a usage problem, not a failure of the key.
    if ((err as { code?: string }).code === 'BAD_KEY') throw new UsageError((err as Error).message);
    throw err;
  }
  writeSecretFile(opts.out, k.secretText, opts.force);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ type: opts.type, file: opts.out, vkey: k.publicText })}\n`);
  } else {
    process.stdout.write(`${k.publicText}\n`);
  }
}

export async function keysShow(file: string, opts: { json: boolean }): Promise<void> {
  const text = readFileSync(file, 'utf8');
  const t0 = text.trim();
  if (t0.startsWith('[') || /^(0x)?[0-9a-fA-F]{64}$/.test(t0)) await loadChainKeyReaders();
  for (const [name, t] of Object.entries(keyTypes)) {
    const pub = t?.show(text);
    if (pub !== undefined) {
      process.stdout.write(opts.json ? `${JSON.stringify({ type: name, vkey: pub })}\n` : `${pub}\n`);
      return;
    }
  }
  throw new UsageError(
    `${file} does not hold a key gavel knows (an Ed25519 PRIVATE+KEY+... file, a solana-keygen JSON array, or EVM hex)`,
  );
}
