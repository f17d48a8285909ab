/** Turns llmo's typed errors into what the page tells the visitor: a headline and the error's own advice. */
import {
  AbortError, GPUDeviceLostError, InvalidRequestError, MissingModelFileError, ModelFetchError, ModelFormatError, ModelTooLargeError, UnsupportedModelError,
  WebGPUUnavailableError,
} from '../src/index.ts';

export interface Explained {
  kind: 'webgpu' | 'too-large' | 'fetch' | 'format' | 'unsupported' | 'device-lost' | 'missing-file' | 'request' | 'aborted' | 'other';
  title: string;
  detail: string;
}

/** `during`: a bad request while loading is about the source (an `hf:` id, the picked files), not the chat. */
export function explainError(e: unknown, during: 'load' | 'chat' = 'chat'): Explained {
  const detail = e instanceof Error ? e.message : String(e);
  if (e instanceof WebGPUUnavailableError) {
    return { kind: 'webgpu', title: 'WebGPU is not available in this browser.', detail:
      `${detail} llmo needs WebGPU: use a recent Chrome or Edge (113+), or Safari 26 / Firefox 141+ where WebGPU is on.` };
  }
  if (e instanceof ModelTooLargeError) {
    return { kind: 'too-large', title: 'This model does not fit on this GPU.', detail: `${detail} Pick a smaller model or a more compact quantization (Q4_0, Q8_0).` };
  }
  if (e instanceof ModelFetchError) {
    const status = e.status ? ` (HTTP ${e.status})` : '';
    return { kind: 'fetch', title: `The download failed${status}.`, detail };
  }
  if (e instanceof ModelFormatError) return { kind: 'format', title: 'The model file is damaged or not a model.', detail };
  if (e instanceof UnsupportedModelError) return { kind: 'unsupported', title: 'llmo cannot run this model yet.', detail };
  if (e instanceof GPUDeviceLostError) return { kind: 'device-lost', title: 'The GPU was lost.', detail: `${detail} Load the model again.` };
  if (e instanceof MissingModelFileError) return { kind: 'missing-file', title: `${e.file} is missing from the picked files.`, detail };
  if (e instanceof InvalidRequestError && during === 'load') return { kind: 'request', title: 'This cannot be loaded as given.', detail };
  if (e instanceof InvalidRequestError) {
    return { kind: 'request', title: 'The model cannot take this request.', detail: `${detail} (A long conversation? Start a new chat.)` };
  }
  if (e instanceof AbortError) return { kind: 'aborted', title: 'Stopped.', detail };
  return { kind: 'other', title: 'Something went wrong.', detail };
}
