import { WebGPUUnavailableError, GPUDeviceLostError } from '../errors.ts';

/** What the adapter offers that changes which kernel variants we pick. */
export interface GpuCaps {
  f16: boolean;
  subgroups: boolean;
  timestampQuery: boolean;
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxComputeWorkgroupStorageSize: number;
  adapterInfo: string;
  /** The subgroup size when the adapter has subgroups of one fixed size (min = max), else undefined. */
  subgroupSize?: number;
  /** A software (CPU) adapter such as SwiftShader: kernels pick layouts without workgroup barriers there. */
  cpu: boolean;
}

export interface Gpu {
  device: GPUDevice;
  caps: GpuCaps;
  /** Settles when the device is lost; `lostError` is set then. */
  lost: Promise<GPUDeviceLostInfo>;
  lostError?: GPUDeviceLostError;
}

/** The WebGPU entry point where `navigator.gpu` is missing (Node: Dawn from the `webgpu` package; src/node.ts). */
let providedGpu: GPU | undefined;

/** Makes `openGpu` use `gpu` when the environment has no `navigator.gpu` (Node). */
export function provideGpu(gpu: GPU): void {
  providedGpu = gpu;
}

/**
 * Opens a GPU device with the largest buffer limits the adapter allows (models need big bindings) and the
 * optional features we have kernels for.
 */
export async function openGpu(options: { powerPreference?: GPUPowerPreference } = {}): Promise<Gpu> {
  const api = (globalThis as { navigator?: Navigator }).navigator?.gpu ?? providedGpu;
  if (!api) {
    throw new WebGPUUnavailableError(
      'WebGPU is not available in this browser. Use a recent Chrome, Edge or Safari 26+; on Linux start Chrome with ' +
        '--enable-unsafe-webgpu --enable-features=Vulkan or enable chrome://flags/#enable-unsafe-webgpu.',
    );
  }
  const adapter = await api.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) {
    throw new WebGPUUnavailableError(
      'WebGPU is present but no GPU adapter was found (blocklisted driver or GPU process crash). Update the GPU driver, ' +
        'or enable chrome://flags/#enable-unsafe-webgpu and restart the browser.',
    );
  }
  const want: GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];
  const requiredFeatures = want.filter((f) => adapter.features.has(f));
  const L = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxStorageBufferBindingSize: L.maxStorageBufferBindingSize,
      maxBufferSize: L.maxBufferSize,
      maxComputeWorkgroupStorageSize: L.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: L.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: L.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: L.maxComputeWorkgroupSizeY,
      maxStorageBuffersPerShaderStage: L.maxStorageBuffersPerShaderStage,
    },
  });
  const info = adapter.info;
  const gpu: Gpu = {
    device,
    caps: {
      f16: device.features.has('shader-f16'),
      subgroups: device.features.has('subgroups'),
      timestampQuery: device.features.has('timestamp-query'),
      maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
      maxBufferSize: device.limits.maxBufferSize,
      maxComputeWorkgroupStorageSize: device.limits.maxComputeWorkgroupStorageSize,
      adapterInfo: [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(' '),
      cpu: isCpuAdapter(info),
      subgroupSize: device.features.has('subgroups') ? fixedSubgroupSize(info) : undefined,
    },
    lost: device.lost,
  };
  device.lost.then((l) => {
    gpu.lostError = new GPUDeviceLostError(
      `The GPU device was lost (${l.reason}: ${l.message || 'no detail'}). Reload the model with load() again; ` +
        'if it repeats, the model may be too large for this GPU.',
    );
  });
  return gpu;
}

/** Software rasterisers behind WebGPU: Chrome's SwiftShader, Mesa's llvmpipe/lavapipe, WARP. */
function isCpuAdapter(info: GPUAdapterInfo | undefined): boolean {
  if (!info) return false;
  const fallback = (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return fallback || /swiftshader|llvmpipe|lavapipe|warp|software/i.test([info.vendor, info.architecture, info.device, info.description].join(' '));
}

function fixedSubgroupSize(info: GPUAdapterInfo | undefined): number | undefined {
  const min = info?.subgroupMinSize;
  const max = info?.subgroupMaxSize;
  return min && min === max ? min : undefined;
}
