'use strict'
// `backup/incremental-client`: one incremental backup run into a folder, on top of the
// documented `IncrementalBackupSession` (ohos-behaviour.md §1.3, §3.2, §3.4).
//
// Every file the service delivers lands in `<outDir>/<bundle>/<uri>` and its report (the fd
// in `manifestFd`) in `<outDir>/<bundle>/<uri>.rp`:
//   <ms>_part.<N>.tar  + .rp   the tar and the list of what it holds
//   <16 hex>           + .rp   a big file and its one-line report (where it goes back)
//   manage.json        + .rp   the index and the full listing: the next run's baseline
// That folder is exactly what `restoreFromDir` of `backup/client` plays back; restore a
// chain (full, then each incremental) by calling it once per folder, in order.

const { backupToDir } = require('./client.js')
const { native } = require('./native.js')

function checkRequests(bundles) {
  if (!Array.isArray(bundles) || bundles.length === 0) {
    throw new TypeError('bundles must be a non-empty array of { bundleName, lastIncrementalTime, baseline? }')
  }
  const seen = new Set()
  return bundles.map((b, i) => {
    if (!b || typeof b !== 'object') throw new TypeError(`bundles[${i}] must be an object`)
    // The device's rule (src/device/names.rs), before a folder of that name is replaced.
    const problem = native.bundleNameProblem(b.bundleName)
    if (problem) throw new TypeError(`bundles[${i}].bundleName: ${problem}`)
    if (seen.has(b.bundleName)) throw new TypeError(`bundles[${i}]: ${b.bundleName} is listed twice`)
    seen.add(b.bundleName)
    if (b.baseline !== undefined && b.baseline !== null && (typeof b.baseline !== 'string' || b.baseline === '')) {
      throw new TypeError(`bundles[${i}].baseline must be the path of a previous run's manage.json.rp, or undefined`)
    }
    // lastIncrementalTime is checked by the service itself (401), as the docs say.
    return b
  })
}

/**
 * Runs one incremental backup of `bundles` into `outDir`. A bundle's old folder in `outDir` is
 * replaced (its baseline, if it lives there, is opened first). Resolves once the session has
 * ended and been released, with
 * `{ bundles: { [name]: { files, bytes, error, listing } }, startedAt, files, bytes, ms }`:
 * - `files`: the uris received, in delivery order (`manage.json` last), each with `<uri>.rp`;
 * - `bytes`: bytes of those files (reports not counted);
 * - `error`: null, or `{ code, message }` of the first failure of that bundle;
 * - `listing`: path of `manage.json.rp` (the next run's `baseline`), or null when the bundle
 *   failed or sent no manage.json;
 * - `startedAt`: seconds, the next run's `lastIncrementalTime` (see index.d.ts of this file).
 * Rejects when the session fails as a whole, or with the service's BusinessError (code 401)
 * when it refuses the request (e.g. a lastIncrementalTime that is not a number).
 */
async function incrementalBackupToDir({ bundles, outDir, infos, root } = {}) {
  // The session, the copies and the summary are backupToDir's, which runs an incremental
  // session when given these request objects.
  return backupToDir({ bundles: checkRequests(bundles), outDir, infos, root })
}

module.exports = { incrementalBackupToDir }
