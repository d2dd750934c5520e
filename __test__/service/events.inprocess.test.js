'use strict'
// events.test.js again, over the in-process transport (see over-inprocess.js).
require('./over-inprocess.js')(() => require('../events.test.js'))
