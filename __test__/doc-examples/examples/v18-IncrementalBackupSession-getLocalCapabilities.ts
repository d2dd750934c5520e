// Documentation example: spec/api-v18.md lines 2782-2884 (## IncrementalBackupSession / getLocalCapabilities).
// The lines below are the example verbatim; __test__/doc-examples/verbatim.test.js checks it.
  import { fileIo as fs, backup} from '@kit.CoreFileKit';
  import { BusinessError } from '@kit.BasicServicesKit';

  interface test { // Parse the capability file.
    bundleInfos: [];
    deviceType: string;
    systemFullName: string;
  }

  interface BundleInfo { // Obtain the local capability information of an application.
    name: string;
    appIndex: number;
    versionCode: number;
    versionName: string;
    spaceOccupied: number;
    allToBackup: boolean;
    increSpaceOccupied?: number;
    fullBackupOnly: boolean;
    extensionName: string;
    restoreDeps: string;
    supportScene: string;
    extraInfo: object;
  }

  let generalCallbacks: backup.GeneralCallbacks = { // Define general callbacks to be used in the backup or restore process.
    onFileReady: (err: BusinessError, file: backup.File) => {
      if (err) {
        console.error(`onFileReady failed. Code: ${err.code}, message: ${err.message}`);
        return;
      }
      console.info('onFileReady success');
      fs.closeSync(file.fd);
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
  async function getLocalCapabilitiesTest() {
    let incrementalBackupSession = new backup.IncrementalBackupSession(generalCallbacks); // Create a session for an incremental backup.
    let basePath = '/data/storage/el2/base/backup';
    let path = basePath + '/localCapabilities.json'; // Local path for storing capability files.
    try {
      let fileData = await incrementalBackupSession.getLocalCapabilities(); // Obtain the local capability file.
      if (fileData) {
        console.info('getLocalCapabilities success');
        console.info('fileData info:' + fileData.fd);
        if (!fs.accessSync(basePath)) {
          fs.mkdirSync(basePath);
          console.info('creat success' + basePath);
        }
        fs.copyFileSync(fileData.fd, path); // Save the obtained local capability file to the local host.
        fs.closeSync(fileData.fd);
      }
    } catch (error) {
      let err: BusinessError = error as BusinessError;
      console.error(`getLocalCapabilities failed. Code: ${err.code}, message: ${err.message}`);
    }
    let data = fs.readTextSync(path, 'utf8'); // Obtain information from the local capability file.
    try {
      const jsonsObj: test | null = JSON.parse(data); // Parse the local capability file and print some information.
      if (jsonsObj) {
        const infos:BundleInfo [] = jsonsObj.bundleInfos;
        for (let i = 0; i < infos.length; i++) {
          console.info('name: ' + infos[i].name);
          console.info('appIndex: ' + infos[i].appIndex);
          console.info('allToBackup: ' + infos[i].allToBackup);
        }
        const systemFullName: string = jsonsObj.systemFullName;
        console.info('systemFullName: ' + systemFullName);
        const deviceType: string = jsonsObj.deviceType;
        console.info('deviceType: ' + deviceType);
      }
    } catch (error) {
      console.error(`parse failed. Code: ${error.code}, message: ${error.message}`);
    }
  }
