/**
 * One unit of quantize-on-load's work: a band of whole rows of one float matrix, converted to a block format. Pure
 * and self-contained (the format codecs only), so the quantize workers (quantize-worker.ts) bundle little besides it.
 */
import type { GgmlType } from '../model/types.ts';
import { dequantize } from '../formats/quant.ts';
import { weightFormatById } from '../formats/weight-formats.ts';

/** A band of rows as it arrives (F32/F16/BF16 bytes) and the format id it becomes. */
export interface QuantizeJob {
  /** Target weight format id (formats/weight-formats.ts), e.g. 'q4_k'. */
  format: string;
  /** The band's type as stored in the file. */
  type: GgmlType;
  /** Values in the band (rows × cols). */
  count: number;
  bytes: Uint8Array;
}

/** The band quantized: ggml's reference encoder (bit-exact), block by block, so bands convert independently. */
export function quantizeBand(job: QuantizeJob): Uint8Array {
  const f = weightFormatById(job.format);
  if (!f?.quantize) throw new Error(`quantize-on-load: ${job.format} has no encoder`);
  return f.quantize(dequantize(job.type, job.bytes, job.count));
}
