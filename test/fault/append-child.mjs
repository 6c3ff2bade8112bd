// Child for the crash tests: appends forever (single appends and batches, concurrently), printing
// "ack <seq> <hash>" only after an append has resolved, i.e. after its batch was fsynced.
import { Ledger } from '../../dist/chain/index.js';

const [file, secret] = process.argv.slice(2);
const ledger = await Ledger.open(file, {
  secret: secret || undefined,
  lockWaitMs: 5000,
  sealEpochEntries: 50,
});
process.stdout.write('ready\n');
let n = 0;
for (;;) {
  const k = 1 + (n % 7);
  const work = [];
  for (let i = 0; i < k; i++)
    work.push(ledger.append({ kind: 'test.event', detail: `n=${n++} ünïcode 😀`, payload: { n } }));
  work.push(
    ledger
      .appendBatch([
        { kind: 'test.batch', payload: { n: n++ } },
        { kind: 'test.batch', payload: { n: n++ } },
      ])
      .then((es) => es[1]),
  );
  const done = await Promise.all(work);
  process.stdout.write(done.map((e) => `ack ${e.seq} ${e.hash}\n`).join(''));
}
