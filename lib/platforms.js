'use strict'
// The platforms that get a prebuilt binary, one place for the loader (lib/native.js), the
// packaging (scripts/package.js) and the binary checks (scripts/check-binaries.js). Each is an
// npm/<name>/ folder holding the package @ohos-node/backup-<name>.

const fs = require('fs')

const PLATFORMS = [
  // `libc`: the library the binary must link, as readelf shows it (musl's libc.so is its own
  // loader, which takes any libc.so* as itself). glibc builds link against glibc 2.17 (cargo-zigbuild's `.2.17` suffix), so they load on
  // every distribution Node 20 itself supports.
  { name: 'linux-x64-gnu', triple: 'x86_64-unknown-linux-gnu', zigTarget: 'x86_64-unknown-linux-gnu.2.17', machine: 'X86-64', libc: 'libc.so.6' },
  { name: 'linux-arm64-gnu', triple: 'aarch64-unknown-linux-gnu', zigTarget: 'aarch64-unknown-linux-gnu.2.17', machine: 'AArch64', libc: 'libc.so.6' },
  { name: 'linux-x64-musl', triple: 'x86_64-unknown-linux-musl', zigTarget: 'x86_64-unknown-linux-musl', machine: 'X86-64', libc: 'libc.so' },
  { name: 'linux-arm64-musl', triple: 'aarch64-unknown-linux-musl', zigTarget: 'aarch64-unknown-linux-musl', machine: 'AArch64', libc: 'libc.so' },
]

// A Node on musl has no glibc version in its report; old Nodes without process.report are
// glibc builds only in practice, and ldd says which libc the system has.
function libc() {
  const header = process.report && typeof process.report.getReport === 'function' ? process.report.getReport().header : null
  if (header) return header.glibcVersionRuntime ? 'gnu' : 'musl'
  try {
    return fs.readFileSync('/usr/bin/ldd', 'utf8').includes('musl') ? 'musl' : 'gnu'
  } catch {
    return 'gnu'
  }
}

/** The running platform in the names of npm/<platform>/: linux-x64-gnu, linux-arm64-musl, … */
function platformName() {
  return process.platform === 'linux' ? `linux-${process.arch}-${libc()}` : `${process.platform}-${process.arch}`
}

/** The npm name of a platform's package, from the main package's name. */
const packageOf = (mainName, platform) => `${mainName}-${platform}`

module.exports = { PLATFORMS, packageOf, platformName }
