// Documentation example: spec/api-v18.md lines 2283-2353 (## SessionRestore / publishFile (callback)).
// The lines below are the example verbatim; __test__/doc-examples/verbatim.test.js checks it.
  import { fileIo as fs, backup} from '@kit.CoreFileKit';
  import { BusinessError } from '@kit.BasicServicesKit';

  let g_session: backup.SessionRestore;
  let initMap = new Map<string, number>();
  let testFileNum = 123; // Number of files required for the restore.
  let testBundleName = 'com.example.myapplication'; // Test bundle name.
  initMap.set(testBundleName, testFileNum);
  let countMap = new Map<string, number>();
  countMap.set(testBundleName, 0); // Initialize the number of files written.
  function createSessionRestore() {
    let generalCallbacks: backup.GeneralCallbacks = {
      onFileReady: (err: BusinessError, file: backup.File) => {
        if (err) {
          console.error(`onFileReady failed. Code: ${err.code}, message: ${err.message}`);
          return;
        }
        console.info('onFileReady success');
        fs.closeSync(file.fd);
        let cnt = countMap.get(file.bundleName) || 0;
        countMap.set(file.bundleName, cnt + 1); // Update the number of written files.
        // Called only when the number of files to be restored is the same as the number of files actually written. This ensures data consistency and integrity.
        if (countMap.get(file.bundleName) == initMap.get(file.bundleName)) { // Trigger publishFile after all files are received.
          let fileMeta: backup.FileMeta = {
            bundleName: file.bundleName,
            uri: ''
          }
          g_session.publishFile(fileMeta, (err: BusinessError) => {
            if (err) {
              console.error(`publishFile failed. Code: ${err.code}, message: ${err.message}`);
              return;
            }
            console.info('publishFile success');
          });
        }
      },
      onBundleBegin: (err: BusinessError<string|void>, bundleName: string) => {
        if (err) {
          console.error(`onBundleBegin failed. Code: ${err.code}, message: ${err.message}`);
          return;
        }
        console.info('onBundleBegin success');
      },
      onBundleEnd: (err: BusinessError<string|void>, bundleName: string) => {
        if (err) {
          console.error(`onBundleEnd failed. Code: ${err.code}, message: ${err.message}`);
          return;
        }
        console.info('onBundleEnd success');
      },
      onAllBundlesEnd: (err: BusinessError) => {
        if (err) {
          console.error(`onAllBundlesEnd failed. Code: ${err.code}, message: ${err.message}`);
          return;
        }
        console.info('onAllBundlesEnd success');
      },
      onBackupServiceDied: () => {
        console.info('service died');
      },
      onResultReport: (bundleName: string, result: string) => {
        console.info(`onResultReport success, bundleName: ${bundleName}, result: ${result}`);
      },
      onProcess: (bundleName: string, process: string) => {
        console.info(`onProcess success, bundleName: ${bundleName}, process: ${process}`);
      }
    };
    let sessionRestore = new backup.SessionRestore(generalCallbacks); // Create a restore process.
    return sessionRestore;
  }
  g_session = createSessionRestore();
