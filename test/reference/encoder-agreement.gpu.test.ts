/**
 * The reference encoder (test/reference/bert-ref.ts) against llama.cpp's embeddings (wllama createEmbedding) on the
 * same random-weight GGUF fixtures: bert (mean and CLS pooling, the MiniLM shape with its real WordPiece vocabulary)
 * and nomic-bert (fused QKV, RoPE, SwiGLU). Token ids go in directly ([CLS] … [SEP]), one request per input.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { loadGguf } from './gguf-weights.ts';
import { ReferenceEncoder, cosine, referenceEncoderConfig } from './bert-ref.ts';
import { wllamaEmbedExit, wllamaEmbeddings } from '../wllama/wllama-embed.ts';

afterAll(async () => {
  await wllamaEmbedExit();
});

const MODELS = [
  '/encoder-fixtures/tiny~f32~s31~mean/model.gguf',
  '/encoder-fixtures/tiny~f32~s32~cls/model.gguf',
  '/encoder-fixtures/nomic_tiny~f32~s33~mean/model.gguf',
  '/encoder-fixtures/minilm~f16~s34~mean/model.gguf',
];

/** [CLS] words… [SEP] with ids spread over the vocabulary. */
function sequences(vocab: number): number[][] {
  return [1, 7, 40].map((n) => [101, ...Array.from({ length: n }, (_, i) => 1000 + ((i * 7919 + n * 31) % (vocab - 1000))), 102]);
}

describe('reference encoder vs llama.cpp embeddings', () => {
  test.each(MODELS)('%s', async (url) => {
    const res = await fetch(url);
    expect(res.ok, `${url}: HTTP ${res.status}`).toBe(true);
    const { header, weight } = loadGguf(new Uint8Array(await res.arrayBuffer()), url, (info, bytes) => {
      // f16 fixtures: read with the engine-independent decoder below.
      if (info.type !== 1) throw new Error(`type ${info.type}`);
      return f16ToF32(bytes);
    });
    const ref = new ReferenceEncoder(referenceEncoderConfig(header), weight);
    const seqs = sequences(30522);
    const { vectors, promptTokens } = await wllamaEmbeddings(url, seqs);
    seqs.forEach((ids, i) => {
      expect(promptTokens[i]).toBe(ids.length);
      const c = cosine(ref.embed(ids), vectors[i]);
      console.log(`${url} ${ids.length} tokens: cosine ${c.toFixed(7)}`);
      expect(c).toBeGreaterThanOrEqual(0.9999);
    });
  });
});

function f16ToF32(bytes: Uint8Array): Float32Array {
  const u16 = new Uint16Array(bytes.slice().buffer);
  return Float32Array.from(u16, (h) => {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0) return s * m * 2 ** -24;
    if (e === 31) return m ? NaN : s * Infinity;
    return s * (1 + m / 1024) * 2 ** (e - 15);
  });
}
