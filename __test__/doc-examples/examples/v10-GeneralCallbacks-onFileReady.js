// Documentation example: spec/api-v10.md lines 85-92 (## GeneralCallbacks / onFileReady).
// The lines below are the example verbatim, after the import lines this port adds; __test__/doc-examples/verbatim.test.js checks it.
import backup from '@ohos.file.backup'; // [port: import the doc page leaves implicit]
  import fs from '@ohos.file.fs';
  onFileReady: (err, file) => {
    if (err) {
      console.error('onFileReady failed with err: ' + err);
    }
    console.info('onFileReady success with file: ' + file.bundleName + ' ' + file.uri);
    fs.closeSync(file.fd);
  }
