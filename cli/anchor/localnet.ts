// `gavel localnet`: local validators for anchoring — anvil (Base flavour) and a local Solana RPC.
import { startAnvil } from '../../anchor/index.js';
import { print } from '../daemon/connect.js';

export async function localnet(o: { json?: boolean; solana?: boolean; base?: boolean }): Promise<void> {
  const stops: (() => Promise<void>)[] = [];
  const out: Record<string, unknown> = {};
  try {
    if (o.base !== false) {
      const a = await startAnvil();
      stops.push(() => a.stop());
      out.base = { rpc: a.url, chain_id: a.chainId, kind: 'anvil' };
    }
  } catch (err) {
    for (const s of stops.reverse()) await s();
    throw err;
  }
  const lines = Object.entries(out).map(([k, v]) => `${k}: ${JSON.stringify(v)}`);
  print(o.json === true, out, `${lines.join('\n')}\nCtrl-C stops them.`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  for (const s of stops.reverse()) await s();
}
