// Types of `backup/client` (lib/client.js): a complete backup client on top of the documented API.

import type { IncrementalRequest } from './incremental-client'

export interface BundleError {
  /** The BusinessError code (e.g. 13500001 refused, 13500005 no extension). */
  code: number
  message: string
}

export interface BackupBundleSummary {
  /** The uris received (tar parts, big files, `manage.json` last); each is `<outDir>/<bundle>/<uri>`. */
  files: string[]
  /** Bytes of those files (`.rp` reports not counted). */
  bytes: number
  /** The bundle's first failure, or null. */
  error: BundleError | null
  /** What the app's onBackupEx returned, when it returned something. */
  result?: string
  /** Incremental runs: `<outDir>/<bundle>/manage.json.rp`, the next run's baseline; null when the bundle failed. */
  listing?: string | null
}

export interface BackupSummary {
  bundles: Record<string, BackupBundleSummary>
  /** The number of uris received over all bundles. */
  files: number
  bytes: number
  ms: number
  /** Seconds: the next incremental run's `lastIncrementalTime`. */
  startedAt: number
}

export interface BackupToDirOptions {
  /** Bundle names, or incremental requests (which make it an incremental backup). */
  bundles: string[] | IncrementalRequest[]
  /** Each bundle's files go to `<outDir>/<bundleName>/` (an old folder of that name is replaced). */
  outDir: string
  /** One JSON string per bundle (the `infos` of appendBundles), paired by index. */
  infos?: string[]
  /** Device root for this run (sets BACKUP_DEVICE_ROOT while the session is created). */
  root?: string
}

export interface RestoreBundleSummary {
  error: BundleError | null
  /** The number of uris published for the bundle. */
  files: number
  bytes: number
  /** What the app's onRestoreEx returned, when it returned something. */
  result?: string
}

export interface RestoreSummary {
  bundles: Record<string, RestoreBundleSummary>
  files: number
  bytes: number
  ms: number
}

export interface RestoreFromDirOptions {
  /** A folder written by `backupToDir`. */
  inDir: string
  /** Default: every sub-folder of `inDir`. */
  bundles?: string[]
  /** One JSON string per bundle (the restore `infos`, e.g. `{"applyDeletions": true}`). */
  infos?: string[]
  root?: string
}

/** Backs up `bundles` into `outDir/<bundle>/<uri>`; rejects only when the session itself fails. */
export function backupToDir(options: BackupToDirOptions): Promise<BackupSummary>
/** Plays a `backupToDir` folder back through a SessionRestore (manage.json last). */
export function restoreFromDir(options: RestoreFromDirOptions): Promise<RestoreSummary>
/** The data files of a backed-up bundle folder: everything but the `<uri>.rp` reports, manage.json last. */
export function bundleFiles(dir: string): string[]
