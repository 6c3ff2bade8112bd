// Independent signed-note verification for tests: node:crypto only, none of gavel's code.
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';

/** Independent signed-note check with node:crypto only: key id layout and Ed25519 over the text. */
export function independentNoteCheck(note: string, vkey: string): boolean {
  const [name, idHex, b64] = [vkey.split('+')[0], vkey.split('+')[1], vkey.split('+').slice(2).join('+')];
  const raw = Buffer.from(b64 as string, 'base64');
  if (raw[0] !== 0x01 || raw.length !== 33) return false;
  const pub = raw.subarray(1);
  const id = createHash('sha256')
    .update(Buffer.concat([Buffer.from(`${name}\n`), Buffer.from([1]), pub]))
    .digest()
    .subarray(0, 4);
  if (id.toString('hex') !== idHex) return false;
  const sep = note.lastIndexOf('\n\n');
  const text = note.slice(0, sep + 1);
  const spki = createPublicKey({
    key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), pub]),
    format: 'der',
    type: 'spki',
  });
  for (const line of note.slice(sep + 2, -1).split('\n')) {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const blob = Buffer.from(m[2] as string, 'base64');
    if (!blob.subarray(0, 4).equals(id)) continue;
    if (nodeVerify(null, Buffer.from(text), spki, blob.subarray(4))) return true;
  }
  return false;
}
