// Documentation example: spec/api-v18.md lines 363-368 (## GeneralCallbacks / onProcess).
// The lines below are the example verbatim; __test__/doc-examples/verbatim.test.js checks it.
  import { backup } from '@kit.CoreFileKit';

  onProcess: (bundleName: string, process: string) => {
    console.info('onProcess bundleName : ' + bundleName);
    console.info('onProcess processInfo : ' + process);
  }
