'use strict'
// doc-examples/examples.test.js again, over the process transport (see over-process.js).
require('./over-process.js')(() => require('../doc-examples/examples.test.js'))
