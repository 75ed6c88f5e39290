// The archive as `mxhook serve` runs it: the engine MXHOOK_ARCHIVE names, the middleware that fills
// it, the route that serves its by-reference URLs (directory engine), retention and readiness.
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/types.ts';
import type { Middleware } from '../middleware.ts';
import { WritableCheck } from '../outbound/outbound.ts';
import type { Archive } from './archive.ts';
import { DirectoryArchive } from './directory-archive.ts';
import { keepMessages } from './keep-messages.ts';
import { type RawRoute, rawMessageRoute } from './raw-route.ts';
import { RawUrlSigner, rawUrlKeyOf } from './raw-url.ts';
import { S3Archive } from './s3-archive.ts';
import { Sweeper } from './sweeper.ts';

export interface RunningArchive {
  readonly archive: Archive;
  /** Inside Return-Path, so the archive keeps the bytes the function got. */
  readonly middleware: Middleware;
  /** The by-reference route for the HTTP listener; null when the object store serves the URLs. */
  readonly route: RawRoute | null;
  /** False while the archive cannot be written (for /readyz). */
  ready(): boolean;
  stop(): Promise<void>;
}

/**
 * Null without MXHOOK_ARCHIVE. `publicUrl` is where functions reach the HTTP listener, asked when a
 * URL is signed (the listener's port is known only once it listens).
 */
export async function startArchive(
  config: GatewayConfig,
  log: Logger,
  signingKey: KeyObject,
  publicUrl: () => string,
): Promise<RunningArchive | null> {
  const location = config.archive;
  if (location === null) return null;
  let archive: Archive;
  let route: RawRoute | null = null;
  if (location.kind === 'directory') {
    // Served on the HTTP listener, which loadConfig requires with a directory archive.
    const urls = new RawUrlSigner(rawUrlKeyOf(signingKey), publicUrl);
    archive = await DirectoryArchive.open(location.path, urls);
    route = rawMessageRoute(archive, urls);
  } else {
    archive = new S3Archive(location);
  }
  const writable = new WritableCheck(archive, log, 'archive');
  const sweeper = config.retentionDays > 0 ? new Sweeper(archive, config.retentionDays, log) : null;
  sweeper?.start();
  log.info(
    {
      archive: location.kind,
      retentionDays: config.retentionDays,
      inlineMax: config.inlineMaxBytes,
    },
    'archive open',
  );
  return {
    archive,
    middleware: keepMessages({
      archive,
      inlineMaxBytes: config.inlineMaxBytes,
      failed: () => writable.failed(),
      log,
    }),
    route,
    ready: () => writable.ok,
    async stop() {
      writable.close();
      await sweeper?.stop();
      await archive.close();
    },
  };
}
