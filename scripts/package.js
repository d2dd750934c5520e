#!/usr/bin/env node
'use strict'
// `npm run package`: release-builds the addon for every platform of lib/platforms.js on this
// x86-64 machine (cargo-zigbuild, zig as the cross linker and libc provider), checks each
// binary (scripts/check-binaries.js), and writes ready-to-publish tarballs into dist/: one per
// platform package (npm/<platform>/) and the main package, whose package.json gains the
// optionalDependencies that name them. Prints each tarball's name and size.
//
//   node scripts/package.js            every platform
//   node scripts/package.js --host     only this machine's platform (what the registry test uses)
//   node scripts/package.js --targets linux-x64-gnu,linux-arm64-gnu
//   node scripts/package.js --out <dir>   tarballs into <dir> instead of dist/

const fs = require('fs')
const os = require('os')
const path = require('path')
const { parseArgs } = require('util')
const { PLATFORMS, packageOf, platformName } = require('../lib/platforms.js')
const { ensureToolchain, run } = require('./toolchain.js')
const { checkBinary } = require('./check-binaries.js')
const { guard } = require('./prepack.js')

const ROOT = path.join(__dirname, '..')
const main = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))

// What a user's install needs of package.json; scripts, dev tooling and Jest's settings stay
// in the repository.
const PUBLISHED_FIELDS = ['name', 'version', 'description', 'main', 'types', 'license', 'exports', 'bin', 'files', 'dependencies', 'engines', 'publishConfig']

function selectedPlatforms(values) {
  if (values.host) {
    const host = PLATFORMS.find((p) => p.name === platformName())
    if (!host) throw new Error(`this machine (${platformName()}) is not one of the platforms of lib/platforms.js`)
    return [host]
  }
  if (!values.targets) return PLATFORMS
  return values.targets.split(',').map((name) => {
    const p = PLATFORMS.find((q) => q.name === name)
    if (!p) throw new Error(`unknown target ${name}: one of ${PLATFORMS.map((q) => q.name).join(', ')}`)
    return p
  })
}

// A platform package must carry the main package's version: the main package asks for it exactly.
function checkVersions() {
  const wrong = PLATFORMS.map((p) => [p, JSON.parse(fs.readFileSync(path.join(ROOT, 'npm', p.name, 'package.json'), 'utf8'))]).filter(
    ([p, pkg]) => pkg.version !== main.version || pkg.name !== packageOf(main.name, p.name),
  )
  if (wrong.length) {
    throw new Error(
      wrong.map(([p, pkg]) => `npm/${p.name}/package.json is ${pkg.name}@${pkg.version}, expected ${packageOf(main.name, p.name)}@${main.version}`).join('\n'),
    )
  }
}

function build(platform) {
  console.log(`building ${platform.name} (${platform.zigTarget}, release)`)
  const env = { ...process.env }
  // Rust's musl targets link libc statically by default, which a cdylib cannot do: link
  // musl's libc.so like Node itself does on Alpine.
  if (platform.triple.endsWith('-musl')) env[`CARGO_TARGET_${platform.triple.toUpperCase().replace(/-/g, '_')}_RUSTFLAGS`] = '-C target-feature=-crt-static'
  run('cargo', ['zigbuild', '--release', '--lib', '--target', platform.zigTarget], { cwd: ROOT, env })
  const built = path.join(ROOT, 'target', platform.triple, 'release', 'libbackup.so')
  const dest = path.join(ROOT, 'npm', platform.name, `backup.${platform.name}.node`)
  fs.copyFileSync(built, dest)
  return dest
}

function pack(dir, dist) {
  const out = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dist], { cwd: dir, capture: true })
  const [{ filename }] = JSON.parse(out)
  return path.join(dist, filename)
}

// The main package as published: its files, and a package.json that names the platform
// packages as optionalDependencies of exactly this version.
function stageMain() {
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'backup-package-'))
  const pkg = {}
  for (const k of PUBLISHED_FIELDS) if (main[k] !== undefined) pkg[k] = main[k]
  pkg.optionalDependencies = Object.fromEntries(PLATFORMS.map((p) => [packageOf(main.name, p.name), main.version]))
  fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(pkg, null, 2) + '\n')
  for (const f of [...main.files, 'README.md']) fs.cpSync(path.join(ROOT, f), path.join(stage, f), { recursive: true })
  return stage
}

function main_(argv) {
  const { values } = parseArgs({ args: argv, options: { host: { type: 'boolean' }, targets: { type: 'string' }, out: { type: 'string' } } })
  const dist = path.resolve(values.out || path.join(ROOT, 'dist'))
  const platforms = selectedPlatforms(values)
  checkVersions()
  ensureToolchain(platforms)
  for (const p of platforms) checkBinary(p, build(p))

  fs.rmSync(dist, { recursive: true, force: true })
  fs.mkdirSync(dist, { recursive: true })
  const tarballs = platforms.map((p) => pack(path.join(ROOT, 'npm', p.name), dist))
  const stage = stageMain()
  try {
    guard(stage, { binaries: path.join(ROOT, 'npm') })
    tarballs.unshift(pack(stage, dist))
  } finally {
    fs.rmSync(stage, { recursive: true, force: true })
  }
  console.log(`\ntarballs in ${path.relative(process.cwd(), dist) || '.'}/:`)
  for (const t of tarballs) console.log(`  ${path.basename(t).padEnd(48)} ${(fs.statSync(t).size / 1024).toFixed(1).padStart(8)} kB`)
}

try {
  main_(process.argv.slice(2))
} catch (e) {
  console.error(`npm run package: ${e.message}`)
  process.exitCode = 1
}
