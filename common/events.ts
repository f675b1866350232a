/**
 * Events on NATS JetStream, through a transactional outbox (the contract is proto/events.proto).
 *
 * A layer records an event in its own database, in the same transaction as the change the event
 * announces (`bus.record(...)` inside `db.transaction`). A publisher drains the outbox into the
 * TERSANE stream whenever NATS is reachable, with the outbox row as the message id, so:
 *   - nothing blocks on NATS: a start or stop commits locally and returns;
 *   - nothing is lost while NATS or the publishing layer is down: rows wait in the outbox;
 *   - nothing is stored twice: JetStream drops a re-published message id within its window.
 * Consumers that must see every event use durable consumers and ack after their own commit.
 *
 * @example
 *   db.transaction(() => { saveExit(row); bus.record('/tasks/exit', { task: {...} }); })();
 *   bus.consume('daemon-task-exits', 'tersane.shim.tasks.exit', async (env) => applyExit(env.task));
 */
import {
  AckPolicy,
  connect,
  DeliverPolicy,
  headers,
  nanos,
  StorageType,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
} from 'nats';
import type { Db } from './db.js';
import { metaValue } from './db.js';
import type { Logger } from './log.js';
import { nowRfc3339Nano } from './time.js';
import { currentTraceparent } from './tracing.js';
import type { Envelope } from './proto-types/tersane/events/v1/Envelope.js';

export type { Envelope };

export const STREAM = 'TERSANE';
const STREAM_SUBJECTS = ['tersane.>'];
/** Docker keeps its event log in memory; we keep a day's worth on disk for `--since`. */
const STREAM_MAX_AGE_MS = 24 * 3600 * 1000;
const STREAM_MAX_MSGS = 1_000_000;
/** A re-publish of the same outbox row within this window is stored once. */
const DUPLICATE_WINDOW_MS = 10 * 60 * 1000;
const RETRY_MS = 250;
const BATCH = 256;

/** The NATS subject of a layer's topic: ("shim", "/tasks/exit") → "tersane.shim.tasks.exit". */
export function subjectOf(layer: string, topic: string): string {
  return `tersane.${layer}.${topic.replace(/^\/+/, '').replaceAll('/', '.')}`;
}

export type EventBody = Omit<Envelope, 'topic' | 'timestamp' | 'source'>;

export interface Metrics {
  publishFailures?: () => void;
  reconnects?: () => void;
}

export class EventBus {
  private nc?: NatsConnection;
  private js?: JetStreamClient;
  private jsm?: JetStreamManager;
  /** False from a disconnect until the reconnect: the connection object lives on meanwhile. */
  private online = false;
  private flushing = false;
  private flushAgain = false;
  private closed = false;
  private readonly instance: string;
  private readonly insert;
  private readonly pending;
  private readonly removeUpTo;
  private readonly connectedWaiters: Array<() => void> = [];

  constructor(
    db: Db,
    private readonly layer: string,
    private readonly natsUrl: string,
    private readonly log: Logger,
    private readonly metrics: Metrics = {},
  ) {
    this.instance = metaValue(db, 'instance') ?? 'unknown';
    this.insert = db.prepare('INSERT INTO outbox (subject, payload) VALUES (?, ?)');
    this.pending = db.prepare('SELECT seq, subject, payload FROM outbox ORDER BY seq LIMIT ?');
    this.removeUpTo = db.prepare('DELETE FROM outbox WHERE seq <= ?');
  }

  /** Connects in the background (NATS may be down: the layer serves anyway) and keeps reconnecting. */
  start(): void {
    void this.connectLoop();
  }

  get connected(): boolean {
    return Boolean(this.online && this.nc && !this.nc.isClosed() && this.js);
  }

  /**
   * Records an event in the outbox. Call it inside the transaction of the change it announces;
   * it is published once that transaction has committed.
   */
  record(topic: string, body: EventBody): void {
    const envelope: Envelope = { topic, timestamp: nowRfc3339Nano(), source: this.layer, ...body };
    const traceparent = currentTraceparent();
    if (traceparent) envelope.traceparent = traceparent;
    this.insert.run(subjectOf(this.layer, topic), JSON.stringify(envelope));
    setImmediate(() => void this.flush());
  }

  /**
   * Delivers every event on `subject` (wildcards allowed) to `handler`, at least once, in order,
   * including those published while this layer was down. The message is acknowledged after the
   * handler resolves; a handler that throws gets it again later.
   */
  consume(durable: string, subject: string, handler: (event: Envelope) => Promise<void>): void {
    const run = async () => {
      const jsm = this.jsm!;
      const js = this.js!;
      try {
        await jsm.consumers.info(STREAM, durable);
      } catch {
        await jsm.consumers.add(STREAM, {
          durable_name: durable,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          filter_subject: subject,
          max_ack_pending: 1000,
          ack_wait: nanos(30_000),
        });
      }
      const consumer = await js.consumers.get(STREAM, durable);
      const messages: ConsumerMessages = await consumer.consume({ max_messages: 256 });
      for await (const m of messages) {
        let event: Envelope;
        try {
          event = JSON.parse(m.string()) as Envelope;
        } catch {
          this.log.warn('dropping an event that is not JSON', { subject: m.subject });
          m.term();
          continue;
        }
        try {
          await handler(event);
          m.ack();
        } catch (err) {
          this.log.warn('event handler failed; redelivering later', { subject: m.subject, err });
          m.nak(1000);
        }
      }
    };
    const loop = async () => {
      while (!this.closed) {
        if (!this.connected) {
          await this.waitConnected();
          continue;
        }
        try {
          await run();
        } catch (err) {
          if (!this.closed) this.log.warn('event consumer stopped; restarting', { durable, err });
        }
        if (!this.closed) await sleep(RETRY_MS);
      }
    };
    void loop();
  }

  /** The live connection's JetStream handles, for readers such as `docker events --since`. */
  jetstream(): { js: JetStreamClient; jsm: JetStreamManager; nc: NatsConnection } | undefined {
    return this.connected ? { js: this.js!, jsm: this.jsm!, nc: this.nc! } : undefined;
  }

  /** Resolves once connected (immediately if already). */
  waitConnected(): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve) => this.connectedWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.connectedWaiters.splice(0)) w();
    await this.flush().catch(() => undefined);
    await this.nc?.drain().catch(() => undefined);
  }

  private async connectLoop(): Promise<void> {
    while (!this.closed) {
      try {
        const nc = await connect({
          servers: this.natsUrl,
          name: `tersane-${this.layer}`,
          reconnect: true,
          maxReconnectAttempts: -1,
          reconnectTimeWait: RETRY_MS,
          waitOnFirstConnect: true,
          timeout: 2000,
          // A stack trace captured for every publish's request costs more than the publish itself.
          noAsyncTraces: true,
        });
        this.nc = nc;
        this.jsm = await nc.jetstreamManager();
        await this.ensureStream();
        this.js = nc.jetstream();
        this.online = true;
        this.log.info('connected to NATS', { url: this.natsUrl });
        void this.watchStatus(nc);
        for (const w of this.connectedWaiters.splice(0)) w();
        void this.flush();
        await nc.closed();
        this.online = false;
        this.nc = undefined;
        this.js = undefined;
      } catch (err) {
        if (!this.closed) this.log.warn('NATS connection failed; retrying', { err });
        this.nc?.close().catch(() => undefined);
        this.nc = undefined;
        this.js = undefined;
      }
      if (!this.closed) await sleep(RETRY_MS);
    }
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'reconnect') {
        this.metrics.reconnects?.();
        this.log.info('reconnected to NATS');
        // A restarted server may have lost the stream if its storage went away: make sure it exists.
        await this.ensureStream().catch((err) => this.log.warn('cannot ensure the event stream', { err }));
        this.online = true;
        for (const w of this.connectedWaiters.splice(0)) w();
        void this.flush();
      } else if (s.type === 'disconnect') {
        this.online = false;
        this.log.warn('disconnected from NATS; events wait in the outbox');
      }
    }
  }

  private async ensureStream(): Promise<void> {
    const jsm = this.jsm!;
    const config = {
      name: STREAM,
      subjects: STREAM_SUBJECTS,
      storage: StorageType.File,
      max_age: nanos(STREAM_MAX_AGE_MS),
      max_msgs: STREAM_MAX_MSGS,
      duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    };
    try {
      await jsm.streams.info(STREAM);
    } catch {
      try {
        await jsm.streams.add(config);
      } catch (err) {
        // Another layer created it in the meantime.
        await jsm.streams.info(STREAM).catch(() => {
          throw err;
        });
      }
    }
  }

  /** Publishes outbox rows in order until the outbox is empty or NATS fails. */
  private async flush(): Promise<void> {
    if (this.flushing) {
      this.flushAgain = true;
      return;
    }
    this.flushing = true;
    try {
      do {
        this.flushAgain = false;
        while (this.js) {
          const rows = this.pending.all(BATCH) as Array<{ seq: number; subject: string; payload: string }>;
          if (rows.length === 0) break;
          // Published rows leave the outbox in one statement per batch, not one per event: a crash
          // in between re-publishes them, and JetStream drops those by their message id.
          let published: number | undefined;
          for (const row of rows) {
            const h = headers();
            h.set('Nats-Msg-Id', `${this.layer}-${this.instance}-${row.seq}`);
            try {
              await this.js.publish(row.subject, row.payload, { headers: h, timeout: 5000 });
            } catch (err) {
              if (published !== undefined) this.removeUpTo.run(published);
              this.metrics.publishFailures?.();
              this.log.warn('event publish failed; kept in the outbox', { subject: row.subject, err });
              setTimeout(() => void this.flush(), RETRY_MS);
              return;
            }
            published = row.seq;
          }
          this.removeUpTo.run(published);
          // A short batch emptied the outbox; what was recorded since has set flushAgain.
          if (rows.length < BATCH) break;
        }
      } while (this.flushAgain && this.js);
    } finally {
      this.flushing = false;
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
