/**
 * Certificates for the TLS tests, made with openssl in a directory of the test's own: a CA, a
 * server certificate for 127.0.0.1 (SAN IP) and localhost, a client certificate signed by the CA,
 * and a second CA with a client certificate of its own (one the server must refuse). The file
 * names are the docker CLI's (DOCKER_CERT_PATH: ca.pem, cert.pem, key.pem).
 *
 * @example
 *   const c = makeCerts(dir);
 *   docker --tlsverify --tlscacert c.ca --tlscert c.clientCert --tlskey c.clientKey -H tcp://127.0.0.1:PORT info
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Certs {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A DOCKER_CERT_PATH directory: ca.pem, cert.pem, key.pem of the good client. */
  clientDir: string;
  /** A client certificate and key from another CA. */
  rogueCert: string;
  rogueKey: string;
}

const DAYS = '2';

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

function ca(dir: string, name: string): { cert: string; key: string } {
  const key = join(dir, `${name}-key.pem`);
  const cert = join(dir, `${name}.pem`);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', DAYS, '-subj', `/CN=${name}`], dir);
  return { cert, key };
}

function signed(dir: string, name: string, issuer: { cert: string; key: string }, ext: string): { cert: string; key: string } {
  const key = join(dir, `${name}-key.pem`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, ext);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`], dir);
  openssl(['x509', '-req', '-in', csr, '-CA', issuer.cert, '-CAkey', issuer.key, '-CAcreateserial', '-out', cert, '-days', DAYS, '-extfile', extFile], dir);
  return { cert, key };
}

export function makeCerts(dir: string): Certs {
  mkdirSync(dir, { recursive: true });
  const root = ca(dir, 'ca');
  const server = signed(dir, 'server', root, 'subjectAltName = IP:127.0.0.1,DNS:localhost\nextendedKeyUsage = serverAuth\n');
  const client = signed(dir, 'client', root, 'extendedKeyUsage = clientAuth\n');
  const other = ca(dir, 'rogue-ca');
  const rogue = signed(dir, 'rogue', other, 'extendedKeyUsage = clientAuth\n');
  const clientDir = join(dir, 'docker-client');
  mkdirSync(clientDir);
  copyFileSync(root.cert, join(clientDir, 'ca.pem'));
  copyFileSync(client.cert, join(clientDir, 'cert.pem'));
  copyFileSync(client.key, join(clientDir, 'key.pem'));
  return {
    ca: root.cert,
    serverCert: server.cert,
    serverKey: server.key,
    clientCert: client.cert,
    clientKey: client.key,
    clientDir,
    rogueCert: rogue.cert,
    rogueKey: rogue.key,
  };
}
