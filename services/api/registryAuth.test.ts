import { describe, expect, it } from 'vitest';
import { authFromConfig, authFromHeader } from './registryAuth.js';

describe('registry credentials from the CLI', () => {
  it('decodes X-Registry-Auth (base64url JSON, padded or not)', () => {
    const doc = { username: 'u', password: 'p?>', serveraddress: '127.0.0.1:5000' };
    const b64url = Buffer.from(JSON.stringify(doc)).toString('base64url');
    expect(authFromHeader(b64url)).toEqual({ username: 'u', password: 'p?>', server_address: '127.0.0.1:5000', identity_token: '', registry_token: '' });
    expect(authFromHeader(Buffer.from(JSON.stringify(doc)).toString('base64'))?.username).toBe('u');
    expect(authFromHeader(undefined)).toBeUndefined();
    expect(authFromHeader('')).toBeUndefined();
  });
  it('takes the legacy auth field and refuses what is not JSON', () => {
    expect(authFromConfig({ auth: Buffer.from('me:secret:x').toString('base64') })).toMatchObject({ username: 'me', password: 'secret:x' });
    expect(() => authFromHeader('bm90IGpzb24')).toThrow(/invalid X-Registry-Auth header/);
  });
});
