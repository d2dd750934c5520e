'use strict'
// ArkTS (.ets), TypeScript (.ts) and modern JS sources → CommonJS that Node runs, by
// TypeScript's own `transpileModule` (types stripped, nothing type-checked, so a source runs
// as DevEco Studio would build it). Results are cached on disk by content, so a later
// extension host or `ohos-backup run` loads a source it has seen before without even loading
// the compiler.

const crypto = require('crypto')
const fs = require('fs')
const os = require('os')
const path = require('path')

// Bump when the options or the rewriting below change, so old cache entries are not used.
const CACHE_FORMAT = 1

/** A source that does not parse: `file:line:column: <the parser's words>`. */
class SourceError extends SyntaxError {
  constructor(file, line, column, text) {
    super(`${file}:${line}:${column}: ${text}`)
    this.name = 'SyntaxError'
    Object.assign(this, { file, line, column })
  }
}

let ts
function compiler() {
  if (!ts) ts = require('typescript')
  return ts
}

/** Where transpiled sources are kept: BACKUP_TRANSPILE_CACHE, else the XDG cache directory. */
function cacheDir() {
  if (process.env.BACKUP_TRANSPILE_CACHE) return process.env.BACKUP_TRANSPILE_CACHE
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache')
  return path.join(base, 'backup', 'transpiled')
}

// The compiler version is part of the key, but reading it must not load the compiler.
let tsVersion
function compilerVersion() {
  if (tsVersion === undefined) {
    try {
      tsVersion = JSON.parse(fs.readFileSync(require.resolve('typescript/package.json'), 'utf8')).version
    } catch {
      tsVersion = 'unknown'
    }
  }
  return tsVersion
}

/** The cache key of `source` in a file named `file` when its module names are rewritten as
 * `rewriteTag` says. Only the file's name counts (it picks the language and names the source in
 * the source map), so copies of one source in different folders share an entry. */
function cacheKey(source, file, rewriteTag = '') {
  return crypto.createHash('sha256').update(`${CACHE_FORMAT}\0${compilerVersion()}\0${rewriteTag}\0${path.basename(file)}\0`).update(source).digest('hex')
}

// A transformer that replaces module names (import/export declarations, `import x = require()`,
// `require()` and `import()` calls) by what `map(name)` returns, when it returns a string.
function specifierRewriter(map) {
  const t = compiler()
  return (context) => {
    const f = context.factory
    const swap = (lit) => {
      if (!lit || !t.isStringLiteral(lit)) return lit
      const to = map(lit.text)
      return typeof to === 'string' ? f.createStringLiteral(to) : lit
    }
    const visit = (node) => {
      if (t.isImportDeclaration(node) && node.moduleSpecifier) {
        return f.updateImportDeclaration(node, node.modifiers, node.importClause, swap(node.moduleSpecifier), node.attributes)
      }
      if (t.isExportDeclaration(node) && node.moduleSpecifier) {
        return f.updateExportDeclaration(node, node.modifiers, node.isTypeOnly, node.exportClause, swap(node.moduleSpecifier), node.attributes)
      }
      if (t.isExternalModuleReference(node)) return f.updateExternalModuleReference(node, swap(node.expression))
      if (t.isCallExpression(node) && node.arguments.length === 1) {
        const isRequire = t.isIdentifier(node.expression) && node.expression.text === 'require'
        const isImport = node.expression.kind === t.SyntaxKind.ImportKeyword
        if (isRequire || isImport) return f.updateCallExpression(node, node.expression, node.typeArguments, [swap(node.arguments[0])])
      }
      return t.visitEachChild(node, visit, context)
    }
    return (sf) => t.visitNode(sf, visit)
  }
}

/**
 * Transpiles `source` (the text of `file`) to CommonJS. Throws a SourceError naming the file,
 * line and column for a source that does not parse. `rewrite(name)` may map module names.
 */
function transpileSource(source, file, { rewrite } = {}) {
  const t = compiler()
  const out = t.transpileModule(source, {
    fileName: file,
    reportDiagnostics: true,
    compilerOptions: {
      module: t.ModuleKind.CommonJS,
      target: t.ScriptTarget.ES2021,
      esModuleInterop: true,
      allowJs: true,
      sourceMap: false,
      inlineSourceMap: true,
      inlineSources: false,
    },
    transformers: rewrite ? { before: [specifierRewriter(rewrite)] } : undefined,
  })
  const bad = (out.diagnostics || []).find((d) => d.category === t.DiagnosticCategory.Error)
  if (bad) {
    const at = bad.file && bad.start !== undefined ? bad.file.getLineAndCharacterOfPosition(bad.start) : { line: 0, character: 0 }
    throw new SourceError(file, at.line + 1, at.character + 1, t.flattenDiagnosticMessageText(bad.messageText, '\n'))
  }
  return out.outputText
}

/**
 * `transpileSource` through the disk cache: a source already seen (same text, same path,
 * same compiler) is read back without loading the compiler. A cache that cannot be written
 * (read-only home, full disk) only costs the time of transpiling again.
 */
function transpileCached(source, file, { rewrite, rewriteTag } = {}) {
  const key = cacheKey(source, file, rewriteTag)
  const dir = cacheDir()
  const entry = path.join(dir, key.slice(0, 2), `${key}.js`)
  try {
    return fs.readFileSync(entry, 'utf8')
  } catch {}
  const code = transpileSource(source, file, { rewrite })
  try {
    fs.mkdirSync(path.dirname(entry), { recursive: true })
    // Written aside and renamed, so a concurrent reader never sees half an entry.
    const tmp = `${entry}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`
    fs.writeFileSync(tmp, code)
    fs.renameSync(tmp, entry)
  } catch {}
  return code
}

module.exports = { transpileSource, transpileCached, cacheKey, cacheDir, SourceError }
