'use strict'
// Run by bench/run.js in a child process of its own, so that its peak RSS (VmHWM) is that
// of a Node process doing nothing but this:
//   node bench/rss-child.js backup <bundle>[,<bundle>…] [saveDir]   back up through the API, reading every fd to EOF
//   node bench/rss-child.js restore <bundle> <inDir>                 restore what a backup saved in inDir
//   node bench/rss-child.js idle                                     only load the addon
// Prints one JSON line: { peakRss (bytes), servicePeakRss, seconds (the API work alone), files,
// bytes, errors }. servicePeakRss is the device's service process's VmHWM (it holds the
// bundle's per-file state; bench/run.js stops it before each sample, so the value is this
// sample's), null with BACKUP_SERVICE=inprocess, where peakRss covers both.

const { runBackup, runRestore, peakRss, backup, native } = require('./api')

function servicePeakRss() {
  if (process.env.BACKUP_SERVICE === 'inprocess') return null
  const status = native.serviceStatus(process.env.BACKUP_DEVICE_ROOT)
  return status === null ? null : peakRss(JSON.parse(status).pid)
}

async function main() {
  const [mode, list, dir] = process.argv.slice(2)
  let stats = { files: 0, bytes: 0, errors: [] }
  const t0 = process.hrtime.bigint()
  if (mode === 'backup') stats = await runBackup({ bundles: list.split(','), saveDir: dir })
  else if (mode === 'restore') stats = await runRestore({ bundles: list.split(','), inDir: dir })
  else if (mode === 'idle') backup.getBackupVersion()
  else throw new Error(`unknown mode ${mode}`)
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  const service = mode === 'idle' ? null : servicePeakRss()
  process.stdout.write(JSON.stringify({ peakRss: peakRss(), servicePeakRss: service, seconds, ...stats }) + '\n')
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
