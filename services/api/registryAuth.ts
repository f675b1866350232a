/**
 * Registry credentials as the docker CLI sends them: the X-Registry-Auth header of a pull or push
 * (base64url of Docker's AuthConfig JSON) and the JSON body of POST /auth. They become the
 * RegistryAuth message passed down with the request; nothing keeps them.
 *
 * @example
 *   authFromHeader('eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6InAifQ==') // { username: 'u', password: 'p', … }
 */
import { invalidArgument } from '../../common/errors.js';
import type { RegistryAuth } from '../../common/proto-types/tersane/common/v1/RegistryAuth.js';

/** Docker's AuthConfig, as the CLI writes it. */
interface AuthConfig {
  username?: unknown;
  password?: unknown;
  /** base64 of "username:password" (the config file's form). */
  auth?: unknown;
  serveraddress?: unknown;
  identitytoken?: unknown;
  registrytoken?: unknown;
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');

/** Docker's AuthConfig object as the RegistryAuth message. */
export function authFromConfig(doc: AuthConfig): RegistryAuth {
  let username = str(doc.username);
  let password = str(doc.password);
  const legacy = str(doc.auth);
  if (!username && legacy) {
    const decoded = Buffer.from(legacy, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw invalidArgument('invalid auth configuration: the auth field is not base64 of username:password');
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  return {
    username,
    password,
    server_address: str(doc.serveraddress),
    identity_token: str(doc.identitytoken),
    registry_token: str(doc.registrytoken),
  };
}

/** The X-Registry-Auth header (base64url JSON, padded or not); undefined when absent or empty. */
export function authFromHeader(header: string | string[] | undefined): RegistryAuth | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
  } catch (err) {
    throw invalidArgument(`invalid X-Registry-Auth header: ${(err as Error).message}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw invalidArgument('invalid X-Registry-Auth header: not a JSON object');
  return authFromConfig(doc as AuthConfig);
}
