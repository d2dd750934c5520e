// Types of `backup/extension` (lib/extension.js): `const BackupExtensionAbility = require('backup/extension')`
// or `import BackupExtensionAbility = require('backup/extension')`.

interface BackupExtensionContext {
  bundleName: string
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

type MaybePromise<T> = T | Promise<T>

declare class BackupExtensionAbility {
  context: BackupExtensionContext
  onBackup(): MaybePromise<void>
  onBackupEx?(backupInfo: string): MaybePromise<string | void>
  onRestore(bundleVersion: BundleVersion): MaybePromise<void>
  onRestoreEx?(bundleVersion: BundleVersion, restoreInfo: string): MaybePromise<string | void>
  onProcess?(): MaybePromise<string>
  onRelease(scenario?: number): MaybePromise<void>
  getBackupInfo(): MaybePromise<string>
}

declare namespace BackupExtensionAbility {
  export { BackupExtensionContext, BundleVersion }
}

export = BackupExtensionAbility
