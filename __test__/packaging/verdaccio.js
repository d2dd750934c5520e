'use strict'
// A real npm registry for the packaging test: Verdaccio on a free port of 127.0.0.1, its
// storage in a temp dir. Packages of the @ohos-node scope live only here (never fetched from
// outside, so what is tested is what was published); everything else comes through the
// uplink, the registry npm itself is configured with.

const { spawn, spawnSync } = require('child_process')
const fs = require('fs')
const net = require('net')
const path = require('path')

const VERDACCIO = require.resolve('verdaccio/bin/verdaccio')

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

function uplink() {
  const r = spawnSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' })
  const url = (r.stdout || '').trim()
  if (r.status !== 0 || !/^https?:\/\//.test(url)) throw new Error(`npm config get registry gave no registry URL: ${r.stderr}`)
  return url
}

function config(dir, port) {
  return [
    `storage: ${JSON.stringify(path.join(dir, 'storage'))}`,
    `listen: 127.0.0.1:${port}`,
    'auth:',
    '  htpasswd:',
    `    file: ${JSON.stringify(path.join(dir, 'htpasswd'))}`,
    '    max_users: 10',
    'uplinks:',
    '  upstream:',
    `    url: ${JSON.stringify(uplink())}`,
    '    timeout: 60s',
    'packages:',
    "  '@ohos-node/*':",
    '    access: $all',
    '    publish: $authenticated',
    "  '**':",
    '    access: $all',
    '    publish: $authenticated',
    '    proxy: upstream',
    'log: { type: stdout, format: pretty, level: warn }',
    '',
  ].join('\n')
}

async function waitUp(url, child, output) {
  const deadline = Date.now() + 60000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`verdaccio exited (${child.exitCode}) before it listened:\n${output()}`)
    try {
      const res = await fetch(`${url}-/ping`)
      if (res.ok) return
    } catch {}
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error(`verdaccio did not answer ${url}-/ping within 60 s:\n${output()}`)
}

/** Starts Verdaccio with its state under `dir`; resolves with { url, token, stop }. */
async function startRegistry(dir) {
  fs.mkdirSync(dir, { recursive: true })
  const port = await freePort()
  const file = path.join(dir, 'config.yaml')
  fs.writeFileSync(file, config(dir, port))
  // Its own process group, so stop() ends it and anything it started.
  const child = spawn(process.execPath, [VERDACCIO, '--config', file], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  child.stdout.on('data', (d) => (log += d))
  child.stderr.on('data', (d) => (log += d))
  const exited = new Promise((r) => child.once('exit', r))
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    try {
      process.kill(-child.pid, 'SIGTERM')
    } catch {}
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {}
    }, 5000)
    await exited
    clearTimeout(timer)
  }
  const url = `http://127.0.0.1:${port}/`
  try {
    await waitUp(url, child, () => log)
    // A user to publish as (the htpasswd plugin creates it on first login).
    const res = await fetch(`${url}-/user/org.couchdb.user:ci`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ci', password: 'ci-password' }),
    })
    const body = await res.json()
    if (!body.token) throw new Error(`verdaccio gave no token for a new user: ${res.status} ${JSON.stringify(body)}`)
    return { url, token: body.token, stop, log: () => log }
  } catch (e) {
    await stop()
    throw e
  }
}

module.exports = { startRegistry }
