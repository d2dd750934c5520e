// Documentation example: spec/api-v18.md lines 519-532 (## backup.getLocalCapabilities (promise)).
// The lines below are the example verbatim; __test__/doc-examples/verbatim.test.js checks it.
  import { BusinessError } from '@kit.BasicServicesKit';
  import { fileIo as fs, backup } from '@kit.CoreFileKit';

  async function getLocalCapabilities() {
    try {
      let fileData = await backup.getLocalCapabilities();
      console.info('getLocalCapabilities success');
      console.info('fileData info:' + fileData.fd);
      fs.closeSync(fileData.fd);
    } catch (error) {
      let err: BusinessError = error as BusinessError;
      console.error(`getLocalCapabilities failed. Code: ${err.code}, message: ${err.message}`);
    }
  }
