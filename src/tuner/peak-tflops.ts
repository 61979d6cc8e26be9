/**
 * Peak dense (no structured sparsity) tensor-core TFLOPS per accelerator and dtype, from the
 * vendors' datasheets: NVIDIA A10, A100, L40S, H100 (SXM and PCIe), H200, H20, B200 (HGX, per
 * GPU; the sheets quote sparse figures, halved here) and AMD Instinct MI300X. A null entry is
 * a dtype the tensor cores do not run. Pure.
 */
import { AutotuneError } from '../errors.js';

export type PeakDtype = 'bf16' | 'fp16' | 'fp8';
export const PEAK_DTYPES: readonly PeakDtype[] = ['bf16', 'fp16', 'fp8'];

export interface AcceleratorPeak {
  /** What `--gpu` takes, e.g. `h100-sxm`. */
  readonly id: string;
  readonly name: string;
  /** Device names as nvidia-smi / rocm-smi print them, matched case-insensitively. */
  readonly matches: RegExp;
  readonly tflops: Readonly<Record<PeakDtype, number | null>>;
}

export const ACCELERATORS: readonly AcceleratorPeak[] = [
  { id: 'h100-sxm', name: 'NVIDIA H100 SXM', matches: /H100(?!.*(PCIe|NVL)).*(SXM|HBM3)|H100 SXM|^h100$|H800/i, tflops: { bf16: 989.5, fp16: 989.5, fp8: 1979 } },
  { id: 'h100-pcie', name: 'NVIDIA H100 PCIe', matches: /H100.*PCIe/i, tflops: { bf16: 756.5, fp16: 756.5, fp8: 1513 } },
  { id: 'h200', name: 'NVIDIA H200', matches: /H200/i, tflops: { bf16: 989.5, fp16: 989.5, fp8: 1979 } },
  { id: 'h20', name: 'NVIDIA H20', matches: /H20(?!0)/i, tflops: { bf16: 148, fp16: 148, fp8: 296 } },
  { id: 'a100-40gb', name: 'NVIDIA A100 40GB', matches: /A100.*40\s?GB|A800.*40/i, tflops: { bf16: 312, fp16: 312, fp8: null } },
  { id: 'a100-80gb', name: 'NVIDIA A100 80GB', matches: /A100.*80\s?GB|A800/i, tflops: { bf16: 312, fp16: 312, fp8: null } },
  { id: 'l40s', name: 'NVIDIA L40S', matches: /L40S/i, tflops: { bf16: 362.05, fp16: 362.05, fp8: 733 } },
  { id: 'a10', name: 'NVIDIA A10', matches: /\bA10\b(?!0)/i, tflops: { bf16: 125, fp16: 125, fp8: null } },
  { id: 'mi300x', name: 'AMD Instinct MI300X', matches: /MI300X/i, tflops: { bf16: 1307.4, fp16: 1307.4, fp8: 2614.9 } },
  { id: 'b200', name: 'NVIDIA B200', matches: /B200/i, tflops: { bf16: 2250, fp16: 2250, fp8: 4500 } },
];

/** An accelerator by id (`h100-sxm`) or by the device name a driver prints (`NVIDIA H100 80GB HBM3`). */
export function findAccelerator(nameOrId: string): AcceleratorPeak | null {
  const wanted = nameOrId.trim().toLowerCase();
  return ACCELERATORS.find((a) => a.id === wanted) ?? ACCELERATORS.find((a) => a.matches.test(nameOrId)) ?? null;
}

/**
 * The peak of one GPU: `override` (the user's `--peak-tflops`) when given, else the table's
 * entry. Throws E_USAGE naming what is known when neither applies.
 */
export function peakTflops(accelerator: string | null, dtype: PeakDtype, override: number | null = null): number {
  if (override !== null) {
    if (!Number.isFinite(override) || override <= 0) throw new AutotuneError('E_USAGE', `--peak-tflops must be a positive number, got ${String(override)}`);
    return override;
  }
  if (accelerator === null) throw new AutotuneError('E_USAGE', 'MFU needs the GPU model (--gpu) or --peak-tflops');
  const found = findAccelerator(accelerator);
  if (found === null) {
    throw new AutotuneError('E_USAGE', `unknown GPU '${accelerator}' (known: ${ACCELERATORS.map((a) => a.id).join(', ')}); give --peak-tflops`);
  }
  const value = found.tflops[dtype];
  if (value === null) throw new AutotuneError('E_USAGE', `${found.name} has no ${dtype} tensor cores; give --peak-tflops`);
  return value;
}
