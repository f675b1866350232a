/**
 * Docker's human status strings, as `docker ps` shows them ("Up 3 seconds", "Exited (3) 2 seconds
 * ago", "Created"), computed at list time from the container's state.
 *
 * @example
 *   humanDuration(90_000);  // "About a minute"
 */

/** go-units' HumanDuration: seconds and minutes truncate, hours round. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hoursExact = ms / 3_600_000;
  const hours = Math.floor(hoursExact + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(Math.floor(hoursExact) / 24 / 365)} years`;
}

export interface StatusInput {
  status: string;
  exitCode: number;
  startedAtMs: number | undefined;
  finishedAtMs: number | undefined;
  /** State.Health's status, for a container with a healthcheck. */
  health?: string;
}

/** The STATUS column: first matching rule of Docker's State.String(). */
export function statusString(s: StatusInput, nowMs: number): string {
  switch (s.status) {
    case 'paused':
      return `Up ${humanDuration(nowMs - (s.startedAtMs ?? nowMs))} (Paused)`;
    case 'restarting':
      return `Restarting (${s.exitCode}) ${humanDuration(nowMs - (s.finishedAtMs ?? nowMs))} ago`;
    case 'running':
      // Health.String(): "health: starting", else the status itself.
      if (s.health) return `Up ${humanDuration(nowMs - (s.startedAtMs ?? nowMs))} (${s.health === 'starting' ? 'health: starting' : s.health})`;
      return `Up ${humanDuration(nowMs - (s.startedAtMs ?? nowMs))}`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
  }
  if (s.startedAtMs === undefined) return 'Created';
  if (s.finishedAtMs === undefined) return '';
  return `Exited (${s.exitCode}) ${humanDuration(nowMs - s.finishedAtMs)} ago`;
}
