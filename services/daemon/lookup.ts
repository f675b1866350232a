/**
 * Finding a container the way Docker's GetContainer does: an exact full id, then an exact name
 * (with or without the leading "/"), then a unique id prefix.
 *
 * @example
 *   findContainer(store, 'ctr1');    // by name
 *   findContainer(store, '4f3c');    // by prefix; ambiguous → invalid_argument
 */
import { invalidArgument, notFound } from '../../common/errors.js';
import type { ContainerRow, ContainerStore } from './store.js';

export function findContainer(store: ContainerStore, ref: string): ContainerRow {
  const row = tryFindContainer(store, ref);
  if (!row) throw notFound(`No such container: ${ref}`);
  return row;
}

export function tryFindContainer(store: ContainerStore, ref: string): ContainerRow | undefined {
  if (ref === '') return undefined;
  if (/^[a-f0-9]{64}$/.test(ref)) {
    const row = store.get(ref);
    if (row && row.status !== 'creating') return row;
  }
  const byName = store.getByName(ref.startsWith('/') ? ref : `/${ref}`);
  if (byName && byName.status !== 'creating') return byName;
  if (!/^[a-f0-9]+$/.test(ref)) return undefined;
  const matches = store.getByPrefix(ref);
  if (matches.length > 1) throw invalidArgument(`multiple IDs found with provided prefix: ${ref}`);
  return matches[0];
}
