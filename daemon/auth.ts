// Bearer tokens with scopes. Tokens are 32 random bytes (base64url), so a plain SHA-256 of the token
// is stored in the config: a slow KDF (scrypt) protects guessable passwords, not 256-bit random
// strings, and would cost ~50 ms a request at 10k requests/s. The presented token's hash is compared
// with every configured hash with `timingSafeEqual` (no early exit on the first match), so response
// time does not depend on how much of a hash matched. Unix-socket peers need a token too: the socket
// is 0660 for the service's group, and group membership alone must not grant `deploy` or `admin`.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Scope, TokenConfig } from './config.js';
import { DaemonError } from './errors.js';

export interface Identity {
  name: string;
  scopes: ReadonlySet<Scope>;
  role: string;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A fresh clear token and the hash to put in the config. */
export function newToken(): { token: string; sha256: string } {
  const token = `gvl_${randomBytes(32).toString('base64url')}`;
  return { token, sha256: hashToken(token) };
}

export class TokenAuthority {
  private entries: { hash: Buffer; id: Identity }[] = [];
  constructor(tokens: readonly TokenConfig[]) {
    this.replace(tokens);
  }

  /** Swaps the token set (SIGHUP reload). */
  replace(tokens: readonly TokenConfig[]): void {
    this.entries = tokens.map((t) => ({
      hash: Buffer.from(t.sha256, 'hex'),
      id: { name: t.name, scopes: new Set(t.scopes), role: t.role ?? 'agent' },
    }));
  }

  /** The identity of an `Authorization` header, or 401. */
  authenticate(header: string | undefined): Identity {
    if (header === undefined || header === '') {
      throw new DaemonError('UNAUTHORIZED', 'missing bearer token: send "Authorization: Bearer <token>"');
    }
    const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header);
    if (m === null)
      throw new DaemonError('UNAUTHORIZED', 'malformed Authorization header: expected "Bearer <token>"');
    const h = createHash('sha256')
      .update(m[1] as string, 'utf8')
      .digest();
    let found: Identity | undefined;
    for (const e of this.entries) {
      if (timingSafeEqual(h, e.hash) && found === undefined) found = e.id;
    }
    if (found === undefined) throw new DaemonError('UNAUTHORIZED', 'unknown bearer token');
    return found;
  }

  /** 403 unless `id` holds `scope` (admin holds every scope). */
  static require(id: Identity, scope: Scope): void {
    if (!id.scopes.has(scope) && !id.scopes.has('admin')) {
      throw new DaemonError('FORBIDDEN', `token "${id.name}" lacks the "${scope}" scope`);
    }
  }
}
