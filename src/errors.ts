/**
 * Every failure llmo reports is one of these named classes, and every message says what to do next.
 * Kept in one file so callers can `instanceof`-check without importing engine internals.
 */
export class LlmoError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The browser has no WebGPU, or no adapter could be had. */
export class WebGPUUnavailableError extends LlmoError {}

/** The GPU device was lost (driver reset, tab backgrounded too long, out of memory). */
export class GPUDeviceLostError extends LlmoError {}

/** The model needs more GPU memory (or a larger buffer binding) than this adapter offers. */
export class ModelTooLargeError extends LlmoError {}

/** A model file is malformed or truncated: bad magic, offsets past the end, impossible shapes. */
export class ModelFormatError extends LlmoError {}

/** The file is well-formed but uses something llmo does not implement (architecture, tensor type, version). */
export class UnsupportedModelError extends LlmoError {}

/** Why a download failed, for code that wants to react (retry, tell the user to go online, free space). */
export type FetchFailure =
  | 'http' // the server answered with an error status (`status`)
  | 'network' // no answer, or the connection broke (`bytesReceived` says after how many bytes)
  | 'length' // the body was shorter or longer than the server announced
  | 'range' // the server did not honour a Range request where one was needed
  | 'integrity' // the bytes do not match their sha256
  | 'changed'; // the file changed on the server during the download

/** A model file could not be fetched: the message names the URL and the HTTP status or network cause. */
export class ModelFetchError extends LlmoError {
  constructor(
    message: string,
    readonly url: string,
    readonly status?: number,
    options?: { cause?: unknown; reason?: FetchFailure; bytesReceived?: number },
  ) {
    super(message, options);
    this.reason = options?.reason ?? (status ? 'http' : 'network');
    this.bytesReceived = options?.bytesReceived;
  }
  readonly reason: FetchFailure;
  readonly bytesReceived?: number;
}

/** Downloaded (or cached) bytes do not hash to the expected sha256; the cached copy has been dropped. */
export class ModelIntegrityError extends ModelFetchError {
  constructor(message: string, url: string, readonly expectedSha256: string, readonly actualSha256: string) {
    super(message, url, undefined, { reason: 'integrity' });
  }
}

/** The browser's storage quota cannot hold the model: `neededBytes` more are needed, `availableBytes` are free. */
export class StorageQuotaError extends LlmoError {
  constructor(message: string, readonly url: string, readonly neededBytes: number, readonly availableBytes?: number, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The tokenizer description is missing or malformed. */
export class TokenizerError extends LlmoError {}

/** A request asked for something invalid (prompt longer than the context, bad option values). */
export class InvalidRequestError extends LlmoError {}

/** The engine was disposed, or used while it was not ready. */
export class EngineStateError extends LlmoError {}

/** Generation was stopped by the caller's AbortSignal. */
export class AbortError extends LlmoError {}

/** A JSON schema (response_format or a tool's parameters) uses keywords constrained decoding cannot enforce. */
export class UnsupportedSchemaError extends InvalidRequestError {
  constructor(
    message: string,
    /** JSON pointers of the unsupported keywords, e.g. `#/properties/age/minimum`. */
    readonly keywords: string[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The prompt (after the chat template) does not fit the context; pass `context_overflow: 'truncate'` or shorten it. */
export class ContextOverflowError extends InvalidRequestError {}

/**
 * A model loaded from picked files (`load(files)`) needs a file that was not picked (`config.json` beside a
 * safetensors model, a shard of a split model); `file` is its name. Pick it too, or the whole model folder.
 */
export class MissingModelFileError extends InvalidRequestError {
  constructor(message: string, readonly file: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A LoRA adapter does not fit the loaded base model: a tensor it adapts is missing from the base, or its shape or
 * rank does not match (`tensor` names it). Load the adapter on the base model it was trained for.
 */
export class AdapterMismatchError extends UnsupportedModelError {
  constructor(message: string, readonly tensor: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
