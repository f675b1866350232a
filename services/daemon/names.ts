/**
 * Container names and ids: Docker's name rule, generated names (adjective_surname) and 64-hex ids.
 *
 * Names are stored with Docker's leading "/" ("/ctr1"), for historic reasons Docker keeps.
 *
 * @example
 *   validateName('ctr1');       // "/ctr1"
 *   generateName(0);            // "nimble_lovelace"
 *   newContainerId();           // "4f3c…" (64 hex, never 12 leading digits)
 */
import { randomBytes, randomInt } from 'node:crypto';
import { invalidArgument } from '../../common/errors.js';

/** Docker's rule: one leading "/" allowed, then [a-zA-Z0-9][a-zA-Z0-9_.-]+ (so at least 2 chars). */
const VALID_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const VALID_NAME_CHARS = '[a-zA-Z0-9][a-zA-Z0-9_.-]';

/** Validates a user-given name and returns it with the leading "/". */
export function validateName(name: string): string {
  if (!VALID_NAME.test(name)) {
    throw invalidArgument(`Invalid container name (${name}), only ${VALID_NAME_CHARS} are allowed`);
  }
  return name.startsWith('/') ? name : `/${name}`;
}

/** How many generated names are tried before falling back to the short id, as Docker does. */
export const NAME_ATTEMPTS = 6;

// Our own lists. Adjectives a container might be; people whose work computing rests on.
const ADJECTIVES = [
  'agile', 'amber', 'ardent', 'bold', 'brave', 'breezy', 'bright', 'brisk', 'calm', 'candid',
  'careful', 'cheerful', 'clever', 'cosmic', 'crisp', 'curious', 'daring', 'dazzling', 'deft', 'devoted',
  'diligent', 'dreamy', 'eager', 'earnest', 'elated', 'elegant', 'epic', 'fearless', 'fervent', 'festive',
  'fierce', 'fluent', 'focused', 'frank', 'gallant', 'gentle', 'gifted', 'glad', 'gleaming', 'graceful',
  'happy', 'hardy', 'hearty', 'honest', 'hopeful', 'humble', 'jolly', 'jovial', 'keen', 'kind',
  'lively', 'loyal', 'lucid', 'lucky', 'merry', 'mellow', 'mighty', 'modest', 'nimble', 'noble',
  'patient', 'peaceful', 'placid', 'plucky', 'polite', 'proud', 'quick', 'quiet', 'radiant', 'rapid',
  'ready', 'resolute', 'robust', 'rustic', 'serene', 'sharp', 'shiny', 'silent', 'sincere', 'snappy',
  'spirited', 'steady', 'stellar', 'sturdy', 'sunny', 'swift', 'tender', 'thrifty', 'tidy', 'tranquil',
  'upbeat', 'valiant', 'vibrant', 'vigilant', 'vivid', 'warm', 'wise', 'witty', 'zealous', 'zesty',
];

const SURNAMES = [
  'abel', 'agnesi', 'alkhwarizmi', 'allen', 'babbage', 'backus', 'banach', 'bardeen', 'bartik', 'bell',
  'bernoulli', 'boole', 'borg', 'brattain', 'cantor', 'cerf', 'chebyshev', 'church', 'codd', 'conway',
  'corbato', 'curie', 'dijkstra', 'easley', 'engelbart', 'erdos', 'euclid', 'euler', 'faraday', 'fermat',
  'feynman', 'floyd', 'fourier', 'franklin', 'galois', 'gauss', 'germain', 'godel', 'goldberg', 'hamming',
  'hamilton', 'hertz', 'hilbert', 'hoare', 'hollerith', 'hopper', 'huffman', 'hypatia', 'jackson', 'jacobi',
  'johnson', 'kahan', 'kay', 'kepler', 'kernighan', 'khayyam', 'knuth', 'kolmogorov', 'lagrange', 'lamarr',
  'lamport', 'laplace', 'leibniz', 'liskov', 'lovelace', 'maxwell', 'mccarthy', 'meitner', 'minsky', 'mirzakhani',
  'napier', 'neumann', 'newton', 'noether', 'nygaard', 'pascal', 'perlman', 'poincare', 'ramanujan', 'riemann',
  'ritchie', 'rivest', 'shamir', 'shannon', 'somerville', 'stallman', 'sutherland', 'tarjan', 'tesla', 'thompson',
  'torvalds', 'turing', 'vaughan', 'volta', 'wilkes', 'wing', 'wirth', 'yonath', 'zuse', 'zhang',
];

/**
 * A Docker-style generated name. Attempt 0 is adjective_surname; later attempts (after a
 * collision) append one random digit, as Docker does.
 */
export function generateName(attempt: number, pick: (n: number) => number = randomInt): string {
  const name = `${ADJECTIVES[pick(ADJECTIVES.length)]}_${SURNAMES[pick(SURNAMES.length)]}`;
  return attempt > 0 ? `${name}${pick(10)}` : name;
}

/** 32 random bytes as 64 lowercase hex, redrawn while the 12-char short id is all digits (it is the hostname). */
export function newContainerId(): string {
  for (;;) {
    const id = randomBytes(32).toString('hex');
    if (!/^\d{12}$/.test(id.slice(0, 12))) return id;
  }
}

/** Docker's TruncateID: drops an "algo:" prefix, keeps 12 characters. */
export function shortId(id: string): string {
  const colon = id.indexOf(':');
  return (colon >= 0 ? id.slice(colon + 1) : id).slice(0, 12);
}
