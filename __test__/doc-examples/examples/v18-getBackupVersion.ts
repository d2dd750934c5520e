// Documentation example: spec/api-v18.md lines 399-410 (## backup.getBackupVersion).
// The lines below are the example verbatim; __test__/doc-examples/verbatim.test.js checks it.
  import { BusinessError } from '@kit.BasicServicesKit';
  import { backup } from '@kit.CoreFileKit';

  function getBackupVersion() {
    try {
      let result = backup.getBackupVersion();
      console.info('getBackupVersion success, result: ' + result);
    } catch (error) {
      let err: BusinessError = error as BusinessError;
      console.error(`getBackupVersion failed. Code: ${err.code}, message: ${err.message}`);
    }
  }
