'use strict'
// client.test.js again, over the in-process transport (see over-inprocess.js).
require('./over-inprocess.js')(() => require('../client.test.js'))
