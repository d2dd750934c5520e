// Types of `backup/fs` (lib/fs.js), standing in for `@ohos.file.fs`:
//   import fs from '@ohos.file.fs'      (tsconfig paths: "@ohos.file.fs": ["./node_modules/backup/lib/fs"])
// The same namespace is `fileIo` of `backup/kit`; it is declared once, in kit.d.ts.

import { fileIo } from './kit'

export = fileIo
