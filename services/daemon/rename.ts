/**
 * `docker rename` (POST /containers/{id}/rename): Docker's checks and wording, the new name taken
 * in the transaction that records the `rename` event (attribute oldName). The container's hostname
 * and its hosts file are left as they are, as Docker leaves them.
 *
 * @example
 *   await renames.rename('old', 'new');
 */
import { conflict, invalidArgument } from '../../common/errors.js';
import { recordContainerEvent } from './dockerEvents.js';
import type { Lifecycle, LifecycleDeps } from './lifecycle.js';
import { findContainer } from './lookup.js';
import { validateName } from './names.js';

const ALLOCATION = 'Error when allocating new name';

export class ContainerRenames {
  constructor(
    private readonly d: LifecycleDeps,
    private readonly lifecycle: Lifecycle,
  ) {}

  async rename(ref: string, newName: string): Promise<void> {
    if (!ref || !newName) throw invalidArgument('Neither old nor new names may be empty');
    const wanted = newName.startsWith('/') ? newName : `/${newName}`;
    const { store, bus } = this.d;
    const found = findContainer(store, ref);
    await this.lifecycle.locks.run(found.id, async () => {
      const row = store.get(found.id) ?? found;
      if (row.name === wanted) throw invalidArgument('Renaming a container with the same name as its current name');
      try {
        validateName(wanted);
      } catch (err) {
        throw invalidArgument(`${ALLOCATION}: ${(err as Error).message}`);
      }
      const taken = () => {
        const other = store.getByName(wanted);
        return conflict(
          `${ALLOCATION}: Conflict. The container name "${wanted}" is already in use by container "${other?.id ?? ''}". You have to remove (or rename) that container to be able to reuse that name.`,
        );
      };
      if (store.getByName(wanted)) throw taken();
      try {
        store.tx(() => {
          store.rename(row.id, wanted);
          recordContainerEvent(bus, 'rename', { ...row, name: wanted }, { oldName: row.name });
        });
      } catch (err) {
        if (String((err as Error).message).includes('UNIQUE constraint failed')) throw taken();
        throw err;
      }
    });
  }
}
