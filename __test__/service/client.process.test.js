'use strict'
// client.test.js again, over the process transport (see over-process.js).
require('./over-process.js')(() => require('../client.test.js'))
