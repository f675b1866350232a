import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from './log.js';
import { Trash } from './trash.js';

let root: string;
let trash: Trash;

function tree(dir: string): void {
  mkdirSync(join(dir, 'a', 'b'), { recursive: true });
  writeFileSync(join(dir, 'a', 'b', 'file'), 'x');
  writeFileSync(join(dir, 'log'), 'y');
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tn-trash-'));
  trash = new Trash(join(root, 'trash'), createLogger('test', 'error'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('Trash', () => {
  it('takes a tree away at once and deletes it later', async () => {
    const dir = join(root, 'container');
    tree(dir);
    trash.throwAway(dir);
    expect(existsSync(dir)).toBe(false);
    expect(readdirSync(join(root, 'trash'))).toHaveLength(1);
    await trash.settled();
    expect(readdirSync(join(root, 'trash'))).toEqual([]);
  });

  it('empties what an earlier run left in the trash', async () => {
    tree(join(root, 'trash', 'left-by-a-crash'));
    await trash.empty();
    expect(readdirSync(join(root, 'trash'))).toEqual([]);
  });

  it('does nothing for a path that is not there, and makes the trash again if it went', async () => {
    trash.throwAway(join(root, 'missing'));
    await trash.settled();
    const dir = join(root, 'container');
    tree(dir);
    rmSync(join(root, 'trash'), { recursive: true, force: true });
    trash.throwAway(dir);
    expect(existsSync(dir)).toBe(false);
    await trash.settled();
    expect(readdirSync(join(root, 'trash'))).toEqual([]);
  });
});
