// Documentation example: spec/api-v10.md lines 149-154 (## GeneralCallbacks / onBundleEnd).
// The lines below are the example verbatim, after the import lines this port adds; __test__/doc-examples/verbatim.test.js checks it.
import backup from '@ohos.file.backup'; // [port: import the doc page leaves implicit]
  onBundleEnd: (err, bundleName) => {
    if (err) {
      console.error('onBundleEnd failed with err: ' + err);
    }
    console.info('onBundleEnd success with bundleName: ' + bundleName);
  }
