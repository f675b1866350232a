/**
 * The busybox layer of the test images (images/build.ts's), for images the security tests build.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { busyboxLayer } from '../../images/build.js';

const BUSYBOX = '/bin/busybox';

export function buildBusyboxLayer(): Buffer {
  const applets = execFileSync(BUSYBOX, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  return busyboxLayer(readFileSync(BUSYBOX), applets);
}
