'use strict'
// What the suites of __test__/projects/ share: a copy of a fixture project (DevEco Studio
// layout, __test__/fixtures/projects/) to install and edit, and the `ohos-backup` CLI run in a
// child process, so the app's log lines (its hilog and console output, which the service
// forwards to stderr prefixed with the bundle name) can be read as a user reads them.
const { spawnSync } = require('child_process')
const fs = require('fs')
const os = require('os')
const path = require('path')

const PROJECTS = path.join(__dirname, '..', 'fixtures', 'projects')
const CLIENTS = path.join(__dirname, '..', 'fixtures', 'clients')
const CLI = path.join(__dirname, '..', '..', 'lib', 'cli.js')

/** A fresh temp directory for each test: `work.dir` (removed after the test). */
function useWorkDir() {
  const work = { dir: null }
  beforeEach(() => {
    work.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backup-projects-'))
  })
  afterEach(() => fs.rmSync(work.dir, { recursive: true, force: true }))
  return work
}

/** Copies fixture project `name` into `dir` and returns the copy's path. */
function copyProject(name, dir) {
  const to = path.join(dir, name)
  fs.cpSync(path.join(PROJECTS, name), to, { recursive: true })
  return to
}

/**
 * Runs `ohos-backup <args>` and returns { status, stdout, stderr, json (stdout parsed, when
 * it is JSON) }. The transpile cache is `cache` (a test's own, so a test sees what it caused).
 */
function cli(args, { cache, env = {} } = {}) {
  const childEnv = { ...process.env, BACKUP_TRANSPILE_CACHE: cache, ...env }
  delete childEnv.BACKUP_EXTENSION_LOG
  delete childEnv.BACKUP_DEVICE_ROOT
  const r = spawnSync(process.execPath, [CLI, ...args], { env: childEnv, encoding: 'utf8', timeout: 120000 })
  let json
  try {
    json = JSON.parse(r.stdout)
  } catch {}
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json }
}

/** The lines bundle `name`'s app wrote (hilog, console), without the service's prefix. */
function appLog(stderr, name) {
  const prefix = `[${name}] `
  return stderr
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .map((l) => l.slice(prefix.length))
}

module.exports = { PROJECTS, CLIENTS, CLI, useWorkDir, copyProject, cli, appLog }
