// Documentation example: spec/api-v18.md lines 314-316 (## GeneralCallbacks / onBackupServiceDied).
// The lines below are the example verbatim; __test__/doc-examples/verbatim.test.js checks it.
  onBackupServiceDied: () => {
    console.info('onBackupServiceDied success');
  }
