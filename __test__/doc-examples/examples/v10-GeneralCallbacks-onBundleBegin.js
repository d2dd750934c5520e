// Documentation example: spec/api-v10.md lines 118-123 (## GeneralCallbacks / onBundleBegin).
// The lines below are the example verbatim, after the import lines this port adds; __test__/doc-examples/verbatim.test.js checks it.
import backup from '@ohos.file.backup'; // [port: import the doc page leaves implicit]
  onBundleBegin: (err, bundleName) => {
    if (err) {
      console.error('onBundleBegin failed with err: ' + err);
    }
    console.info('onBundleBegin success with bundleName: ' + bundleName);
  }
