// Documentation example: spec/api-v10.md lines 775-794 (## SessionRestore / publishFile (callback)).
// The lines below are the example verbatim, after the import lines this port adds; __test__/doc-examples/verbatim.test.js checks it.
import backup from '@ohos.file.backup'; // [port: import the doc page leaves implicit]
import fs from '@ohos.file.fs'; // [port: import the doc page leaves implicit]
  try {
    onFileReady: (err, file) => {
      if (err) {
        console.error('onFileReady failed with err: ' + err);
      }
      console.info('onFileReady success');
      fs.closeSync(file.fd);
      sessionRestore.publishFile({
      bundleName: file.bundleName,
      uri: file.uri
      }, (err) => {
        if (err) {
          console.error('publishFile failed with err: ' + err);
        }
        console.info('publishFile success');
      });
    }
  } catch (err) {
    console.error('publishFile failed with err: ' + err);
  }
