// Documentation example: spec/api-v10.md lines 296-303 (## backup.getLocalCapabilities (promise)).
// The lines below are the example verbatim, after the import lines this port adds; __test__/doc-examples/verbatim.test.js checks it.
import backup from '@ohos.file.backup'; // [port: import the doc page leaves implicit]
  import fs from '@ohos.file.fs';
  try {
    let fileData = await backup.getLocalCapabilities();
    console.info('getLocalCapabilities success');
    fs.closeSync(fileData.fd);
  } catch (err) {
    console.error('getLocalCapabilities failed with err: ' + err);
  }
