'use strict'
// An OpenHarmony app project as DevEco Studio lays it out, read for installing it as a bundle
// (DESIGN.md §3): AppScope/app.json5 (bundle name, version code and name), the modules (from
// build-profile.json5, else every <dir>/src/main/module.json5), the `"type": "backup"`
// extension ability of one of them (its srcEntry, or the older srcEntrance, relative to
// <module>/src/main/) and its `ohos.extension.backup` profile ($profile:<name> →
// <module>/src/main/resources/base/profile/<name>.json). Everything is read and checked
// before anything is installed; a problem is an Error naming the file and what is wrong.

const fs = require('fs')
const path = require('path')
const JSON5 = require('json5')

class ProjectError extends Error {
  constructor(file, problem) {
    super(`${file}: ${problem}`)
    this.name = 'ProjectError'
    this.file = file
  }
}

function readText(file, what) {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch (e) {
    throw new ProjectError(file, e.code === 'ENOENT' ? `missing (${what})` : `cannot be read: ${e.message}`)
  }
}

// JSON5 (comments, trailing commas, unquoted keys), as DevEco Studio writes these files.
function readJson5(file, what) {
  const text = readText(file, what)
  try {
    return JSON5.parse(text)
  } catch (e) {
    const at = e.lineNumber ? `line ${e.lineNumber}, column ${e.columnNumber}: ` : ''
    throw new ProjectError(file, `not valid JSON5: ${at}${e.message.replace(/^JSON5: /, '').replace(/ at \d+:\d+$/, '')}`)
  }
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v)

function readApp(projectDir) {
  const file = path.join(projectDir, 'AppScope', 'app.json5')
  const doc = readJson5(file, 'every project has AppScope/app.json5')
  const app = doc.app
  if (!isObject(app)) throw new ProjectError(file, 'has no "app" object')
  if (typeof app.bundleName !== 'string' || !app.bundleName) throw new ProjectError(file, 'app.bundleName must be a non-empty string')
  if (!Number.isInteger(app.versionCode) || app.versionCode < 0) throw new ProjectError(file, 'app.versionCode must be a non-negative integer')
  if (typeof app.versionName !== 'string') throw new ProjectError(file, 'app.versionName must be a string')
  return { file, bundleName: app.bundleName, versionCode: app.versionCode, versionName: app.versionName }
}

// The module directories: build-profile.json5's "modules" (srcPath) when the project has one,
// else every top-level directory holding src/main/module.json5.
function moduleDirs(projectDir) {
  const profile = path.join(projectDir, 'build-profile.json5')
  if (fs.existsSync(profile)) {
    const modules = readJson5(profile, 'the project build profile').modules
    if (!Array.isArray(modules)) throw new ProjectError(profile, 'has no "modules" list')
    return modules.map((m, i) => {
      if (!isObject(m) || typeof m.srcPath !== 'string') throw new ProjectError(profile, `modules[${i}] has no srcPath`)
      return path.resolve(projectDir, m.srcPath)
    })
  }
  return fs
    .readdirSync(projectDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(projectDir, d.name, 'src/main/module.json5')))
    .map((d) => path.join(projectDir, d.name))
    .sort()
}

// The backup extension abilities declared in one module.json5.
function backupExtensions(moduleDir) {
  const file = path.join(moduleDir, 'src', 'main', 'module.json5')
  const doc = readJson5(file, 'every module has src/main/module.json5')
  if (!isObject(doc.module)) throw new ProjectError(file, 'has no "module" object')
  const list = doc.module.extensionAbilities
  if (list === undefined) return []
  if (!Array.isArray(list)) throw new ProjectError(file, 'module.extensionAbilities must be a list')
  return list.filter((e) => isObject(e) && e.type === 'backup').map((ability) => ({ file, moduleDir, ability }))
}

function resolveEntry({ file, moduleDir, ability }) {
  const key = ability.srcEntry !== undefined ? 'srcEntry' : 'srcEntrance'
  const src = ability[key]
  if (typeof src !== 'string' || !src) throw new ProjectError(file, `the backup extension ${JSON.stringify(ability.name)} has no srcEntry`)
  const entry = path.resolve(moduleDir, 'src', 'main', src)
  if (!fs.statSync(entry, { throwIfNoEntry: false })?.isFile()) {
    throw new ProjectError(file, `${key} ${JSON.stringify(src)} of ${JSON.stringify(ability.name)} does not exist (looked for ${entry})`)
  }
  return entry
}

// The ohos.extension.backup profile; null when the extension names none (then the app does
// not allow backup, as on a device).
function readProfile({ file, moduleDir, ability }) {
  const meta = Array.isArray(ability.metadata) ? ability.metadata.find((m) => isObject(m) && m.name === 'ohos.extension.backup') : undefined
  if (!meta) return null
  const m = /^\$profile:([A-Za-z0-9_]+)$/.exec(String(meta.resource))
  if (!m) throw new ProjectError(file, `the ohos.extension.backup resource must be "$profile:<name>", got ${JSON.stringify(meta.resource)}`)
  const profile = path.join(moduleDir, 'src', 'main', 'resources', 'base', 'profile', `${m[1]}.json`)
  const config = readJson5(profile, `the backup profile ${meta.resource}`)
  if (!isObject(config)) throw new ProjectError(profile, 'must be a JSON object')
  return { file: profile, config }
}

/**
 * Reads and checks the project in `projectDir`. Returns { bundleName, versionCode,
 * versionName, extension: null | { name, entry (absolute), module }, profile: null | { file, config } }.
 */
function readProject(projectDir) {
  const dir = path.resolve(projectDir)
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new ProjectError(dir, 'no such project directory')
  const app = readApp(dir)
  const found = moduleDirs(dir).flatMap(backupExtensions)
  if (found.length > 1) {
    throw new ProjectError(found[1].file, `a second "type": "backup" extension (${found.map((f) => f.ability.name).join(', ')}); an app has one`)
  }
  const base = { dir, bundleName: app.bundleName, versionCode: app.versionCode, versionName: app.versionName }
  if (!found.length) return { ...base, extension: null, profile: null }
  const [ext] = found
  return {
    ...base,
    extension: { name: String(ext.ability.name || 'BackupExtensionAbility'), entry: resolveEntry(ext), module: path.basename(ext.moduleDir) },
    profile: readProfile(ext),
  }
}

module.exports = { readProject, ProjectError }
