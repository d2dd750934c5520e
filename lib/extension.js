'use strict'
// `require('backup/extension')`: the base class of an app's backup extension, as
// OpenHarmony's @ohos.application.BackupExtensionAbility (also `BackupExtensionAbility` of
// @kit.CoreFileKit). A bundle names its class in bundle.json `extension.srcEntry`; the service
// runs it in a child process of its own (lib/extension-host.js), so nothing here runs in the
// backup client's process. The framework calls the hooks by name: a plain class with them
// runs too.
//
// Every hook may be synchronous or return a promise. The framework calls `onBackupEx` when
// the app defines it, else `onBackup`; likewise `onRestoreEx` / `onRestore`.

class BackupExtensionAbility {
  constructor() {
    // Set by the host before any hook runs: the app's sandbox paths on this machine.
    this.context = undefined
  }

  /** Prepare data before the backup is packed. */
  onBackup() {}

  /** Like onBackup, with the client's unicast `infos` details as a JSON string; return a
   * result string that reaches the client as `onResultReport`. */
  // onBackupEx(backupInfo) {}

  /** Re-import data after it was restored. `bundleVersion` is {code, name} of the backup. */
  onRestore(bundleVersion) {}

  /** Like onRestore, with the restore `infos` details as a JSON string; its result string
   * reaches the client as `onResultReport`. */
  // onRestoreEx(bundleVersion, restoreInfo) {}

  /** Progress while a hook runs: a string sent to the client as `onProcess`. */
  // onProcess() {}

  /** API 20: called when the bundle's backup (scenario 1) or restore (2) is complete, before
   * its onBundleEnd; it has 5 s to finish. */
  onRelease(scenario) {}

  /** A string that `backup.getBackupInfo(bundleName)` returns to the client. */
  getBackupInfo() {
    return ''
  }
}

module.exports = BackupExtensionAbility
module.exports.BackupExtensionAbility = BackupExtensionAbility
module.exports.default = BackupExtensionAbility
