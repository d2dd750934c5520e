'use strict'
// Lets this Node process run an app's or a client's own sources as a device would: `.ets` and
// `.ts` files (and the app's `.js` files, which may use `import`) load through the TypeScript
// transpiler with its disk cache, relative imports find them with or without an extension,
// and the OpenHarmony module names resolve to this package (lib/ohos/modules.js). Used by the
// extension host and `ohos-backup run`; a Jest suite uses lib/jest-transform.js instead.

const fs = require('fs')
const path = require('path')
const Module = require('module')
const { ohosModule } = require('./modules.js')
const { transpileCached } = require('./transpile.js')

const PACKAGE_ROOT = path.join(__dirname, '..', '..')
const PACKAGE = require('../../package.json')

// `backup`, `backup/kit`, … (and the package's published name, should it differ) from code
// that lives outside any node_modules holding this package, e.g. a device's bundle folder.
function packageModule(request) {
  for (const name of new Set([PACKAGE.name, 'backup'])) {
    if (request !== name && !request.startsWith(`${name}/`)) continue
    const sub = request === name ? '.' : `./${request.slice(name.length + 1)}`
    const target = PACKAGE.exports && PACKAGE.exports[sub]
    const file = typeof target === 'string' ? target : target && target.default
    if (file) return path.join(PACKAGE_ROOT, file)
  }
  return undefined
}

const inside = (dir, file) => !path.relative(dir, file).startsWith('..')

// The app's or client's own `.js` files are transpiled too (they may be ES modules); the code of
// this package (lib/, its loaders) and of node_modules is left to Node.
const PACKAGE_CODE = [path.join(PACKAGE_ROOT, 'lib'), path.join(PACKAGE_ROOT, 'index.js'), path.join(PACKAGE_ROOT, 'binding.js')]
function isOwnSource(file) {
  return !file.split(path.sep).includes('node_modules') && !PACKAGE_CODE.some((dir) => inside(dir, file))
}

function compile(module, file) {
  const source = fs.readFileSync(file, 'utf8')
  module._compile(transpileCached(source, file), file)
}

// A .js file with no line that starts with `import` or `export` is CommonJS already: Node runs
// it as it is, without the transpiler.
const ES_MODULE_SYNTAX = /^\s*(import|export)\b/m

let installed = false

/** Installs the loader in this process (idempotent). */
function installLoader() {
  if (installed) return
  installed = true
  const resolve = Module._resolveFilename
  Module._resolveFilename = function (request, parent, ...rest) {
    const mapped = ohosModule(request)
    if (mapped) return mapped
    try {
      return resolve.call(this, request, parent, ...rest)
    } catch (e) {
      const own = packageModule(request)
      if (own) return own
      throw e
    }
  }
  // Registered extensions are also what Node tries for an extensionless relative import.
  for (const ext of ['.ets', '.ts']) Module._extensions[ext] = compile
  const js = Module._extensions['.js']
  Module._extensions['.js'] = function (module, file) {
    if (!isOwnSource(file)) return js.call(this, module, file)
    const source = fs.readFileSync(file, 'utf8')
    if (!ES_MODULE_SYNTAX.test(source)) return module._compile(source, file)
    module._compile(transpileCached(source, file), file)
  }
  // Stack traces of transpiled code point into the .ets/.ts sources.
  if (typeof process.setSourceMapsEnabled === 'function') process.setSourceMapsEnabled(true)
}

module.exports = { installLoader, packageModule }
