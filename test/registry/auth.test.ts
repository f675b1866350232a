/**
 * Registries that want credentials: one behind htpasswd basic auth, one behind token auth (a token
 * service of the test's own signing RS256 JWTs the registry trusts). `docker login` checks the
 * password at the registry (a wrong one is refused in Docker's words), and pull and push carry the
 * credentials down per request (X-Registry-Auth); without them the registry's refusal is told.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { startRegistry, startTokenService, type Registry, type TokenService } from './registry.js';

const USER = 'tersane';
const PASSWORD = 'cOrrect-horse';

let stack: Stack;
let basic: Registry;
let tokens: TokenService;
let tokenReg: Registry;

beforeAll(async () => {
  basic = await startRegistry({ htpasswd: { user: USER, password: PASSWORD } });
  tokens = await startTokenService({ [USER]: PASSWORD });
  tokenReg = await startRegistry({ token: tokens });
  stack = await startStack();
  await stack.loadImage('busybox');
});

afterAll(async () => {
  await stack?.stop();
  await basic?.stop();
  await tokenReg?.stop();
  await tokens?.stop();
});

const login = (host: string, password: string) => stack.docker(['login', '-u', USER, '--password-stdin', host], { input: password });

describe('htpasswd basic auth', () => {
  it('refuses a push without credentials and a login with a wrong password', async () => {
    await stack.dockerOk(['tag', 'busybox', `${basic.host}/x/busybox:1`]);
    const anon = await stack.docker(['push', `${basic.host}/x/busybox:1`]);
    expect(anon.code).not.toBe(0);
    expect(anon.stderr + anon.stdout).toContain('no basic auth credentials');
    const wrong = await login(basic.host, 'wrong');
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain(`Error response from daemon: Get "http://${basic.host}/v2/": unauthorized: authentication required`);
  });

  it('logs in, pushes, pulls back; after logout a pull is refused', async () => {
    const ok = await login(basic.host, PASSWORD);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('Login Succeeded');
    const pushed = await stack.dockerOk(['push', `${basic.host}/x/busybox:1`]);
    expect(pushed).toMatch(/1: digest: sha256:[a-f0-9]{64}/);
    await stack.dockerOk(['rmi', `${basic.host}/x/busybox:1`]);
    await stack.dockerOk(['rmi', 'busybox']);
    const pulled = await stack.dockerOk(['pull', `${basic.host}/x/busybox:1`]);
    expect(pulled).toContain(`Status: Downloaded newer image for ${basic.host}/x/busybox:1`);
    expect(await stack.dockerOk(['run', '--rm', `${basic.host}/x/busybox:1`, 'echo', 'ok'])).toBe('ok');
    await stack.dockerOk(['logout', basic.host]);
    const refused = await stack.docker(['pull', `${basic.host}/x/busybox:1`]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('no basic auth credentials');
    // The image to push to the token registry.
    await stack.dockerOk(['tag', `${basic.host}/x/busybox:1`, 'busybox']);
  });
});

describe('token auth', () => {
  it('refuses a wrong password with the token service’s reason', async () => {
    const wrong = await login(tokenReg.host, 'wrong');
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain(`Get "http://${tokenReg.host}/v2/": unauthorized: incorrect username or password`);
  });

  it('logs in, pushes and pulls with tokens scoped to the repository', async () => {
    const ok = await login(tokenReg.host, PASSWORD);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('Login Succeeded');
    await stack.dockerOk(['tag', 'busybox', `${tokenReg.host}/team/app:1`]);
    const pushed = await stack.dockerOk(['push', `${tokenReg.host}/team/app:1`]);
    expect(pushed).toMatch(/1: digest: sha256:[a-f0-9]{64}/);
    expect(tokens.requests.some((r) => r.account === USER && r.status === 200 && r.scopes.includes('repository:team/app:pull,push'))).toBe(true);
    await stack.dockerOk(['rmi', `${tokenReg.host}/team/app:1`]);
    const pulled = await stack.dockerOk(['pull', `${tokenReg.host}/team/app:1`]);
    expect(pulled).toContain(`Status: Downloaded newer image for ${tokenReg.host}/team/app:1`);
    expect(tokens.requests.some((r) => r.account === USER && r.status === 200 && r.scopes.includes('repository:team/app:pull'))).toBe(true);
  });

  it('an anonymous pull gets a token without access, and Docker’s refusal', async () => {
    await stack.dockerOk(['logout', tokenReg.host]);
    await stack.dockerOk(['rmi', `${tokenReg.host}/team/app:1`]);
    const refused = await stack.docker(['pull', `${tokenReg.host}/team/app:1`]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`pull access denied for ${tokenReg.host}/team/app, repository does not exist or may require 'docker login'`);
  });
});
