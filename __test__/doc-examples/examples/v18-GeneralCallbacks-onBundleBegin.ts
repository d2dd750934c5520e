// Documentation example: spec/api-v18.md lines 212-220 (## GeneralCallbacks / onBundleBegin).
// The lines below are the example verbatim; __test__/doc-examples/verbatim.test.js checks it.
  import { BusinessError } from '@kit.BasicServicesKit';

  onBundleBegin: (err: BusinessError, bundleName: string) => {
    if (err) {
      console.error(`onBundleBegin failed. Code: ${err.code}, message: ${err.message}`);
      return;
    }
    console.info('onBundleBegin success');
  }
