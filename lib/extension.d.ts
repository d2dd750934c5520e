// Types of `backup/extension` (and `@ohos.application.BackupExtensionAbility`): the base class
// of an app's backup extension, with its context and the bundle version its onRestore gets.

type MaybePromise<T> = T | Promise<T>

declare class BackupExtensionAbility {
  context: BackupExtensionAbility.BackupExtensionContext
  onBackup(): MaybePromise<void>
  onBackupEx?(backupInfo: string): MaybePromise<string | void>
  onRestore(bundleVersion: BackupExtensionAbility.BundleVersion): MaybePromise<void>
  onRestoreEx?(bundleVersion: BackupExtensionAbility.BundleVersion, restoreInfo: string): MaybePromise<string | void>
  onProcess?(): MaybePromise<string>
  /** API 20: 1 when the bundle's backup is complete, 2 when its restore is; 5 s to finish. */
  onRelease(scenario: number): MaybePromise<void>
  getBackupInfo(): MaybePromise<string>
}

// The types go with the class, so both `import BackupExtensionAbility from …` and
// `import { BundleVersion } from …` work.
declare namespace BackupExtensionAbility {
  interface BackupExtensionContext {
    bundleName: string
    /** The encryption area (contextConstant.AreaMode): EL1 = 0, EL2 = 1 (default), …; switching
     * it moves filesDir, cacheDir, tempDir, preferencesDir and databaseDir to data/storage/el<N>/. */
    area: number
    /** The sandbox root on this machine ("/" as the app sees it). */
    sandboxDir: string
    filesDir: string
    cacheDir: string
    tempDir: string
    databaseDir: string
    preferencesDir: string
    distributedFilesDir: string
    bundleCodeDir: string
    /** `.backup/restore/`: where a fullBackupOnly restore leaves the data for the app. */
    backupDir: string
  }

  interface BundleVersion {
    code: number
    name: string
  }

  const BackupExtensionAbility: typeof import('./extension')
}

export = BackupExtensionAbility
