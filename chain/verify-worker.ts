// Worker thread of verify-parallel.ts: checks chunks of ledger lines and answers with the result.
import { parentPort } from 'node:worker_threads';
import { checkChunk } from './verify-chunk.js';

parentPort?.on('message', (m: { chunk: number; bytes: Uint8Array }) => {
  parentPort?.postMessage(checkChunk(m.chunk, m.bytes));
});
