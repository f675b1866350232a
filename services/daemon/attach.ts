/**
 * The attach hub: per container, the clients attached to it (docker run, docker attach) and at
 * most one upstream attachment to the task through containerd (Tasks.Attach). Output fans out to
 * every client that asked for that stream; stdin goes up from the clients that asked for it.
 *
 * Docker's semantics kept here:
 *   - attaching to a container that is not running waits for its start: the client gets `ready`
 *     at once and output from the moment the task starts (the upstream is attached before
 *     Tasks.Start, so nothing is lost);
 *   - stdin sent before the start is held and delivered once the task is there
 *     (`echo hi | docker run -i busybox cat`);
 *   - when a client's input ends: with StdinOnce (and no tty) the container's stdin is closed;
 *     otherwise that client's attachment ends (Docker closes its output streams);
 *   - the task's exit ends every attachment with `exit`.
 *
 * @example
 *   const leave = await hub.join(id, client, running);
 *   hub.input(id, client, data);
 */
import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { Logger } from '../../common/log.js';
import { streamError } from '../../common/grpc.js';
import { endThenCancel } from '../../common/grpc-streams.js';
import type { AttachInput } from '../../common/proto-types/tersane/common/v1/AttachInput.js';
import type { AttachOutput__Output } from '../../common/proto-types/tersane/common/v1/AttachOutput.js';
import type { ExitStatus__Output } from '../../common/proto-types/tersane/common/v1/ExitStatus.js';
import type { ContainerdClients } from '../containerd/client.js';

export interface AttachClient {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** Delivers output to the client. */
  send(out: { stdout?: Buffer; stderr?: Buffer; exit?: ExitStatus__Output }): void;
  /** Ends the client's attachment (its output streams close). */
  end(): void;
}

export interface StdinPolicy {
  openStdin: boolean;
  stdinOnce: boolean;
  tty: boolean;
}

/** Bound on stdin held for a task that has not started yet. */
const MAX_PENDING_STDIN = 16 * 1024 * 1024;
/** How long to wait for containerd to confirm an attachment. */
export const UPSTREAM_READY_TIMEOUT_MS = 10_000;
/** Re-attaching after containerd went away: this many tries, this far apart. */
const REATTACH_ATTEMPTS = 40;
const REATTACH_DELAY_MS = 250;
/** How long a released upstream may take to end before it is cut. */
const UPSTREAM_LEAVE_GRACE_MS = 2_000;
/** How long an exit learnt elsewhere waits for the upstream to deliver the last output. */
export const UPSTREAM_EXIT_GRACE_MS = 2_000;

interface Upstream {
  call: ClientDuplexStream<AttachInput, AttachOutput__Output>;
  ready: Promise<void>;
  closed: boolean;
}

interface Hub {
  clients: Set<AttachClient>;
  upstream?: Upstream;
  pendingStdin: Buffer[];
  pendingBytes: number;
  pendingClose: boolean;
  policy: StdinPolicy;
}

export class AttachHubs {
  private readonly hubs = new Map<string, Hub>();

  constructor(
    private readonly containerd: ContainerdClients,
    private readonly log: Logger,
    /** Called when the upstream reports the task's exit (the fast path; NATS is the durable one). */
    private readonly onExit: (id: string, exit: ExitStatus__Output) => void,
    /** Whether the container still runs: a broken upstream (containerd restarted) is re-attached. */
    private readonly stillRunning: (id: string) => boolean = () => false,
  ) {}

  hasClients(id: string): boolean {
    return (this.hubs.get(id)?.clients.size ?? 0) > 0;
  }

  /** Whether connect() would open a new attachment now (clients, and no open one already). */
  needsUpstream(id: string): boolean {
    const hub = this.hubs.get(id);
    return Boolean(hub && hub.clients.size > 0 && !openUpstream(hub));
  }

  /**
   * Adds a client. When the task runs, resolves once the upstream attachment is in place; when it
   * does not, resolves at once (output starts with the next start).
   */
  async join(id: string, client: AttachClient, policy: StdinPolicy, running: boolean): Promise<() => void> {
    const hub = this.hub(id, policy);
    hub.policy = policy;
    hub.clients.add(client);
    const leave = () => this.leave(id, client);
    if (running) {
      try {
        await this.connect(id);
      } catch (err) {
        leave();
        throw err;
      }
    }
    return leave;
  }

  /**
   * Attaches upstream for a task about to start (or running), if any client is attached; resolves
   * once containerd confirms, so output produced from then on reaches the clients. With
   * `alongsideCreate` the attachment is sent while the task is still being created: the shim waits
   * for the creation, and the start saves the round trip of attaching afterwards.
   */
  async connect(id: string, opts: { alongsideCreate?: boolean } = {}): Promise<void> {
    const hub = this.hubs.get(id);
    if (!hub || hub.clients.size === 0) return;
    const open = openUpstream(hub);
    if (open) return open.ready;
    const tasks = this.containerd.tasks;
    await tasks.ready();
    const call = tasks.raw.Attach(tasks.metadata());
    let markReady!: () => void;
    let fail!: (err: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      fail = reject;
    });
    const upstream: Upstream = { call, ready, closed: false };
    hub.upstream = upstream;
    const timer = setTimeout(() => fail(new Error(`containerd did not confirm the attachment within ${UPSTREAM_READY_TIMEOUT_MS} ms`)), UPSTREAM_READY_TIMEOUT_MS);
    call.on('data', (out: AttachOutput__Output) => {
      if (out.ready) {
        clearTimeout(timer);
        markReady();
        this.flushStdin(id);
      } else if (out.stdout) this.fanOut(id, 'stdout', out.stdout);
      else if (out.stderr) this.fanOut(id, 'stderr', out.stderr);
      else if (out.exit) {
        upstream.closed = true;
        this.onExit(id, out.exit);
        this.exit(id, out.exit);
      }
    });
    const broken = (err: Error) => {
      clearTimeout(timer);
      const ours = upstream.closed;
      upstream.closed = true;
      fail(err);
      if (hub.upstream !== upstream) return;
      hub.upstream = undefined;
      if (!ours) {
        // A layer below restarted: output written until the re-attachment is in the container's
        // log, not in this stream. Say so rather than drop it silently.
        this.fanOut(id, 'stderr', Buffer.from(`tersane: the attachment was interrupted (${err.message}); output written meanwhile is in \`docker logs\`\n`));
        this.reattach(id, hub);
      }
    };
    call.on('error', (err) => broken(streamError('containerd', err)));
    call.on('end', () => broken(new Error('containerd ended the attachment')));
    call.write({
      open: { id, stdin: hub.policy.openStdin, stdout: true, stderr: true, wait_for_create: Boolean(opts.alongsideCreate) },
    });
    await ready;
  }

  /** Input from one client. */
  input(id: string, client: AttachClient, data: Buffer): void {
    const hub = this.hubs.get(id);
    if (!hub || !client.stdin || !hub.policy.openStdin) return;
    const direct = this.directUpstream(hub);
    if (direct) {
      direct.call.write({ stdin: data });
      return;
    }
    if (hub.pendingBytes + data.length > MAX_PENDING_STDIN) {
      this.log.warn('dropping stdin held for a container that has not started', { id, bytes: data.length });
      return;
    }
    hub.pendingStdin.push(data);
    hub.pendingBytes += data.length;
  }

  /** One client's input ended (or the client went away while it had stdin). */
  inputEnded(id: string, client: AttachClient): void {
    const hub = this.hubs.get(id);
    if (!hub || !client.stdin) return;
    if (hub.policy.stdinOnce && !hub.policy.tty) {
      const direct = this.directUpstream(hub);
      if (direct) direct.call.write({ close_stdin: true });
      else hub.pendingClose = true;
      return;
    }
    // Docker: without StdinOnce, the end of a client's input ends that client's attachment.
    client.end();
    this.leave(id, client);
  }

  /**
   * The task exited, as learnt from NATS or a wait rather than from the upstream itself. The
   * upstream may still carry the last output (it travels another path): it gets a moment to
   * deliver it and its own `exit` before the clients are ended here.
   */
  exitFromElsewhere(id: string, exit: ExitStatus__Output): void {
    const hub = this.hubs.get(id);
    if (!hub) return;
    if (!openUpstream(hub)) return this.exit(id, exit);
    setTimeout(() => {
      if (this.hubs.get(id) === hub) this.exit(id, exit);
    }, UPSTREAM_EXIT_GRACE_MS).unref();
  }

  /** The task exited: every client gets `exit`, then its attachment ends. */
  exit(id: string, exit: ExitStatus__Output): void {
    const hub = this.hubs.get(id);
    if (!hub) return;
    this.hubs.delete(id);
    if (hub.upstream) {
      hub.upstream.closed = true;
      hub.upstream.call.cancel();
      hub.upstream = undefined;
    }
    for (const c of [...hub.clients]) {
      c.send({ exit });
      c.end();
    }
    hub.clients.clear();
  }

  /** The container is gone: attachments end without an exit status. */
  removed(id: string): void {
    const hub = this.hubs.get(id);
    if (!hub) return;
    this.hubs.delete(id);
    hub.upstream?.call.cancel();
    for (const c of hub.clients) c.end();
  }

  private readyHubs = new WeakSet<Upstream>();

  /** The upstream broke under running clients (containerd restarted): attach again, a few times. */
  private reattach(id: string, hub: Hub, attempt = 1): void {
    if (attempt > REATTACH_ATTEMPTS) return;
    setTimeout(() => {
      if (this.hubs.get(id) !== hub || hub.clients.size === 0 || hub.upstream || !this.stillRunning(id)) return;
      this.connect(id).catch(() => this.reattach(id, hub, attempt + 1));
    }, REATTACH_DELAY_MS).unref();
  }

  private isReady(hub: Hub): boolean {
    return hub.upstream !== undefined && this.readyHubs.has(hub.upstream);
  }

  /** The upstream that input may go to at once: open, confirmed, and with no held input before it. */
  private directUpstream(hub: Hub): Upstream | undefined {
    const open = openUpstream(hub);
    return open && hub.pendingStdin.length === 0 && this.isReady(hub) ? open : undefined;
  }

  private flushStdin(id: string): void {
    const hub = this.hubs.get(id);
    if (!hub?.upstream) return;
    this.readyHubs.add(hub.upstream);
    for (const chunk of hub.pendingStdin) hub.upstream.call.write({ stdin: chunk });
    hub.pendingStdin = [];
    hub.pendingBytes = 0;
    if (hub.pendingClose) {
      hub.upstream.call.write({ close_stdin: true });
      hub.pendingClose = false;
    }
  }

  private fanOut(id: string, stream: 'stdout' | 'stderr', data: Buffer): void {
    const hub = this.hubs.get(id);
    if (!hub) return;
    for (const c of hub.clients) if (c[stream]) c.send({ [stream]: data });
  }

  private hub(id: string, policy: StdinPolicy): Hub {
    let hub = this.hubs.get(id);
    if (!hub) {
      hub = { clients: new Set(), pendingStdin: [], pendingBytes: 0, pendingClose: false, policy };
      this.hubs.set(id, hub);
    }
    return hub;
  }

  private leave(id: string, client: AttachClient): void {
    const hub = this.hubs.get(id);
    if (!hub) return;
    hub.clients.delete(client);
    if (hub.clients.size > 0) return;
    // Nobody is listening: let go of the upstream; a later attach opens a new one. Gracefully, so
    // the stdin just written up still reaches the process; containerd and the shim end the call.
    this.hubs.delete(id);
    const upstream = hub.upstream;
    if (!upstream) return;
    upstream.closed = true;
    hub.upstream = undefined;
    endThenCancel(upstream.call as ClientDuplexStream<unknown, unknown>, UPSTREAM_LEAVE_GRACE_MS);
  }
}

/** The hub's upstream attachment while it is open. */
function openUpstream(hub: Hub): Upstream | undefined {
  return hub.upstream && !hub.upstream.closed ? hub.upstream : undefined;
}
