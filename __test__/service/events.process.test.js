'use strict'
// events.test.js again, over the process transport (see over-process.js).
require('./over-process.js')(() => require('../events.test.js'))
