'use strict'
// doc-examples/examples-12plus.test.js again, over the process transport (see over-process.js).
require('./over-process.js')(() => require('../doc-examples/examples-12plus.test.js'))
