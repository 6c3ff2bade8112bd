// Worker thread of verify-parallel.ts: checks chunks of ledger lines and answers with the result.
import { parentPort } from 'node:worker_threads';
import { checkChunk } from './verify-chunk.js';

parentPort?.on('message', (m: { chunk: number; bytes: Uint8Array; wantHashes: boolean; secret?: string }) => {
  const r = checkChunk(m.chunk, m.bytes, { wantHashes: m.wantHashes, secret: m.secret });
  parentPort?.postMessage(r, r.hashes === undefined ? [] : [r.hashes.buffer as ArrayBuffer]);
});
