'use strict'
// incremental/doc-examples.test.js again, over the in-process transport (see over-inprocess.js).
require('./over-inprocess.js')(() => require('../incremental/doc-examples.test.js'))
