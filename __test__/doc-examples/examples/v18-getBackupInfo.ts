// Documentation example: spec/api-v18.md lines 650-662 (## backup.getBackupInfo).
// The lines below are the example verbatim; __test__/doc-examples/verbatim.test.js checks it.
  import { BusinessError } from '@kit.BasicServicesKit';
  import { fileIo as fs, backup } from '@kit.CoreFileKit';

  function getBackupInfo() {
    try {
      let backupApp = "com.example.hiworld";
      let result = backup.getBackupInfo(backupApp);
      console.info('getBackupInfo success， result: ' + result);
    } catch (error) {
      let err: BusinessError = error as BusinessError;
      console.error(`getBackupInfo failed. Code: ${err.code}, message: ${err.message}`);
    }
  }
