/**
 * What the containers routes need from the engine. The HTTP handlers call only this interface; the
 * daemon client adapter (../daemon-backend.ts) implements it over the daemon's gRPC contract.
 * Every failure is an EngineError whose kind maps to the HTTP status once (common/errors.ts).
 * Long calls take an AbortSignal: the client going away aborts them and whatever they hold below.
 */

export interface CreateOptions {
  /** Empty for a generated name. */
  name: string;
  /** Docker's ContainerCreate body, checked to be one JSON object, passed on as it came. */
  configJson: Buffer;
  /** The API version of the request ("1.50"): defaults changed across versions. */
  apiVersion: string;
  platform: string;
}

export interface StopOptions {
  id: string;
  /** Seconds before SIGKILL; undefined for the container's own StopTimeout. */
  timeout?: number;
  /** Empty for the container's StopSignal. */
  signal: string;
}

export interface WaitResult {
  statusCode: number;
  /** Docker's WaitExitError message; empty for none. */
  error: string;
}

export interface WaitHandle {
  /** Settles once the container reached the condition (or the wait failed). */
  result: Promise<WaitResult>;
}

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export interface AttachOptions {
  id: string;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

export type AttachEvent =
  | { kind: 'stdout'; data: Buffer }
  | { kind: 'stderr'; data: Buffer }
  | { kind: 'exit'; exitCode: number };

export interface AttachSession {
  /** The container has a terminal: one raw output stream, no multiplexing. */
  tty: boolean;
  /** Output from the moment the attachment was in place; ends when the process exits. */
  output: AsyncIterable<AttachEvent>;
  /** Sends stdin bytes; resolves when the daemon can take more (backpressure). */
  writeStdin(data: Buffer): Promise<void>;
  /** The client reached end of input. */
  closeStdin(): void;
  /** Cuts the attachment at once: the container is untouched. (A client going away aborts the
   * signal the session was opened with instead, which leaves as leave() does.) */
  detach(): void;
  /**
   * The detach keys were typed: the attachment ends once the stdin sent before them has reached
   * the process (an exec records Docker's exec_detach). The container is untouched.
   */
  leave(): void;
}

export interface LogsOptions {
  id: string;
  follow: boolean;
  stdout: boolean;
  stderr: boolean;
  /** Nanoseconds since the epoch; 0 for unbounded. */
  sinceNs: bigint;
  untilNs: bigint;
  timestamps: boolean;
  /** Number of last lines; -1 for all. */
  tail: number;
}

export interface LogLine {
  stream: 'stdout' | 'stderr';
  line: Buffer;
  /** RFC 3339 with nanoseconds. */
  time: string;
}

export interface ListOptions {
  all: boolean;
  limit: number;
  size: boolean;
  /** Docker's filters JSON in the legacy format ({"name":["x"]}), "" for none. */
  filters: string;
}

export interface ContainersBackend {
  create(opts: CreateOptions): Promise<{ id: string; warnings: string[] }>;
  start(id: string): Promise<{ notModified: boolean }>;
  stop(opts: StopOptions): Promise<{ notModified: boolean }>;
  restart(opts: StopOptions): Promise<void>;
  kill(id: string, signal: string): Promise<void>;
  remove(id: string, force: boolean, volumes: boolean): Promise<void>;
  /** Resolves once the wait is registered below (the CLI starts the container right after). */
  wait(id: string, condition: WaitCondition, abort: AbortSignal): Promise<WaitHandle>;
  /** Docker's inspect document, JSON. */
  inspect(id: string, size: boolean): Promise<Buffer>;
  /** Whether the container has a terminal (from its config). */
  hasTty(id: string): Promise<boolean>;
  list(opts: ListOptions): Promise<Buffer>;
  /** Resolves once the attachment is in place. */
  attach(opts: AttachOptions, abort: AbortSignal): Promise<AttachSession>;
  resize(id: string, rows: number, cols: number): Promise<void>;
  logs(opts: LogsOptions, abort: AbortSignal): AsyncIterable<LogLine>;
  /**
   * Resolves once the daemon opened the log (a refusal — no such container, `--log-driver none` —
   * rejects before anything is answered), with its lines in batches (what one read brings).
   */
  openLogs(opts: LogsOptions, abort: AbortSignal): Promise<AsyncIterable<LogLine[]>>;
  prune(filters: string): Promise<Buffer>;
}
