// Types of `backup/incremental-client` (lib/incremental-client.js).

export interface IncrementalRequest {
  bundleName: string
  /** Seconds since the epoch: only files modified after it are candidates; 0 = every file.
   * Use the previous run's `startedAt`. */
  lastIncrementalTime: number
  /** Path of the previous run's full listing (`summary.bundles[name].listing`, a
   * `manage.json.rp`); undefined or null: no baseline, every candidate travels. */
  baseline?: string | null
  /** Passed through as `IncrementalBackupData.parameters`. */
  parameters?: string
  /** Passed through as `IncrementalBackupData.priority` (larger first). */
  priority?: number
}

export interface IncrementalBundleSummary {
  /** The uris received, in delivery order (`manage.json` last); each is in
   * `<outDir>/<bundle>/<uri>` with its report in `<uri>.rp`. */
  files: string[]
  /** Bytes of those files (reports not counted). */
  bytes: number
  /** The bundle's first failure, or null. */
  error: null | { code: number; message: string }
  /** `<outDir>/<bundle>/manage.json.rp`, the next run's `baseline`; null when the bundle failed. */
  listing: string | null
  /** What the app's onBackupEx returned, when it returned something. */
  result?: string
}

export interface IncrementalSummary {
  bundles: Record<string, IncrementalBundleSummary>
  /** Seconds: the next run's `lastIncrementalTime`. It is the second before the run started,
   * so a file changed during that second is looked at again (hashed; sent only if it differs). */
  startedAt: number
  files: number
  bytes: number
  ms: number
}

export interface IncrementalBackupOptions {
  bundles: IncrementalRequest[]
  /** Each bundle's files go to `<outDir>/<bundleName>/` (an old folder of that name is replaced). */
  outDir: string
  /** One JSON string per bundle (the `infos` of appendBundles), paired by index. */
  infos?: string[]
  /** Device root for this run (sets BACKUP_DEVICE_ROOT while the session is created). */
  root?: string
}

/** One incremental backup into a folder that `restoreFromDir` of `backup/client` replays. */
export function incrementalBackupToDir(options: IncrementalBackupOptions): Promise<IncrementalSummary>
