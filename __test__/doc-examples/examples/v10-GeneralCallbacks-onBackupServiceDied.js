// Documentation example: spec/api-v10.md lines 199-201 (## GeneralCallbacks / onBackupServiceDied).
// The lines below are the example verbatim, after the import lines this port adds; __test__/doc-examples/verbatim.test.js checks it.
import backup from '@ohos.file.backup'; // [port: import the doc page leaves implicit]
  onBackupServiceDied: () => {
    console.info('onBackupServiceDied success');
  }
