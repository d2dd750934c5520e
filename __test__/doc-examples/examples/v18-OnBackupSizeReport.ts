// Documentation example: spec/api-v18.md lines 788-793 (## OnBackupSizeReport).
// The lines below are the example verbatim; __test__/doc-examples/verbatim.test.js checks it.
  import { backup } from '@kit.CoreFileKit';

  onBackupSizeReport: (OnBackupSizeReport: backup.OnBackupSizeReport) => {
    console.info('dataSizeCallback success');
    console.info('dataSizeCallback report : ' + OnBackupSizeReport);
  }
