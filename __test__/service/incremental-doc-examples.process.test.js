'use strict'
// incremental/doc-examples.test.js again, over the process transport (see over-process.js).
require('./over-process.js')(() => require('../incremental/doc-examples.test.js'))
