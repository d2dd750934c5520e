'use strict'
// The SHA-256 that manage.json records for a big file is the file's as it is when sent, also
// when the service remembers big files' hashes from one backup to the next: a rewrite that
// keeps the size and puts the mtime back is hashed again (its ctime moved), and the restore,
// which checks every recorded hash, takes the new bytes.

const fs = require('fs')
const os = require('os')
const path = require('path')
const crypto = require('crypto')
const { backupToDir, restoreFromDir } = require('backup/client')
const { installBundle, sandboxOf } = require('backup/device')
const { tempDevices } = require('./support/devices')
const { sleep } = require('./support/wait')

jest.setTimeout(60000)

const NAME = 'com.example.bighash'
const BIG = 'data/storage/el2/base/files/video.bin'
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex')
const newDevice = tempDevices()
const scratch = []
afterAll(() => scratch.forEach((d) => fs.rmSync(d, { recursive: true, force: true })))

function recordedHash(outDir) {
  const manage = JSON.parse(fs.readFileSync(path.join(outDir, NAME, 'manage.json'), 'utf8'))
  const entries = manage.map((m) => m.information && m.isBigFile && m).filter(Boolean)
  expect(entries).toHaveLength(1)
  expect(entries[0].information.path).toBe(`/${BIG}`)
  return { sha256: entries[0].sha256, uri: entries[0].fileName }
}

test('a big file rewritten with its size and mtime kept gets its new hash; an unchanged one keeps its hash; both restore', async () => {
  const root = newDevice()
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bighash-'))
  scratch.push(out)
  installBundle(root, NAME, { files: { [BIG]: { size: (3 << 20) + 5 } } })
  const file = path.join(sandboxOf(root, NAME), BIG)
  const first = fs.readFileSync(file)
  // The service remembers only a hash of a file whose times are 2 s old.
  await sleep(2100)

  for (let run = 0; run < 2; run++) {
    const r = await backupToDir({ root, bundles: [NAME], outDir: out })
    expect(r.bundles[NAME].error).toBeNull()
    const { sha256, uri } = recordedHash(out)
    expect(sha256).toBe(sha(first))
    expect(sha(fs.readFileSync(path.join(out, NAME, uri)))).toBe(sha(first))
  }

  const { mtime } = fs.statSync(file)
  const second = Buffer.from(first)
  second[12345] ^= 0xff
  fs.writeFileSync(file, second)
  fs.utimesSync(file, mtime, mtime)
  expect(fs.statSync(file).mtimeMs).toBe(mtime.getTime())

  const r = await backupToDir({ root, bundles: [NAME], outDir: out })
  expect(r.bundles[NAME].error).toBeNull()
  expect(recordedHash(out).sha256).toBe(sha(second))

  fs.rmSync(file)
  const restored = await restoreFromDir({ root, inDir: out, bundles: [NAME] })
  expect(restored.bundles[NAME].error).toBeNull()
  expect(sha(fs.readFileSync(file))).toBe(sha(second))
})
