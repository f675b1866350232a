/**
 * `docker events`: Docker's events, read straight from the JetStream stream the daemon publishes
 * them into (subjects tersane.daemon.docker.>). Reading the stream itself, not asking the daemon,
 * is what lets a subscriber ride through a daemon restart without losing or repeating an event,
 * and lets `--since` replay history after the api or daemon restarted.
 */
import { DeliverPolicy, type JetStreamClient } from 'nats';
import { STREAM } from '../../common/events.js';
import { invalidArgument } from '../../common/errors.js';
import type { Envelope } from '../../common/events.js';
import type { DockerEvent } from '../../common/proto-types/tersane/events/v1/DockerEvent.js';

export const DOCKER_EVENTS_SUBJECT = 'tersane.daemon.docker.>';

/** Docker's filters: {"type":["container"],"event":["start"],"label":["a=b"],…}. */
export type EventFilters = Record<string, string[]>;

const KNOWN_FILTERS = new Set(['container', 'daemon', 'event', 'image', 'label', 'network', 'node', 'plugin', 'scope', 'type', 'volume', 'config', 'secret', 'service']);

/** Parses the `filters` query parameter in both of Docker's JSON forms ({"k":["v"]} and {"k":{"v":true}}). */
export function parseEventFilters(text: string | undefined): EventFilters {
  if (!text) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw invalidArgument(`invalid filter: ${text}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw invalidArgument(`invalid filter: ${text}`);
  const out: EventFilters = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (!KNOWN_FILTERS.has(key)) throw invalidArgument(`invalid filter '${key}'`);
    if (Array.isArray(value)) out[key] = value.map(String);
    else if (value && typeof value === 'object') out[key] = Object.keys(value);
    else throw invalidArgument(`invalid filter: ${text}`);
  }
  return out;
}

function exact(filters: EventFilters, key: string, ...sources: Array<string | undefined>): boolean {
  const values = filters[key];
  if (!values?.length) return true;
  return sources.some((s) => s !== undefined && values.includes(s));
}

/** Docker matches container names and ids by prefix. */
function fuzzy(filters: EventFilters, key: string, ...sources: Array<string | undefined>): boolean {
  const values = filters[key];
  if (!values?.length) return true;
  return sources.some((s) => s !== undefined && values.some((v) => s === v || s.startsWith(v)));
}

function stripTag(ref: string | undefined): string | undefined {
  if (!ref) return ref;
  const at = ref.indexOf('@');
  if (at >= 0) return ref.slice(0, at);
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? ref.slice(0, colon) : ref;
}

/** Whether an event passes Docker's filters (the semantics of moby's events filter). */
export function eventMatches(filters: EventFilters, ev: DockerEvent): boolean {
  const attrs = ev.Actor?.Attributes ?? {};
  const action = (ev.Action ?? '').split(':')[0];
  const typed = (type: string, key: string) => (ev.Type === type ? fuzzy(filters, key, ev.Actor?.ID, attrs.name) : !filters[key]?.length);
  const imageName = ev.Type === 'image' ? attrs.name : attrs.image;
  return (
    exact(filters, 'event', action) &&
    exact(filters, 'type', ev.Type ?? undefined) &&
    exact(filters, 'scope', ev.scope ?? undefined) &&
    typed('container', 'container') &&
    typed('network', 'network') &&
    typed('volume', 'volume') &&
    typed('plugin', 'plugin') &&
    typed('daemon', 'daemon') &&
    exact(filters, 'image', ev.Actor?.ID, imageName, stripTag(ev.Actor?.ID), stripTag(imageName)) &&
    labelsMatch(filters.label ?? [], attrs)
  );
}

function labelsMatch(wanted: string[], attrs: Record<string, string>): boolean {
  return wanted.every((w) => {
    const eq = w.indexOf('=');
    return eq < 0 ? w in attrs : attrs[w.slice(0, eq)] === w.slice(eq + 1);
  });
}

/** An event's time in ns; events carry int64s as strings (protobuf's JSON mapping) to stay exact. */
export function eventTimeNs(ev: DockerEvent): bigint {
  return BigInt(String(ev.timeNano ?? 0));
}

/**
 * Docker's wire form as JSON text: the event plus the legacy status/id/from fields older clients
 * read, with time and timeNano as exact JSON integers.
 */
export function toWire(ev: DockerEvent): string {
  const wire: Record<string, unknown> = {};
  if (ev.Type === 'container' || ev.Type === 'image') {
    wire.status = ev.Action;
    wire.id = ev.Actor?.ID;
    if (ev.Type === 'container' && ev.Actor?.Attributes?.image) wire.from = ev.Actor.Attributes.image;
  }
  const body = JSON.stringify({ ...wire, Type: ev.Type, Action: ev.Action, Actor: ev.Actor, scope: ev.scope });
  const ns = eventTimeNs(ev);
  return `${body.slice(0, -1)},"time":${ns / 1_000_000_000n},"timeNano":${ns}}`;
}

/** Docker's since/until: unix seconds with an optional fraction ("1700000000.5"), or RFC 3339. */
export function parseEventTime(text: string | undefined, name: string): bigint | undefined {
  if (text === undefined || text === '') return undefined;
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(text);
  if (m) return BigInt(m[1]) * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw invalidArgument(`invalid value for ${name}: ${text}`);
  return BigInt(ms) * 1_000_000n;
}

export interface EventQuery {
  sinceNs?: bigint;
  untilNs?: bigint;
  filters: EventFilters;
}

/**
 * Writes every matching event to `emit`: the past ones from `since` (if given), then live ones,
 * until `until` passes or `signal` aborts. Resolves when the stream ends.
 */
export async function streamEvents(js: JetStreamClient, q: EventQuery, emit: (json: string) => void, signal: AbortSignal): Promise<void> {
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  if (q.untilNs !== undefined && q.sinceNs === undefined && q.untilNs <= nowNs) return;
  const consumer = await js.consumers.get(STREAM, {
    // One subject as a string: a list needs nats-server 2.10 (Debian 12 ships 2.9), where the
    // consumer is never created and the reader waits forever.
    filterSubjects: DOCKER_EVENTS_SUBJECT,
    ...(q.sinceNs !== undefined
      ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(Number(q.sinceNs / 1_000_000n)).toISOString() }
      : { deliver_policy: DeliverPolicy.New }),
  });
  // Replaying a closed window ([since, until] in the past) ends once the stream is caught up.
  const pendingAtStart = (await consumer.info()).num_pending;
  const closedWindow = q.untilNs !== undefined && q.untilNs <= nowNs;
  if (closedWindow && pendingAtStart === 0) {
    await consumer.delete().catch(() => undefined);
    return;
  }
  const messages = await consumer.consume();
  const stop = () => void messages.close();
  signal.addEventListener('abort', stop, { once: true });
  let untilTimer: NodeJS.Timeout | undefined;
  if (q.untilNs !== undefined && !closedWindow) untilTimer = setTimeout(stop, Number((q.untilNs - nowNs) / 1_000_000n));
  try {
    for await (const m of messages) {
      let ev: DockerEvent | undefined;
      try {
        ev = (JSON.parse(m.string()) as Envelope).docker ?? undefined;
      } catch {
        ev = undefined;
      }
      if (ev) {
        const t = eventTimeNs(ev);
        if (q.untilNs !== undefined && t > q.untilNs) break;
        if ((q.sinceNs === undefined || t >= q.sinceNs) && eventMatches(q.filters, ev)) emit(toWire(ev));
      }
      if (closedWindow && m.info.pending === 0) break;
    }
  } finally {
    clearTimeout(untilTimer);
    signal.removeEventListener('abort', stop);
    await messages.close()?.catch(() => undefined);
  }
}
