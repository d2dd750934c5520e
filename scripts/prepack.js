#!/usr/bin/env node
'use strict'
// The prepack guard: `npm pack` (and so `npm publish`) of a package tree that would not load
// once installed fails here, loudly, instead of producing a tarball that dies at require().
// A tree loads when its package.json names every platform package of lib/platforms.js as an
// optionalDependency of exactly its version, and the host's platform binary, installed beside
// it as npm would, actually loads and answers getBackupVersion(). scripts/package.js calls it
// on the staged main package; `npm pack` in the repository runs it as the prepack script, and
// it fails there, because the repository's package.json gets those dependencies only at
// packaging time (they are not on the registry while a clone is installed).

const { spawnSync } = require('child_process')
const fs = require('fs')
const path = require('path')
const { PLATFORMS, packageOf, platformName } = require('../lib/platforms.js')

const ROOT = path.join(__dirname, '..')

class PackError extends Error {}

function checkManifest(pkg) {
  const deps = pkg.optionalDependencies || {}
  const missing = PLATFORMS.map((p) => packageOf(pkg.name, p.name)).filter((name) => deps[name] !== pkg.version)
  if (missing.length) {
    throw new PackError(
      `${pkg.name}@${pkg.version} would install without a native binary: its package.json does not name ` +
        `${missing.map((m) => `${m}@${pkg.version}`).join(', ')} as optionalDependencies. ` +
        'Make the tarballs with `npm run package` (it builds every platform and writes them into dist/).',
    )
  }
}

// Lays the host's platform package out under <dir>/node_modules as npm would, and loads the
// package from a fresh Node.
function checkLoads(dir, pkg, binaries) {
  const host = platformName()
  const platform = PLATFORMS.find((p) => p.name === host)
  if (!platform) throw new PackError(`cannot check that the package loads: this machine (${host}) has no platform package`)
  const from = path.join(binaries, host)
  const binary = path.join(from, `backup.${host}.node`)
  if (!fs.existsSync(binary)) throw new PackError(`${binary} is missing: build it with \`npm run package\``)
  const link = path.join(dir, 'node_modules', packageOf(pkg.name, host))
  fs.mkdirSync(path.dirname(link), { recursive: true })
  fs.symlinkSync(from, link, 'dir')
  try {
    const probe = `const b = require(${JSON.stringify(dir)}); if (typeof b.SessionBackup !== 'function') throw new Error('no SessionBackup'); console.log(b.getBackupVersion())`
    // The runtime dependencies come from the repository's node_modules, as npm would install them.
    const env = { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules') }
    const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', env })
    if (r.status !== 0) throw new PackError(`${pkg.name} does not load with ${packageOf(pkg.name, host)}:\n${r.stderr.trim()}`)
  } finally {
    fs.rmSync(path.join(dir, 'node_modules'), { recursive: true, force: true })
  }
}

/** Throws a PackError unless the package tree at `dir` loads once installed. */
function guard(dir, { binaries = path.join(ROOT, 'npm') } = {}) {
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))
  checkManifest(pkg)
  checkLoads(dir, pkg, binaries)
}

if (require.main === module) {
  try {
    guard(process.cwd())
  } catch (e) {
    console.error(`\n*** npm pack refused: ${e.message}\n`)
    process.exitCode = 1
  }
}

module.exports = { guard, PackError }
