'use strict'
// doc-examples/examples-12plus.test.js again, over the in-process transport (see over-inprocess.js).
require('./over-inprocess.js')(() => require('../doc-examples/examples-12plus.test.js'))
