'use strict'
// The backup service process of one device root (DESIGN.md §2): `node lib/service/main.js
// --root <dir>`. The first client of a root starts it; it serves every client process of that
// root over <root>/service/service.sock, is the parent of the extension hosts, and exits a few
// seconds after it has no client and no session. It is this package's own addon, so the
// prebuilt npm packages carry it with no extra binary.

const path = require('path')
const { parseArgs } = require('util')
const { native, syncEnvironment } = require('../native.js')

const { values } = parseArgs({ options: { root: { type: 'string' } } })
if (!values.root) {
  process.stderr.write('usage: node lib/service/main.js --root <device root>\n')
  process.exit(2)
}
process.env.BACKUP_SERVICE = 'process'
syncEnvironment()
// Blocks this process's only thread for the life of the service; returns only on failure.
native.runService(path.resolve(values.root))
process.exit(1)
