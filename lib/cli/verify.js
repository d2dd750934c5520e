'use strict'
// `ohos-backup verify <dir>...`: checks backup folders completely, like `restic check`: every
// tar parses, every file manage.json names is there with its size and hash, every .rp line
// agrees, and for an incremental chain (folders given oldest first) every file of each run's
// full listing is held by the chain. The checking is the addon's (src/engine/verify.rs);
// this prints a per-bundle report and exits 1 when anything is wrong.

const fs = require('fs')
const path = require('path')

// `UsageError` is the CLI's (exit code 2).
async function verify(values, args, UsageError = Error) {
  if (args.length === 0) throw new UsageError('verify needs at least one backup folder')
  const folders = args.map((a) => path.resolve(a))
  for (const f of folders) {
    if (!fs.statSync(f, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`no backup folder ${f}`)
  }
  const { native } = require('../native.js')
  const checks = native.verifyBackup(folders)
  const bad = checks.filter((c) => c.problems.length > 0)
  if (values.json) {
    console.log(JSON.stringify({ ok: bad.length === 0, bundles: checks }, null, 2))
  } else {
    for (const c of checks) {
      const kind = c.incremental ? 'incremental' : 'full'
      const status = c.problems.length ? `${c.problems.length} problem(s)` : 'ok'
      console.log(`${c.bundle || '(none)'}  ${c.folder}  ${kind}  ${c.files} files  ${c.bytes} bytes  ${status}`)
      for (const p of c.problems) console.log(`  - ${p}`)
    }
    const total = checks.reduce((n, c) => n + c.problems.length, 0)
    console.log(bad.length ? `${bad.length} of ${checks.length} bundle folder(s) damaged, ${total} problem(s)` : `no problems found in ${checks.length} bundle folder(s)`)
  }
  return bad.length ? 1 : 0
}

module.exports = { verify }
