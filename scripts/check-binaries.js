#!/usr/bin/env node
'use strict'
// Checks each built binary of npm/<platform>/ the way a loader on that platform would see it,
// without that platform: readelf shows the ELF machine, the libc it links (glibc ≤ 2.17, or
// musl's loader), and that it exports napi_register_module_v1, the symbol Node looks up.
//
//   node scripts/check-binaries.js          every binary in npm/ (fails if one is missing)
//   node scripts/check-binaries.js --qemu   also runs a backup and restore with the
//       linux-arm64-gnu package under qemu-aarch64, in Debian's arm64 Node. Needs
//       qemu-user-static and the arm64 nodejs packages: as root it installs them (apt), else it
//       says what to install. There is no musl Node in Debian, so the musl binaries get the
//       readelf checks only.

const { spawnSync } = require('child_process')
const fs = require('fs')
const os = require('os')
const path = require('path')
const { PLATFORMS } = require('../lib/platforms.js')

const ROOT = path.join(__dirname, '..')
const GLIBC_MAX = [2, 17]

function readelf(args, file) {
  const r = spawnSync('readelf', [...args, file], { encoding: 'utf8', maxBuffer: 64 << 20 })
  if (r.error) throw new Error('readelf is missing: install binutils (apt-get install binutils)')
  if (r.status !== 0) throw new Error(`readelf ${args.join(' ')} ${file}: ${r.stderr.trim()}`)
  return r.stdout
}

const newer = (v, max) => v[0] > max[0] || (v[0] === max[0] && v[1] > max[1])

/** Throws unless `file` is a shared object for `platform`; returns what readelf showed. */
function checkBinary(platform, file) {
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: build it with npm run package`)
  const header = readelf(['-h'], file)
  const machine = (header.match(/Machine:\s+(.*)/) || [])[1]
  const type = (header.match(/Type:\s+(\S+)/) || [])[1]
  const needed = [...readelf(['-d'], file).matchAll(/\(NEEDED\)\s+Shared library: \[(.+?)\]/g)].map((m) => m[1])
  const exported = readelf(['--dyn-syms', '-W'], file)
    .split('\n')
    .some((l) => / napi_register_module_v1$/.test(l) && !/ UND /.test(l))
  const glibc = [...readelf(['-V', '-W'], file).matchAll(/GLIBC_(\d+)\.(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])])
  const maxGlibc = glibc.reduce((a, v) => (newer(v, a) ? v : a), [0, 0])
  const found = {
    platform: platform.name,
    type,
    machine: machine && machine.replace('Advanced Micro Devices ', ''),
    needed,
    napi_register_module_v1: exported,
    glibc: glibc.length ? maxGlibc.join('.') : null,
  }
  const problems = []
  if (type !== 'DYN') problems.push(`type ${type}, not a shared object (DYN)`)
  if (!machine || !machine.includes(platform.machine)) problems.push(`machine ${machine}, expected ${platform.machine}`)
  if (!needed.includes(platform.libc)) problems.push(`links ${needed.join(', ')}, not ${platform.libc}`)
  if (platform.triple.endsWith('-musl') && (glibc.length || needed.includes('libc.so.6'))) problems.push('a musl binary that asks for glibc')
  if (platform.libc === 'libc.so.6' && newer(maxGlibc, GLIBC_MAX)) problems.push(`needs GLIBC_${maxGlibc.join('.')}, newer than ${GLIBC_MAX.join('.')}`)
  if (!exported) problems.push('does not export napi_register_module_v1')
  if (problems.length) throw new Error(`${file}: ${problems.join('; ')}`)
  return found
}

// ---- qemu: the arm64 glibc package, run by an arm64 Node ------------------------------------

const QEMU = 'qemu-aarch64-static'
// Debian's arm64 nodejs, the libraries its binary links, and the JS builtins Debian keeps
// outside the binary (architecture-independent packages).
const ARM64_DEBS = ['nodejs', 'libnode108', 'libc6', 'libgcc-s1', 'libstdc++6', 'libuv1', 'libbrotli1', 'libc-ares2', 'libicu72', 'libnghttp2-14', 'libssl3', 'zlib1g']
const ALL_DEBS = ['node-acorn', 'node-cjs-module-lexer', 'node-undici']
const SYSROOT = path.join(ROOT, 'target', 'arm64-node-sysroot')
const SYSROOT_DONE = path.join(SYSROOT, '.unpacked')

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts })
  if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${(r.error && r.error.message) || r.stderr.trim().split('\n').slice(-3).join(' / ')}`)
  return r.stdout
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0
const onPath = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0

// Installs qemu-user-static and unpacks Debian's arm64 Node into target/arm64-node-sysroot,
// or says what a non-root user has to install.
function prepareQemu() {
  const node = path.join(SYSROOT, 'usr/bin/node')
  if (onPath(QEMU) && fs.existsSync(SYSROOT_DONE)) return node
  if (!isRoot()) {
    throw new Error(
      `the qemu check needs ${onPath(QEMU) ? '' : 'qemu-user-static and '}Debian's arm64 nodejs unpacked in ${SYSROOT}: ` +
        'run this script as root once (it installs them with apt-get), or install qemu-user-static and unpack ' +
        `the arm64 .debs of ${ARM64_DEBS.join(' ')} and the .debs of ${ALL_DEBS.join(' ')} there with dpkg -x`,
    )
  }
  if (!sh('dpkg', ['--print-foreign-architectures']).split('\n').includes('arm64')) sh('dpkg', ['--add-architecture', 'arm64'])
  console.log('apt-get update, then qemu-user-static and the arm64 nodejs packages')
  sh('apt-get', ['update', '-qq'])
  if (!onPath(QEMU)) sh('apt-get', ['install', '-y', '-qq', 'qemu-user-static'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  const debs = fs.mkdtempSync(path.join(os.tmpdir(), 'arm64-debs-'))
  try {
    sh('apt-get', ['download', ...ARM64_DEBS.map((d) => `${d}:arm64`), ...ALL_DEBS], { cwd: debs })
    fs.mkdirSync(SYSROOT, { recursive: true })
    for (const deb of fs.readdirSync(debs)) sh('dpkg', ['-x', path.join(debs, deb), SYSROOT])
    fs.writeFileSync(SYSROOT_DONE, `${ARM64_DEBS.join(' ')} ${ALL_DEBS.join(' ')}\n`)
  } finally {
    fs.rmSync(debs, { recursive: true, force: true })
  }
  return node
}

// Installs the dist/ tarballs of the main package and the arm64 glibc package into a fresh
// node_modules, as npm would lay them out, and runs scripts/smoke-roundtrip.js there in the
// arm64 Node under qemu.
function runUnderQemu() {
  const node = prepareQemu()
  const dist = path.join(ROOT, 'dist')
  const tarballs = fs.existsSync(dist) ? fs.readdirSync(dist) : []
  const mainTgz = tarballs.find((f) => /^ohos-node-backup-\d/.test(f))
  const armTgz = tarballs.find((f) => f.startsWith('ohos-node-backup-linux-arm64-gnu-'))
  if (!mainTgz || !armTgz) throw new Error('dist/ lacks the main or the linux-arm64-gnu tarball: run npm run package first')
  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'backup-qemu-'))
  try {
    for (const [tgz, name] of [
      [mainTgz, 'backup-main'],
      [armTgz, 'backup-linux-arm64-gnu'],
    ]) {
      const dest = path.join(project, 'node_modules', '@ohos-node', name === 'backup-main' ? 'backup' : name)
      fs.mkdirSync(dest, { recursive: true })
      sh('tar', ['xzf', path.join(dist, tgz), '-C', dest, '--strip-components=1'])
    }
    fs.copyFileSync(path.join(__dirname, 'smoke-roundtrip.js'), path.join(project, 'smoke-roundtrip.js'))
    const version = sh(QEMU, ['-L', SYSROOT, node, '--version'], { env: qemuEnv() }).trim()
    const out = sh(QEMU, ['-L', SYSROOT, node, 'smoke-roundtrip.js', '@ohos-node/backup'], { cwd: project, env: qemuEnv(), timeout: 600000 })
    return { node: version, result: JSON.parse(out.trim().split('\n').pop()) }
  } finally {
    fs.rmSync(project, { recursive: true, force: true })
  }
}

// Only the guest's loader reads LD_LIBRARY_PATH (qemu-aarch64-static is static); with -L it
// resolves to the multiarch folders of the unpacked sysroot, which has no ld.so.cache.
const qemuEnv = () => ({ ...process.env, LD_LIBRARY_PATH: '/usr/lib/aarch64-linux-gnu:/lib/aarch64-linux-gnu' })

function main() {
  const qemu = process.argv.includes('--qemu')
  let failed = false
  for (const p of PLATFORMS) {
    const file = path.join(ROOT, 'npm', p.name, `backup.${p.name}.node`)
    try {
      const f = checkBinary(p, file)
      console.log(`ok   ${p.name}: ${f.machine}, ${f.type}, NEEDED ${f.needed.join(' ')}${f.glibc ? `, glibc symbols ≤ ${f.glibc}` : ''}, exports napi_register_module_v1`)
    } catch (e) {
      failed = true
      console.log(`FAIL ${p.name}: ${e.message}`)
    }
  }
  if (qemu) {
    try {
      const { node, result } = runUnderQemu()
      const ok = result.diff.length === 0
      failed ||= !ok
      console.log(`${ok ? 'ok  ' : 'FAIL'} linux-arm64-gnu under qemu-aarch64 (Debian's arm64 Node ${node}, process.arch ${result.arch}): backed up ${result.backedUp} bytes as ${result.parts} delivered files (tar part, big file, manage.json), restored ${result.restored} bytes, ${result.diff.length} differences`)
    } catch (e) {
      failed = true
      console.log(`FAIL qemu: ${e.message}`)
    }
  } else console.log('qemu: not run (node scripts/check-binaries.js --qemu runs the arm64 package under qemu-aarch64; it needs root once to install qemu-user-static and the arm64 Node)')
  process.exitCode = failed ? 1 : 0
}

if (require.main === module) main()

module.exports = { checkBinary }
