'use strict'
// A backup client written in ArkTS (issue 9): __test__/fixtures/clients/notes-client.ets uses
// `backup` and `fileIo` from @kit.CoreFileKit and `buffer` from @ohos.buffer, as on a device.
// It runs unchanged through `ohos-backup run` and, in this very Jest process, through the
// package's Jest transform (backup/jest-transform, set for .ets in package.json).

const fs = require('fs')
const path = require('path')
const device = require('backup/device')
const transform = require('backup/jest-transform')
const { CLIENTS, useWorkDir, cli } = require('./support.js')

jest.setTimeout(120000)

const work = useWorkDir()
const CLIENT = path.join(CLIENTS, 'notes-client.ets')
const APPS = ['com.example.notesapp', 'com.example.photosapp']
const FILES = 'data/storage/el2/base/files'

function setup() {
  const root = device.createDevice(path.join(work.dir, 'device'))
  device.installBundle(root, APPS[0], { versionCode: 12, versionName: '1.2', files: { [`${FILES}/n.txt`]: 'a note', 'data/storage/el2/database/n.db': { size: 5000 } } })
  device.installBundle(root, APPS[1], { files: { [`${FILES}/big.jpg`]: { size: (2 << 20) + 5 } } })
  const snap = () => APPS.map((n) => device.snapshotTree(path.join(device.sandboxOf(root, n), 'data'), { exclude: ['storage/el2/base/.backup'] }))
  return { root, snap, clientFiles: path.join(root, 'client', FILES, 'backup') }
}

describe('ohos-backup run', () => {
  test('capabilities, a backup into the client\'s files dir, and a restore from there', () => {
    const { root, snap, clientFiles } = setup()
    const caps = cli(['run', '--root', root, CLIENT, 'capabilities'])
    expect(caps.stderr).toBe('')
    expect(caps.status).toBe(0)
    expect(caps.json).toEqual(['com.example.notesapp 1.2 (12)', 'com.example.photosapp 1.0.0 (1)'])

    const before = snap()
    const b = cli(['run', '--root', root, CLIENT, 'backupInto', ...APPS])
    expect(b.status).toBe(0)
    expect(b.json[APPS[0]]).toEqual(['part.0.tar', 'manage.json'])
    expect(b.json[APPS[1]]).toHaveLength(3) // the big file by itself, a tar, manage.json
    // Everything is where the client put it: /data/storage/el2/base/files/backup/<bundle>/.
    expect(fs.readdirSync(path.join(clientFiles, APPS[0])).sort()).toEqual(['manage.json', 'part.0.tar'])
    expect(fs.existsSync(path.join(clientFiles, 'capabilities.json'))).toBe(true)

    for (const n of APPS) device.wipeApp(root, n)
    const r = cli(['run', `--root=${root}`, CLIENT, 'restoreFrom', ...APPS])
    expect(r.status).toBe(0)
    expect(r.json).toEqual({ [APPS[0]]: 2, [APPS[1]]: 3 })
    expect(snap().map((s, i) => device.diffSnapshots(before[i], s))).toEqual([[], []])

    // The default export does all three; its arguments are the bundles.
    const all = cli(['run', '--root', root, CLIENT, 'default', APPS[0]])
    expect(all.status).toBe(0)
    expect(all.json).toEqual({ apps: caps.json, files: { [APPS[0]]: ['part.0.tar', 'manage.json'] }, restored: { [APPS[0]]: 2 } })
  })

  test('a module that does its work when loaded, a TypeScript one, and what goes wrong', () => {
    const { root } = setup()
    const dir = path.join(work.dir, 'clients')
    fs.mkdirSync(dir)
    fs.writeFileSync(path.join(dir, 'script.ts'), "import { fileIo } from '@kit.CoreFileKit';\nconst n: number = fileIo.listFileSync('/data/storage/el2/base').length;\nconsole.log(`entries: ${n}`);\n")
    fs.mkdirSync(path.join(root, 'client/data/storage/el2/base/files'), { recursive: true })
    expect(cli(['run', '--root', root, path.join(dir, 'script.ts')])).toMatchObject({ status: 0, stdout: 'entries: 1\n' })

    fs.writeFileSync(path.join(dir, 'fails.ets'), "export async function go(code: string): Promise<void> {\n  throw Object.assign(new Error('no network'), { code: Number(code) });\n}\n")
    expect(cli(['run', '--root', root, path.join(dir, 'fails.ets'), 'go', '13900042'])).toMatchObject({ status: 1, stderr: 'ohos-backup: no network (code 13900042)\n' })

    // A .js client written as an ES module, importing a .ets helper without its extension.
    fs.writeFileSync(path.join(dir, 'helper.ets'), 'export const twice = (n: number): number => 2 * n;\n')
    fs.writeFileSync(path.join(dir, 'esm.js'), "import { fileIo } from '@kit.CoreFileKit';\nimport { twice } from './helper';\nexport default async function (n) {\n  return { twice: twice(Number(n)), create: fileIo.OpenMode.CREATE };\n}\n")
    expect(cli(['run', '--root', root, path.join(dir, 'esm.js'), 'default', '21'])).toMatchObject({ status: 0, json: { twice: 42, create: 64 } })

    const unknown = cli(['run', '--root', root, CLIENT, 'nothing'])
    expect(unknown.status).toBe(2)
    expect(unknown.stderr).toMatch(/exports no function nothing \(its exports: capabilities, backupInto, restoreFrom\)/)
    expect(cli(['run', '--root', root, path.join(dir, 'missing.ets')])).toMatchObject({ status: 2 })
    fs.writeFileSync(path.join(dir, 'broken.ets'), 'export function f( {\n')
    const broken = cli(['run', '--root', root, path.join(dir, 'broken.ets')])
    expect(broken.status).toBe(1)
    expect(broken.stderr).toContain(`${path.join(dir, 'broken.ets')}:2:1: `)
  })
})

describe('the Jest transform', () => {
  let saved
  beforeEach(() => {
    saved = { root: process.env.BACKUP_DEVICE_ROOT, sandbox: process.env.BACKUP_CLIENT_SANDBOX, log: process.env.BACKUP_EXTENSION_LOG }
  })
  afterEach(() => {
    for (const [k, v] of [['BACKUP_DEVICE_ROOT', saved.root], ['BACKUP_CLIENT_SANDBOX', saved.sandbox], ['BACKUP_EXTENSION_LOG', saved.log]]) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  })

  test('the client module runs as it is, in this process', async () => {
    const { root, snap } = setup()
    process.env.BACKUP_DEVICE_ROOT = root
    process.env.BACKUP_CLIENT_SANDBOX = path.join(work.dir, 'my-sandbox')
    process.env.BACKUP_EXTENSION_LOG = 'off'
    const client = require('../fixtures/clients/notes-client.ets')
    expect(await client.capabilities()).toEqual(['com.example.notesapp 1.2 (12)', 'com.example.photosapp 1.0.0 (1)'])
    const before = snap()
    expect(await client.backupInto(APPS[0])).toEqual({ [APPS[0]]: ['part.0.tar', 'manage.json'] })
    expect(fs.readdirSync(path.join(work.dir, 'my-sandbox', FILES, 'backup', APPS[0])).sort()).toEqual(['manage.json', 'part.0.tar'])
    device.wipeApp(root, APPS[0])
    expect(await client.restoreFrom(APPS[0])).toEqual({ [APPS[0]]: 2 })
    expect(device.diffSnapshots(before[0], snap()[0])).toEqual([])
  })

  test('maps the OpenHarmony module names onto this package and names the line of a syntax error', () => {
    const { code } = transform.process("import { fileIo } from '@kit.CoreFileKit';\nimport buffer from '@ohos.buffer';\nexport const n: number = fileIo.OpenMode.CREATE + buffer.from('x').length;\n", '/x/a.ets')
    expect(code).toContain(JSON.stringify(require.resolve('../../lib/kit.js')))
    expect(code).toContain(JSON.stringify(require.resolve('../../lib/ohos/buffer.js')))
    expect(code).not.toContain(': number')
    expect(() => transform.process('const a = ;\n', '/x/bad.ets')).toThrow('/x/bad.ets:1:11: Expression expected.')
    const key = (src) => transform.getCacheKey(src, '/x/a.ets', { configString: '{}' })
    expect(key('a')).toBe(key('a'))
    expect(key('a')).not.toBe(key('b'))
  })
})
