// Documentation example: spec/api-v18.md lines 166-176 (## GeneralCallbacks / onFileReady).
// The lines below are the example verbatim; __test__/doc-examples/verbatim.test.js checks it.
  import { BusinessError } from '@kit.BasicServicesKit';
  import { fileIo as fs, backup } from '@kit.CoreFileKit';

  onFileReady: (err: BusinessError, file: backup.File) => {
    if (err) {
      console.error(`onFileReady failed. Code: ${err.code}, message: ${err.message}`);
      return;
    }
    console.info(`onFileReady success with file: ${file.bundleName}, ${file.uri}`);
    fs.closeSync(file.fd);
  }
