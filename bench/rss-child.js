'use strict'
// Run by bench/run.js in a child process of its own, so that its peak RSS (VmHWM) is that
// of a Node process doing nothing but this: `node bench/rss-child.js backup <bundle>` backs
// the bundle up through the API, reading every fd to EOF; `idle` only loads the addon.
// Prints one JSON line: { peakRss (bytes), files, bytes, errors }.

const { runBackup, peakRss, backup } = require('./api')

async function main() {
  const [mode, bundle] = process.argv.slice(2)
  let stats = { files: 0, bytes: 0, errors: [] }
  if (mode === 'backup') stats = await runBackup({ bundles: [bundle] })
  else if (mode !== 'idle') throw new Error(`unknown mode ${mode}`)
  else backup.getBackupVersion()
  process.stdout.write(JSON.stringify({ peakRss: peakRss(), ...stats }) + '\n')
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
