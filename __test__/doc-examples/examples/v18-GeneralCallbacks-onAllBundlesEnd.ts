// Documentation example: spec/api-v18.md lines 292-300 (## GeneralCallbacks / onAllBundlesEnd).
// The lines below are the example verbatim; __test__/doc-examples/verbatim.test.js checks it.
  import { BusinessError } from '@kit.BasicServicesKit';

  onAllBundlesEnd: (err: BusinessError) => {
    if (err) {
      console.error(`onAllBundlesEnd failed. Code: ${err.code}, message: ${err.message}`);
      return;
    }
    console.info('onAllBundlesEnd success');
  }
