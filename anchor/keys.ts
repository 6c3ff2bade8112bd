// Chain keys for anchoring, in the formats the chains' own tools use: a Solana keypair as
// solana-keygen writes it (a JSON array of the 64 secret-key bytes), an EVM key as 32-byte hex.
import { Keypair } from '@solana/web3.js';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { AnchorError } from './errors.js';

export interface ChainKey {
  /** File contents (mode 0600, never printed). */
  secretText: string;
  /** The account address. */
  address: string;
}

export function newSolanaKey(): ChainKey {
  const k = Keypair.generate();
  return { secretText: `${JSON.stringify(Array.from(k.secretKey))}\n`, address: k.publicKey.toBase58() };
}

/** A solana-keygen keypair file's contents -> Keypair; throws BAD_KEY naming what is wrong. */
export function parseSolanaKey(text: string): Keypair {
  let arr: unknown;
  try {
    arr = JSON.parse(text);
  } catch {
    throw new AnchorError(
      'BAD_KEY',
      'a Solana keypair file is a JSON array of 64 numbers (solana-keygen format)',
    );
  }
  if (
    !Array.isArray(arr) ||
    arr.length !== 64 ||
    !arr.every((x) => Number.isInteger(x) && x >= 0 && x <= 255)
  )
    throw new AnchorError('BAD_KEY', 'a Solana keypair file is a JSON array of 64 numbers from 0 to 255');
  try {
    return Keypair.fromSecretKey(Uint8Array.from(arr as number[]));
  } catch (err) {
    throw new AnchorError('BAD_KEY', `not a valid Solana keypair: ${(err as Error).message}`);
  }
}

export function newEvmKey(): ChainKey {
  const pk = generatePrivateKey();
  return { secretText: `${pk}\n`, address: privateKeyToAccount(pk).address };
}

export function evmAddress(text: string): string {
  const t = text.trim().replace(/^0x/, '');
  if (!/^[0-9a-fA-F]{64}$/.test(t))
    throw new AnchorError('BAD_KEY', 'an EVM key file holds a 32-byte hex private key');
  return privateKeyToAccount(`0x${t.toLowerCase()}`).address;
}
