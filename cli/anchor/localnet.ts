// `gavel localnet`: local validators for anchoring — anvil (Base flavour, chain id 84532) and a
// local Solana validator (solana-test-validator when installed, else the LiteSVM RPC server).
import { airdrop, startAnvil, startSolanaLocal } from '../../anchor/index.js';
import { print } from '../daemon/connect.js';
import { UsageError } from '../errors.js';

// anvil's first development account: funded by anvil; public knowledge, test-only.
const ANVIL_ACCOUNT = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';

export async function localnet(o: {
  json?: boolean;
  solana?: boolean;
  base?: boolean;
  state?: string;
  fund: string[];
}): Promise<void> {
  const stops: (() => Promise<void>)[] = [];
  const out: Record<string, unknown> = {};
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  };
  try {
    if (o.base !== false) {
      const a = await startAnvil({
        blockTime: 1,
        slotsInAnEpoch: 1,
        statePath: o.state === undefined ? undefined : `${o.state}/anvil-state.json`,
      });
      stops.push(() => a.stop());
      out.base = { rpc: a.url, chain_id: a.chainId, kind: 'anvil', funded_dev_account: ANVIL_ACCOUNT };
    }
    if (o.solana !== false) {
      const s = await startSolanaLocal({ dir: o.state });
      stops.push(() => s.stop());
      out.solana = { rpc: s.url, ws: s.wsUrl, kind: s.kind };
      const funded: string[] = [];
      for (const addr of o.fund) {
        await airdrop(s.url, addr, 10_000_000_000).catch((err: Error) => {
          throw new UsageError(`--fund ${addr}: ${err.message}`);
        });
        funded.push(addr);
      }
      if (funded.length > 0) (out.solana as Record<string, unknown>).funded = funded;
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  const text = [
    ...(out.base === undefined
      ? []
      : [
          `base    ${(out.base as { rpc: string }).rpc}  (anvil, chain id 84532; dev account ${ANVIL_ACCOUNT} is funded)`,
        ]),
    ...(out.solana === undefined
      ? []
      : [
          `solana  ${(out.solana as { rpc: string }).rpc}  ws ${(out.solana as { ws: string }).ws}  (${(out.solana as { kind: string }).kind})`,
        ]),
    'Ctrl-C stops them.',
  ].join('\n');
  print(o.json === true, out, text);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await stopAll();
}
