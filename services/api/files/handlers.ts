/**
 * The container-file handlers (moby's router/container copy.go and the commit/rename/changes/export
 * routes): Docker's parameters and answers; nothing here reaches past FilesBackend.
 */
import type { FastifyReply } from 'fastify';
import { once } from 'node:events';
import { invalidArgument } from '../../../common/errors.js';
import { checkJsonContentType, MAX_JSON_BODY_BYTES, readBody } from '../body.js';
import { all, boolValue, first } from '../query.js';
import { clientGone, openStream, sendEmpty, sendJson } from '../respond.js';
import type { ApiRequest } from '../router.js';
import { versionAtLeast } from '../version.js';
import type { FilesBackend } from './backend.js';

/** How long the rest of a refused upload is read before the answer goes out anyway. */
const DRAIN_MS = 2000;

/** The header Docker carries a path's stat in (base64 of ContainerPathStat JSON). */
export const PATH_STAT_HEADER = 'X-Docker-Container-Path-Stat';

function archivePath(req: ApiRequest): string {
  const path = first(req.query, 'path') ?? '';
  if (path === '') throw invalidArgument('path is required');
  return path;
}

function hasBody(req: ApiRequest): boolean {
  const h = req.raw.headers;
  if (h['transfer-encoding'] !== undefined) return true;
  const length = h['content-length'];
  return length !== undefined && length !== '0';
}

export function fileHandlers(backend: FilesBackend) {
  return {
    async statPath(req: ApiRequest, reply: FastifyReply) {
      const stat = await backend.statPath(req.params.id, archivePath(req));
      reply.header(PATH_STAT_HEADER, stat.toString('base64'));
      sendEmpty(reply, 200);
    },

    async readArchive(req: ApiRequest, reply: FastifyReply) {
      const path = archivePath(req);
      const ac = clientGone(req.raw, reply);
      const read = await backend.readArchive(req.params.id, path, ac.signal);
      const out = openStream(reply, ac, 200, { 'Content-Type': 'application/x-tar', [PATH_STAT_HEADER]: read.stat.toString('base64') });
      try {
        for await (const piece of read.data) await out.write(piece);
      } catch {
        // The head is out: a broken tar is all the client can be told.
        out.fail();
        return;
      }
      out.end();
    },

    async writeArchive(req: ApiRequest, reply: FastifyReply) {
      const path = archivePath(req);
      const ac = clientGone(req.raw, reply);
      const body = req.raw.raw;
      try {
        await backend.writeArchive(
          {
            id: req.params.id,
            path,
            noOverwriteDirNonDir: boolValue(req.query, 'noOverwriteDirNonDir'),
            copyUidGid: boolValue(req.query, 'copyUIDGID'),
          },
          body as AsyncIterable<Buffer>,
          ac.signal,
        );
      } catch (err) {
        // A refusal can come before the whole tar is sent: the rest is read (for a while) so the
        // client, still writing, gets the answer rather than a broken connection.
        if (!body.readableEnded) {
          body.resume();
          await Promise.race([once(body, 'end'), once(body, 'close'), new Promise((r) => setTimeout(r, DRAIN_MS))]);
        }
        throw err;
      }
      sendEmpty(reply, 200);
    },

    async exportTar(req: ApiRequest, reply: FastifyReply) {
      const ac = clientGone(req.raw, reply);
      const it = backend.exportTar(req.params.id, ac.signal)[Symbol.asyncIterator]();
      // The first piece (or the refusal) before the head, so a refusal keeps its status.
      const head = await it.next();
      const out = openStream(reply, ac, 200, { 'Content-Type': 'application/x-tar' });
      try {
        if (!head.done) await out.write(head.value);
        for (;;) {
          const next = await it.next();
          if (next.done) break;
          await out.write(next.value);
        }
      } catch {
        out.fail();
        return;
      }
      out.end();
    },

    async changes(req: ApiRequest, reply: FastifyReply) {
      sendJson(reply, 200, await backend.changes(req.params.id));
    },

    async commit(req: ApiRequest, reply: FastifyReply) {
      const withBody = hasBody(req);
      checkJsonContentType(req.raw.headers['content-type'], withBody);
      const body = withBody ? await readBody(req.raw.raw, MAX_JSON_BODY_BYTES) : Buffer.alloc(0);
      // Before API 1.13 nothing was paused unless asked; since, pause unless pause=0.
      const pauseGiven = first(req.query, 'pause');
      const pause = pauseGiven === undefined || pauseGiven === '' ? versionAtLeast(req.version, '1.13') : boolValue(req.query, 'pause');
      const id = await backend.commit({
        container: first(req.query, 'container') ?? '',
        repo: first(req.query, 'repo') ?? '',
        tag: first(req.query, 'tag') ?? '',
        comment: first(req.query, 'comment') ?? '',
        author: first(req.query, 'author') ?? '',
        pause,
        changes: all(req.query, 'changes'),
        configJson: body,
      });
      sendJson(reply, 201, { Id: id });
    },

    async rename(req: ApiRequest, reply: FastifyReply) {
      await backend.rename(req.params.id, first(req.query, 'name') ?? '');
      sendEmpty(reply, 204);
    },
  };
}
