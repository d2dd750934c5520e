// Documentation example: spec/api-v18.md lines 337-342 (## GeneralCallbacks / onResultReport).
// The lines below are the example verbatim; __test__/doc-examples/verbatim.test.js checks it.
  import { backup } from '@kit.CoreFileKit';

  onResultReport: (bundleName: string, result: string) => {
    console.info('onResultReport bundleName : ' + bundleName);
    console.info('onResultReport result : ' + result);
  }
