/**
 * Docker's events (`docker events`), recorded in the daemon's outbox inside the transaction of the
 * change they announce. Topic /docker/<type>/<action> becomes the NATS subject
 * tersane.daemon.docker.<type>.<action> (common/events.ts subjectOf prefixes the publishing layer).
 * int64 times travel as strings (protobuf's JSON mapping) so timeNano stays exact.
 *
 * @example
 *   store.tx(() => { store.update(id, {...}); recordContainerEvent(bus, 'start', row); });
 */
import type { EventBus } from '../../common/events.js';
import { nowNs } from '../../common/time.js';
import type { ContainerRow } from './store.js';

export type DockerEventType = 'container' | 'image' | 'network' | 'volume';

export function recordDockerEvent(
  bus: EventBus,
  type: DockerEventType,
  action: string,
  id: string,
  attributes: Record<string, string>,
): void {
  const ns = nowNs();
  // Subjects cannot hold spaces or dots inside a token; the action in the payload stays exact.
  const topicAction = action.replace(/[^A-Za-z0-9_-]+/g, '_');
  bus.record(`/docker/${type}/${topicAction}`, {
    docker: {
      Type: type,
      Action: action,
      Actor: { ID: id, Attributes: attributes },
      scope: 'local',
      time: String(ns / 1_000_000_000n),
      timeNano: String(ns),
    },
  });
}

/** A container event: Docker's attributes are the container's labels, then image and name. */
export function recordContainerEvent(bus: EventBus, action: string, row: ContainerRow, extra: Record<string, string> = {}): void {
  const labels = (JSON.parse(row.config).Labels ?? {}) as Record<string, string>;
  recordDockerEvent(bus, 'container', action, row.id, { ...labels, image: row.image, name: row.name.replace(/^\//, ''), ...extra });
}

export function recordImageEvent(bus: EventBus, action: string, id: string, name: string, labels: Record<string, string> = {}): void {
  recordDockerEvent(bus, 'image', action, id, { ...labels, name });
}
