/**
 * `docker login` (POST /auth): the credentials are checked against the registry the way Docker
 * checks them — GET /v2/, then, as its challenge asks, the same with basic auth or with a token the
 * token service issues for these credentials — and never stored here.
 *
 * @example
 *   await login({ username: 'u', password: 'p' }, '127.0.0.1:5000', settings); // { status: 'Login Succeeded' }
 */
import { unauthenticated, EngineError } from '../../../common/errors.js';
import type { LoginResponse } from '../../../common/proto-types/tersane/containerd/v1/LoginResponse.js';
import { AuthSession, type Credentials } from './auth.js';
import { ping, type RegistrySettings } from './client.js';
import { registryError } from './errors.js';
import { registryOfServerAddress } from './hosts.js';
import { requestError, send } from './http.js';

export const LOGIN_SUCCEEDED = 'Login Succeeded';

export async function login(creds: Credentials, serverAddress: string, settings: RegistrySettings): Promise<LoginResponse> {
  const registry = registryOfServerAddress(serverAddress);
  const { endpoint, res } = await ping(registry, settings);
  const url = new URL('/v2/', endpoint.base);
  if (res.status >= 200 && res.status < 300) {
    await res.drain();
    return { status: LOGIN_SUCCEEDED, identity_token: '' };
  }
  if (res.status !== 401) throw await registryError(res, (t) => requestError('GET', url, t));
  const auth = new AuthSession(creds, endpoint.http);
  auth.learn(res.challenges);
  await res.drain();
  let authorization: string | undefined;
  try {
    authorization = await auth.authorization([]);
  } catch (err) {
    if (err instanceof EngineError && (err.kind === 'unauthenticated' || err.kind === 'permission_denied')) {
      throw unauthenticated(requestError('GET', url, err.message));
    }
    throw err;
  }
  if (!authorization) throw unauthenticated(requestError('GET', url, 'unauthorized: authentication required'));
  const again = await send({ method: 'GET', url, headers: { Authorization: authorization } }, endpoint.http);
  if (again.status >= 200 && again.status < 300) {
    await again.drain();
    return { status: LOGIN_SUCCEEDED, identity_token: auth.refreshToken ?? '' };
  }
  const err = await registryError(again);
  throw again.status === 401 || again.status === 403 ? unauthenticated(requestError('GET', url, err.message)) : err;
}
