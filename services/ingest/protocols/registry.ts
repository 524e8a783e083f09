/**
 * The protocols served on the upload URL, in the order they are asked whether a request is
 * theirs. Their field names do not overlap, so the order only matters for speed, but for the
 * plain form: a file part with none of the libraries' fields, asked last.
 */
import type { ProtocolDependencies, UploadProtocol } from './protocol.js';
import { filepondProtocol } from './filepond/filepond-protocol.js';
import { fineUploaderProtocol } from './fine-uploader/fine-uploader-protocol.js';
import { resumableProtocol } from './resumable/resumable-protocol.js';
import { simpleUploaderProtocol } from './simple-uploader/simple-uploader-protocol.js';
import { dropzoneProtocol } from './dropzone/dropzone-protocol.js';
import { pluploadProtocol } from './plupload/plupload-protocol.js';
import { plainFormProtocol } from './plain-form/plain-form-protocol.js';

export function uploadProtocols(deps: ProtocolDependencies): UploadProtocol[] {
  return [
    resumableProtocol(deps),
    simpleUploaderProtocol(deps),
    dropzoneProtocol(deps),
    filepondProtocol(deps),
    fineUploaderProtocol(deps),
    pluploadProtocol(deps),
    plainFormProtocol(deps), // last: any library's whole-file upload looks like a plain form
  ];
}
