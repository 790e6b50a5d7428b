// assertWritableFolder: the folder a new file will be written in exists, is a folder and may be
// written, checked before long work (a key made on a token, every compare combination), so the
// run does not fail at its end on a destination it could have refused at once.

import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ioError } from '../errors/ota-error.js';

/** Throws the IoError writing `filePath` would (`cannot <action> <filePath>: ENOENT`, …). */
export async function assertWritableFolder(filePath: string, action: string): Promise<void> {
  const folder = dirname(filePath);
  const fail = (err: unknown) => {
    throw ioError(action, filePath, err);
  };
  const st = await stat(folder).catch(fail);
  if (!st.isDirectory()) fail(Object.assign(new Error(`${folder} is not a folder`), { code: 'ENOTDIR' }));
  await access(folder, constants.W_OK | constants.X_OK).catch(fail);
}
