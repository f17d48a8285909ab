/**
 * Counts what code asks of the real GPU device (for the steady-state tests): the prototype methods of GPUDevice,
 * GPUQueue and GPUBuffer are wrapped, calls go through unchanged, and only calls between start() and stop() count.
 */
const CREATORS = [
  'createBuffer', 'createBindGroup', 'createBindGroupLayout', 'createPipelineLayout', 'createComputePipeline',
  'createComputePipelineAsync', 'createShaderModule', 'createQuerySet', 'createTexture',
] as const;

export class GpuCallCounter {
  /** GPU objects created, by method name. */
  readonly created = new Map<string, number>();
  submits = 0;
  /** Bytes of each mapAsync: the mapped range (mode, offset?, size?), else the rest of the buffer. */
  readonly mapped: number[] = [];
  private counting = false;
  private readonly restore: (() => void)[] = [];

  install(): void {
    for (const name of CREATORS) this.wrap(GPUDevice.prototype, name, () => this.created.set(name, (this.created.get(name) ?? 0) + 1));
    this.wrap(GPUQueue.prototype, 'submit', () => this.submits++);
    this.wrap(GPUBuffer.prototype, 'mapAsync', (self, args) =>
      this.mapped.push((args[2] as number | undefined) ?? (self as GPUBuffer).size - ((args[1] as number | undefined) ?? 0)));
  }

  uninstall(): void {
    for (const r of this.restore.splice(0)) r();
  }

  /** Clears the counts and counts from now on. */
  start(): void {
    this.created.clear();
    this.submits = 0;
    this.mapped.length = 0;
    this.counting = true;
  }

  stop(): void {
    this.counting = false;
  }

  private wrap<T extends object>(proto: T, name: string, onCall: (self: unknown, args: unknown[]) => void): void {
    const rec = proto as Record<string, unknown>;
    const orig = rec[name] as (...a: unknown[]) => unknown;
    const counter = this;
    rec[name] = function (this: unknown, ...args: unknown[]) {
      if (counter.counting) onCall(this, args);
      return orig.apply(this, args);
    };
    this.restore.push(() => { rec[name] = orig; });
  }
}
