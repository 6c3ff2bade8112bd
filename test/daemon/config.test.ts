// Configuration: every problem explained, env overrides, secrets only from private files,
// loopback-only TCP; `gavel config check` and `gavel daemon install` through the real CLI.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkConfigFile, loadConfig } from '../../daemon/index.js';
import { NODE_FLAGS } from '../../daemon/install.js';
import { makeConfig } from './helpers.js';

const gavel = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, ['bin/gavel.js', ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });

describe('daemon config', () => {
  it('loads a good file, resolving paths beside it', () => {
    const c = makeConfig();
    const cfg = loadConfig(c.file);
    expect(cfg.ledger.path).toBe(c.ledger);
    expect(cfg.server.socket).toBe(c.socket);
    expect(cfg.ledger.secret).toBe('operator-secret-for-tests-0123456789');
    expect(cfg.tokens.map((t) => t.name)).toEqual(['agent-1', 'auditor', 'operator']);
  });

  it('explains every problem with path, expected and got', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gavel-cfg-'));
    const f = join(dir, 'bad.toml');
    writeFileSync(
      f,
      `[ledger]\npath = 42\nsecret = "inline!"\nscan = "maybe"\n[server]\nsocket = "s"\nbody_limit = -1\n[[auth.tokens]]\nname = "x"\nsha256 = "nothex"\nscopes = ["root"]\n`,
    );
    const p = checkConfigFile(f, {});
    const byPath = Object.fromEntries(p.map((x) => [x.path, x]));
    expect(byPath['ledger.path']?.got).toBe('number 42');
    expect(byPath['ledger.path']?.expected).toMatch(/string/);
    expect(byPath['ledger.secret']?.message).toMatch(/unknown key/);
    expect(byPath['ledger.scan']?.expected).toMatch(/"refuse", "redact"/);
    expect(byPath['server.body_limit']?.expected).toMatch(/>= 1024/);
    expect(byPath['auth.tokens[0].sha256']?.got).toMatch(/nothex/);
    expect(byPath['auth.tokens[0].scopes[0]']).toBeDefined();
    expect(p.some((x) => x.message.includes('secrets are never written in the config'))).toBe(true);
  });

  it('refuses a secret file readable by others, and non-loopback TCP', () => {
    const c = makeConfig();
    chmodSync(join(c.dir, 'secret'), 0o644);
    expect(() => loadConfig(c.file)).toThrow(/readable by group or others.*chmod 600/);
    chmodSync(join(c.dir, 'secret'), 0o600);
    expect(() => loadConfig(c.file, { GAVEL_SERVER_TCP: '0.0.0.0:8080' })).toThrow(/loopback/);
    expect(loadConfig(c.file, { GAVEL_SERVER_TCP: '127.0.0.1:8080' }).server.tcp).toEqual({
      host: '127.0.0.1',
      port: 8080,
    });
  });

  it('environment overrides and $CREDENTIALS_DIRECTORY', () => {
    const c = makeConfig();
    const creds = mkdtempSync(join(tmpdir(), 'gavel-creds-'));
    writeFileSync(join(creds, 'secret'), 'from-systemd-credential-000000', { mode: 0o600 });
    const cfg = loadConfig(c.file, {
      CREDENTIALS_DIRECTORY: creds,
      GAVEL_LEDGER_PATH: '/tmp/other.jsonl',
      GAVEL_LOG_LEVEL: 'debug',
    });
    expect(cfg.ledger.secret).toBe('from-systemd-credential-000000');
    expect(cfg.ledger.path).toBe('/tmp/other.jsonl');
    expect(cfg.logLevel).toBe('debug');
    expect(checkConfigFile(c.file, { GAVEL_LEDGER_SCAN: 'sometimes' })[0]?.path).toBe('ledger.scan');
  });

  it('gavel config check exits 1 with explanations, 0 when good', () => {
    const c = makeConfig();
    expect(gavel(['config', 'check', c.file]).status).toBe(0);
    const bad = join(c.dir, 'bad.toml');
    writeFileSync(bad, '[ledger]\npath = "x"\n[server]\nsocket = 5\n');
    const r = gavel(['config', 'check', bad]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('server.socket');
    expect(r.stderr).toMatch(/expected: a string/);
    expect(r.stderr).toMatch(/got: +number 5/);
    const t = gavel(['config', 'check', join(c.dir, 'broken.toml')]);
    expect(t.status).toBe(1);
  });

  it('the example config documents every key the schema has and parses', () => {
    const text = readFileSync('daemon/gavel.example.toml', 'utf8');
    for (const k of [
      'path',
      'secret_file',
      'scan',
      'max_batch',
      'socket',
      'tcp',
      'body_limit',
      'dir',
      'trust_file',
      'allow_unsigned',
      'threads',
      'key_file',
      'origin',
      'tokens_file',
      'level',
    ]) {
      expect(text).toMatch(new RegExp(`^#? ?${k} =`, 'm'));
    }
    const p = checkConfigFile('daemon/gavel.example.toml', {});
    // the example names credentials that do not exist here; nothing else may be wrong
    expect(p.every((x) => x.path === '(resolved)')).toBe(true);
  });
});

describe('systemd unit and install', () => {
  it('gavel daemon install --dry-run writes nothing; install writes unit + config', () => {
    const prefix = mkdtempSync(join(tmpdir(), 'gavel-inst-'));
    const dry = gavel(['daemon', 'install', '--prefix', prefix, '--dry-run']);
    expect(dry.status).toBe(0);
    expect(dry.stdout).toContain('would write');
    expect(existsSync(join(prefix, 'etc/systemd/system/gavel.service'))).toBe(false);
    expect(gavel(['daemon', 'install', '--prefix', prefix]).status).toBe(0);
    const unit = readFileSync(join(prefix, 'etc/systemd/system/gavel.service'), 'utf8');
    for (const line of [
      'Type=notify',
      'NotifyAccess=all',
      'StateDirectory=gavel',
      'ProtectSystem=strict',
      'NoNewPrivileges=yes',
      'PrivateTmp=yes',
      'WatchdogSec=',
      'Restart=on-failure',
      'LoadCredential=',
    ]) {
      expect(unit).toContain(line);
    }
    // The unit runs node with the daemon's flags (daemon/install.ts NODE_FLAGS, as `gavel start` does).
    const execStart = unit.split('\n').find((l) => l.startsWith('ExecStart=')) ?? '';
    for (const flag of NODE_FLAGS) expect(execStart).toContain(`/usr/bin/node ${flag} `);
    expect(existsSync(join(prefix, 'etc/gavel/gavel.toml'))).toBe(true);
    // a second install keeps the operator's config
    writeFileSync(join(prefix, 'etc/gavel/gavel.toml'), '# mine\n');
    gavel(['daemon', 'install', '--prefix', prefix]);
    expect(readFileSync(join(prefix, 'etc/gavel/gavel.toml'), 'utf8')).toBe('# mine\n');
  });

  const analyze = spawnSync('systemd-analyze', ['--version']).status === 0;
  it.skipIf(!analyze)('the unit passes systemd-analyze verify without a warning', () => {
    const r = spawnSync('systemd-analyze', ['verify', 'daemon/systemd/gavel.service'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
  });

  it('gavel daemon token prints a clear token once and only its hash for the config', () => {
    const r = gavel(['daemon', 'token', '--name', 'bot', '--scopes', 'evaluate,read', '--json']);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout) as { token: string; sha256: string; toml: string };
    expect(j.toml).toContain(j.sha256);
    expect(j.toml).not.toContain(j.token);
    expect(gavel(['daemon', 'token', '--name', 'bot', '--scopes', 'root']).status).toBe(2);
  });
});
