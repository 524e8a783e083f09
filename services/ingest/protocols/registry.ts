/**
 * The protocols served on the upload URL, in the order they are asked whether a request is
 * theirs. Their field names do not overlap, so the order only matters for speed.
 */
import type { ProtocolDependencies, UploadProtocol } from './protocol.js';
import { filepondProtocol } from './filepond/filepond-protocol.js';
import { fineUploaderProtocol } from './fine-uploader/fine-uploader-protocol.js';
import { resumableProtocol } from './resumable/resumable-protocol.js';

export function uploadProtocols(deps: ProtocolDependencies): UploadProtocol[] {
  return [resumableProtocol(deps), filepondProtocol(deps), fineUploaderProtocol(deps)];
}
