#!/usr/bin/env node
'use strict'
// A backup and restore of a sample device through an installed copy of the package:
//   node smoke-roundtrip.js <package name as required, e.g. backup or @ohos-node/backup>
// Run from a project that installed it (the registry test) or under qemu with an arm64 Node
// (scripts/check-binaries.js --qemu). Prints one JSON line; exits 1 unless every file came back.

const name = process.argv[2] || 'backup'
const device = require(`${name}/device`)
const { backupToDir, restoreFromDir } = require(`${name}/client`)
const fs = require('fs')
const os = require('os')
const path = require('path')

const APP = 'com.example.notes'

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'backup-smoke-'))
  try {
    const root = device.createDevice(path.join(work, 'device'))
    const files = { 'data/storage/el2/base/files/empty/': {}, 'data/storage/el2/base/files/big.bin': { size: 3 << 20 } }
    for (let i = 0; i < 50; i++) files[`data/storage/el2/base/files/notes/${i}.txt`] = `note ${i}\n`.repeat(i + 1)
    files['data/storage/el2/database/notes.db'] = { content: 'db', mode: 0o600, mtime: Date.UTC(2024, 0, 1) }
    device.installBundle(root, APP, { files })
    const before = device.snapshotTree(device.sandboxOf(root, APP))

    const out = path.join(work, 'out')
    const b = await backupToDir({ bundles: [APP], outDir: out, root })
    if (b.bundles[APP].error) throw new Error(`backup failed: ${JSON.stringify(b.bundles[APP].error)}`)
    device.wipeApp(root, APP)
    const r = await restoreFromDir({ inDir: out, root })
    if (r.bundles[APP].error) throw new Error(`restore failed: ${JSON.stringify(r.bundles[APP].error)}`)
    const diff = device.diffSnapshots(before, device.snapshotTree(device.sandboxOf(root, APP)))
    console.log(JSON.stringify({ arch: process.arch, node: process.version, backedUp: b.bytes, restored: r.bytes, parts: b.files, diff }))
    if (diff.length) process.exitCode = 1
  } finally {
    fs.rmSync(work, { recursive: true, force: true })
  }
}

main().catch((e) => {
  console.error(e.stack || e)
  process.exitCode = 1
})
