/**
 * The `nginx` test image: Debian's nginx (the `nginx` and `nginx-common` packages, fetched with
 * `apt-get download` into a cache and unpacked with `dpkg -x`, so the host never installs or runs
 * nginx), its binary with the shared libraries `ldd` names (from the host, which has the same
 * Debian), a configuration for a container (error log to stderr, access log to stdout, port 80,
 * Debian's welcome page), and /etc/passwd with www-data. One layer, fixed times: the same packages
 * and libraries give the same bytes and image id.
 *
 *   Cmd ["nginx", "-g", "daemon off;"]   ExposedPorts 80/tcp   StopSignal SIGQUIT
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { TarWriter } from '../services/containerd/tar.js';
import { dockerArchive, type BuiltImage } from './build.js';

/** Bumped whenever the produced bytes change for the same packages and libraries. */
const NGINX_FORMAT_VERSION = 1;
/** The Debian packages the image is made of. */
export const NGINX_PACKAGES = ['nginx', 'nginx-common'];
const MTIME = Date.parse('2024-01-01T00:00:00Z') / 1000;
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const NGINX_CONF = `# tersane's test image: one worker, logs to the container's stdout and stderr.
user www-data;
worker_processes 1;
pid /run/nginx.pid;
error_log stderr notice;

events {
    worker_connections 256;
}

http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /dev/stdout;
    sendfile on;
    keepalive_timeout 65;

    server {
        listen 80 default_server;
        server_name _;
        root /usr/share/nginx/html;
        index index.html;
    }
}
`;
const PASSWD = ['root:x:0:0:root:/root:/usr/sbin/nologin', 'www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin', 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin'].join('\n') + '\n';
const GROUP = ['root:x:0:', 'www-data:x:33:', 'nogroup:x:65534:'].join('\n') + '\n';
const NSSWITCH = 'passwd: files\ngroup: files\nhosts: files dns\n';

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** The cached .deb files, downloaded once (apt-get download needs the network only the first time). */
export function nginxDebs(cacheDir: string): string[] {
  mkdirSync(cacheDir, { recursive: true });
  const have = () => readdirSync(cacheDir).filter((f) => f.endsWith('.deb'));
  const missing = NGINX_PACKAGES.filter((p) => !have().some((f) => f.startsWith(`${p}_`)));
  if (missing.length > 0) {
    const download = () => execFileSync('apt-get', ['download', ...missing], { cwd: cacheDir, stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      download();
    } catch {
      // A machine whose package lists were never fetched: fetch them once and try again.
      execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'] });
      download();
    }
  }
  return NGINX_PACKAGES.map((p) => join(cacheDir, have().find((f) => f.startsWith(`${p}_`))!));
}

/** What the image depends on: the debs and the host libraries nginx links against. */
export function nginxInputs(debs: string[], stage: string): string {
  const lines = debs.map((d) => `deb ${basename(d)} ${sha256(readFileSync(d))}`);
  for (const lib of sharedLibraries(join(stage, 'usr/sbin/nginx'))) lines.push(`lib ${lib} ${sha256(readFileSync(lib))}`);
  return lines.join('\n') + '\n';
}

/** Unpacks the debs into `stage` (emptied first). */
export function unpackDebs(debs: string[], stage: string): void {
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  for (const d of debs) execFileSync('dpkg', ['-x', d, stage]);
}

/** The absolute paths of the shared objects `ldd` resolves for a binary (the loader included). */
export function sharedLibraries(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  const libs = new Set<string>();
  for (const line of out.split('\n')) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.add(m[1]);
  }
  return [...libs].sort();
}

export function nginxLayer(stage: string): Buffer {
  const w = new TarWriter();
  const parts: Buffer[] = [];
  const meta = { mtime: MTIME, uid: 0, gid: 0 };
  const dirs = new Set<string>();
  const dir = (d: string, mode = 0o755) => {
    const segs = d.split('/');
    for (let i = 1; i <= segs.length; i++) {
      const p = segs.slice(0, i).join('/');
      if (dirs.has(p)) continue;
      dirs.add(p);
      parts.push(...w.dir(p, { ...meta, mode: p === d ? mode : 0o755 }));
    }
  };
  const file = (path: string, data: Buffer | string, mode = 0o644) => {
    dir(dirname(path));
    parts.push(...w.file(path, Buffer.isBuffer(data) ? data : Buffer.from(data), { ...meta, mode }));
  };
  for (const d of ['etc', 'lib', 'lib64', 'run', 'usr/sbin', 'usr/share/nginx/html', 'var/lib/nginx', 'var/log/nginx', 'var/www']) dir(d);
  dir('tmp', 0o1777);
  file('usr/sbin/nginx', readFileSync(join(stage, 'usr/sbin/nginx')), 0o755);
  for (const lib of sharedLibraries(join(stage, 'usr/sbin/nginx'))) {
    // Each library at the path the loader looks for it, its content from wherever the host's link points.
    const inImage = lib.replace(/^\/usr\/lib\//, 'lib/').replace(/^\//, '');
    if (inImage.startsWith('lib64/')) {
      const target = realpathSync(lib).replace(/^\/usr\/lib\//, '/lib/');
      file(target.slice(1), readFileSync(lib), 0o755);
      parts.push(...w.symlink(inImage, target, meta));
    } else {
      file(inImage, readFileSync(lib), 0o644);
    }
  }
  for (const conf of ['mime.types', 'fastcgi_params', 'scgi_params', 'uwsgi_params']) file(`etc/nginx/${conf}`, readFileSync(join(stage, 'etc/nginx', conf)));
  file('etc/nginx/nginx.conf', NGINX_CONF);
  file('usr/share/nginx/html/index.html', readFileSync(join(stage, 'usr/share/nginx/html/index.html')));
  file('etc/passwd', PASSWD);
  file('etc/group', GROUP);
  file('etc/nsswitch.conf', NSSWITCH);
  parts.push(...w.end());
  return Buffer.concat(parts);
}

export function buildNginx(stage: string): BuiltImage {
  return dockerArchive(nginxLayer(stage), { repo: 'nginx', tag: 'latest' }, {
    cmd: ['nginx', '-g', 'daemon off;'],
    env: [PATH_ENV],
    exposedPorts: ['80/tcp'],
    stopSignal: 'SIGQUIT',
    createdBy: "tersane images/nginx.ts: Debian's nginx",
  });
}

/** Writes <out>/nginx.tar unless its inputs (debs, libraries, this builder) are unchanged. */
export function writeNginx(out: string): void {
  const target = join(out, 'nginx.tar');
  const stamp = `${target}.inputs`;
  const debs = nginxDebs(join(out, '.nginx-debs'));
  const stage = join(out, '.nginx-stage');
  unpackDebs(debs, stage);
  const inputs = `format ${NGINX_FORMAT_VERSION}\n${nginxInputs(debs, stage)}`;
  if (existsSync(target) && existsSync(stamp) && readFileSync(stamp, 'utf8') === inputs) {
    console.error(`images: ${target} is up to date`);
  } else {
    const image = buildNginx(stage);
    writeFileSync(`${target}.tmp`, image.tar);
    renameSync(`${target}.tmp`, target);
    writeFileSync(stamp, inputs);
    console.error(`images: wrote ${target} (nginx:latest, ${image.id})`);
  }
  rmSync(stage, { recursive: true, force: true });
}
