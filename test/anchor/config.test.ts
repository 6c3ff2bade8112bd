// The [anchor] section of the daemon config: the commented example is complete and loads once
// uncommented; wrong combinations are refused naming the target and what was expected.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../daemon/index.js';
import { makeConfig } from '../daemon/helpers.js';

const example = readFileSync('daemon/gavel.example.toml', 'utf8');

/** The example's [anchor] block, uncommented, with key files created beside the config. */
function anchorBlock(): string {
  const start = example.indexOf('# [anchor]');
  const end = example.indexOf('\n[log]');
  return example
    .slice(start, end)
    .split('\n')
    .map((l) => l.replace(/^# ?/, ''))
    .join('\n');
}

function withKeys(extra: string, mode = 0o600) {
  const c = makeConfig(extra);
  writeFileSync(
    join(c.dir, 'solana-anchor.json'),
    `${JSON.stringify(Array.from({ length: 64 }, (_, i) => i))}\n`,
    {
      mode,
    },
  );
  writeFileSync(join(c.dir, 'base-anchor.key'), `0x${'11'.repeat(32)}\n`, { mode });
  chmodSync(join(c.dir, 'solana-anchor.json'), mode);
  chmodSync(join(c.dir, 'base-anchor.key'), mode);
  return c;
}

describe('anchor configuration', () => {
  it('the example documents every anchor key and loads when uncommented', () => {
    for (const k of [
      'interval_seconds',
      'name',
      'chain',
      'network',
      'rpc_url',
      'ws_url',
      'key_file',
      'compute_unit_price',
      'daily_cap',
      'min_balance',
      'max_fee_per_gas',
    ])
      expect(anchorBlock()).toMatch(new RegExp(`^${k} =`, 'm'));
    const c = withKeys(anchorBlock());
    const cfg = loadConfig(c.file, {});
    expect(cfg.anchor?.targets.map((t) => [t.name, t.chain, t.network, t.intervalMs])).toEqual([
      ['solana-devnet', 'solana', 'devnet', 600_000],
      ['base-sepolia', 'base', 'base-sepolia', 3_600_000],
    ]);
    expect(cfg.anchor?.targets[1]?.maxFeePerGas).toBe(2_000_000_000n);
    expect(cfg.anchor?.targets[0]?.dailyCap).toBe(1_000_000n);
  });

  it('refuses a network of the other chain, a local target without rpc_url, twin names and readable keys', () => {
    const wrong = withKeys(anchorBlock().replace('network = "devnet"', 'network = "base-sepolia"'));
    expect(() => loadConfig(wrong.file, {})).toThrow(/solana-devnet.*base-sepolia is not a solana network/);
    const local = withKeys(
      anchorBlock().replace('rpc_url = "https://api.devnet.solana.com"', '').replace('"devnet"', '"local"'),
    );
    expect(() => loadConfig(local.file, {})).toThrow(/a local network needs rpc_url/);
    const twins = withKeys(anchorBlock().replace('name = "base-sepolia"', 'name = "solana-devnet"'));
    expect(() => loadConfig(twins.file, {})).toThrow(/another target has the same name/);
    const open = withKeys(anchorBlock(), 0o644);
    expect(() => loadConfig(open.file, {})).toThrow(/readable by group or others/);
    const fee = withKeys(
      anchorBlock().replace('max_fee_per_gas = "2000000000"', 'max_fee_per_gas = 2000000000'),
    );
    expect(() => loadConfig(fee.file, {})).toThrow(/max_fee_per_gas/);
  });
});
