'use strict'
// What a cross build needs, installed when it is missing, or named exactly when it cannot be:
// the Rust targets (rustup), cargo-zigbuild, and zig from the `ziglang` PyPI package (zig is
// both the linker and the glibc/musl provider for every target, so no per-target gcc or
// sysroot is needed). Versions are the ones the packages were built and checked with.

const { spawnSync } = require('child_process')

const CARGO_ZIGBUILD = 'cargo-zigbuild==0.24.0'
const ZIGLANG = 'ziglang==0.17.0'

/** Runs a command, inheriting stdio (or capturing stdout); throws with its name on failure. */
function run(cmd, args, { cwd, env, capture = false } = {}) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: capture ? ['ignore', 'pipe', 'inherit'] : 'inherit' })
  if (r.error) throw new Error(`${cmd} could not be started: ${r.error.message}`)
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`)
  return r.stdout
}

const works = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: 'ignore' })
  return !r.error && r.status === 0
}

function pipInstall(spec, why) {
  const python = ['python3', 'python'].find((p) => works(p, ['-m', 'pip', '--version']))
  if (!python) throw new Error(`${why}, and there is no python3 with pip to install it: install ${spec} (pip install ${spec}) and run again`)
  console.log(`${why}: installing ${spec} with ${python} -m pip`)
  try {
    run(python, ['-m', 'pip', 'install', '--quiet', spec])
  } catch (e) {
    throw new Error(
      `${why}, and ${python} -m pip could not install ${spec} (${e.message}; a distribution's own python3 refuses ` +
        `system-wide installs): install it yourself, e.g. \`pipx install ${spec.split('==')[0]}\` or pip in a virtualenv, so that ` +
        `${spec.startsWith('ziglang') ? '`python3 -m ziglang` or `zig`' : '`cargo-zigbuild`'} works, then run again`,
    )
  }
  // pip puts the command into its scripts folder, which need not be on PATH (pyenv, say,
  // only reaches it through shims made later): put it there for this build.
  const scripts = run(python, ['-c', "import sysconfig; print(sysconfig.get_path('scripts'))"], { capture: true }).trim()
  if (scripts && !process.env.PATH.split(':').includes(scripts)) process.env.PATH = `${scripts}:${process.env.PATH}`
}

function ensureRustTargets(triples) {
  if (!works('rustup', ['--version'])) {
    const missing = triples.join(' ')
    throw new Error(`rustup is not installed: install Rust with rustup, then run again (it adds the targets ${missing} itself)`)
  }
  const installed = new Set(run('rustup', ['target', 'list', '--installed'], { capture: true }).split('\n'))
  const missing = triples.filter((t) => !installed.has(t))
  if (missing.length) run('rustup', ['target', 'add', ...missing])
}

const haveZig = () => works('zig', ['version']) || works('python3', ['-m', 'ziglang', 'version'])

function ensureToolchain(platforms) {
  ensureRustTargets(platforms.map((p) => p.triple))
  if (!works('cargo-zigbuild', ['--version'])) pipInstall(CARGO_ZIGBUILD, 'cargo-zigbuild is missing')
  if (!haveZig()) pipInstall(ZIGLANG, 'zig is missing')
  if (!works('cargo-zigbuild', ['--version'])) throw new Error(`cargo-zigbuild is still not on PATH after installing ${CARGO_ZIGBUILD}: add pip's script folder to PATH`)
}

module.exports = { ensureToolchain, run }
