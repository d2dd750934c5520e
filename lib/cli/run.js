'use strict'
// `ohos-backup run [--root <dir>] <file.ets|.ts|.js> [export [args…]]`: runs a backup client
// written in ArkTS, TypeScript or JavaScript as it is, with `@kit.CoreFileKit`,
// `@ohos.file.backup`, `@ohos.file.fs`, `@ohos.buffer`, … mapped onto this package
// (lib/ohos/loader.js). The named export (default: the default export, else the only exported
// function) is called with the remaining arguments as strings and awaited; what it returns is
// printed (objects as JSON).

const fs = require('fs')
const path = require('path')

function pickFunction(mod, name, file, UsageError) {
  if (name !== undefined) {
    const fn = mod && mod[name]
    if (typeof fn !== 'function') throw new UsageError(`${file} exports no function ${name} (its exports: ${exportNames(mod) || 'none'})`)
    return fn
  }
  if (typeof mod === 'function') return mod
  if (mod && typeof mod.default === 'function') return mod.default
  const fns = Object.keys(mod || {}).filter((k) => k !== 'default' && typeof mod[k] === 'function')
  if (fns.length === 1) return mod[fns[0]]
  if (!fns.length) return null // a module that does its work when loaded
  throw new UsageError(`${file} exports several functions (${fns.join(', ')}): name the one to run`)
}

const exportNames = (mod) => Object.keys(mod || {}).filter((k) => k !== 'default' && k !== '__esModule').join(', ')

/** `ctx`: { deviceRoot(values), UsageError } of lib/cli.js. */
async function runCommand(argv, ctx) {
  const values = {}
  let i = 0
  for (; i < argv.length && argv[i].startsWith('--'); i++) {
    const [opt, inline] = argv[i].split(/=(.*)/s)
    if (opt !== '--root') throw new ctx.UsageError(`run: unknown option ${opt} (options go before the file; the rest is the function's)`)
    values.root = inline !== undefined ? inline : argv[++i]
    if (!values.root) throw new ctx.UsageError('run: --root needs a directory')
  }
  const [file, name, ...args] = argv.slice(i)
  if (!file) throw new ctx.UsageError('run: missing the module to run (<file.ets|.ts|.js>)')
  const abs = path.resolve(file)
  if (!fs.statSync(abs, { throwIfNoEntry: false })?.isFile()) throw new ctx.UsageError(`run: no file ${abs}`)
  ctx.deviceRoot(values)
  require('../ohos/loader.js').installLoader()
  const mod = require(abs)
  const fn = pickFunction(mod, name, file, ctx.UsageError)
  const result = fn ? await fn(...args) : undefined
  if (result !== undefined) console.log(typeof result === 'string' ? result : JSON.stringify(result, null, 2))
  return 0
}

module.exports = runCommand
