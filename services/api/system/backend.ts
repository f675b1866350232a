/**
 * What the system routes need from the engine; implemented by the daemon client adapter
 * (../daemon-backend.ts), with Docker's events read from the event stream (../docker-events.ts).
 * `/_ping` needs nothing: the api answers it alone.
 */
import type { EventQuery } from '../docker-events.js';

export interface SystemBackend {
  /** Docker's /info document, JSON. */
  info(): Promise<Buffer>;
  /** Docker's /version document, JSON, without the api's own version fields. */
  version(): Promise<Buffer>;
  /** Waits (bounded) until events can be read; throws `unavailable` otherwise. */
  eventsReady(): Promise<void>;
  /** Emits each matching event (Docker's JSON) until `until` passes or `signal` aborts. */
  events(query: EventQuery, emit: (json: string) => void, signal: AbortSignal): Promise<void>;
}
