// Worker thread of build-thread.ts: builds one batch's lines at a time into the shared buffer it is
// given and answers with their ends, hashes and MACs. Its only state is the last seal key's HMAC.
import { parentPort } from 'node:worker_threads';
import { type BuildJob, type BuildReply, fromShared, shared, sharedBuffer } from './build-thread.js';
import { type StagedEntry, sealOpening, writeLines } from './entry.js';
import { HmacSha256 } from './hash.js';

let last: { key: Buffer; hmac: HmacSha256 } | undefined;

function hmacFor(key: Uint8Array): HmacSha256 {
  if (last === undefined || !last.key.equals(key))
    last = { key: Buffer.from(key), hmac: new HmacSha256(key) };
  return last.hmac;
}

function build(job: BuildJob): BuildReply {
  const bufs = job.bufs.map(fromShared);
  const staged: StagedEntry[] = [];
  const p = job.parts;
  for (let i = 0; i < p.length; i += 6) {
    staged.push({
      buf: bufs[p[i] as number] as Buffer,
      at: p[i + 1] as number,
      a: p[i + 2] as number,
      b: p[i + 3] as number,
      c: p[i + 4] as number,
      d: p[i + 5] as number,
    });
  }
  const out = fromShared(job.out);
  const seal =
    job.seal !== undefined
      ? { opening: sealOpening(job.seal.epoch), hmac: hmacFor(job.seal.key) }
      : undefined;
  const r = writeLines(out, staged, job.prev, job.seq, job.tail, seal, sharedBuffer);
  return {
    id: job.id,
    end: r.end,
    ends: r.ends,
    hashes: r.hashes,
    macs: r.macs,
    // Lines that outgrew the job's buffer are in a bigger shared one: hand it back.
    grown: r.out !== out ? shared(r.out) : undefined,
  };
}

parentPort?.on('message', (job: BuildJob) => {
  let reply: BuildReply;
  try {
    reply = build(job);
  } catch (err) {
    reply = { id: job.id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort?.postMessage(reply);
});
