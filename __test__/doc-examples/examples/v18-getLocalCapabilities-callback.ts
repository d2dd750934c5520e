// Documentation example: spec/api-v18.md lines 450-466 (## backup.getLocalCapabilities (callback)).
// The lines below are the example verbatim; __test__/doc-examples/verbatim.test.js checks it.
  import { BusinessError } from '@kit.BasicServicesKit';
  import { fileIo as fs, backup } from '@kit.CoreFileKit';

  try {
    backup.getLocalCapabilities((err: BusinessError, fileData: backup.FileData) => {
      if (err) {
        console.error(`getLocalCapabilities failed. Code: ${err.code}, message: ${err.message}`);
        return;
      }
      console.info('getLocalCapabilities success');
      console.info('fileData info:' + fileData.fd);
      fs.closeSync(fileData.fd);
    });
  } catch (error) {
    let err: BusinessError = error as BusinessError;
    console.error(`getLocalCapabilities failed. Code: ${err.code}, message: ${err.message}`);
  }
