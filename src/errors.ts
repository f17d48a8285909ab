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

/** A model file could not be fetched: the message names the URL and the HTTP status or network cause. */
export class ModelFetchError extends LlmoError {
  constructor(
    message: string,
    readonly url: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
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
