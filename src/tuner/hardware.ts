/** Plain data: the machine and software a session ran on, as found when it started. */

export interface GpuInfo {
  readonly name: string;
  readonly driver: string | null;
  readonly memoryMiB: number | null;
}

export interface SoftwareVersions {
  readonly python: string | null;
  readonly vllm: string | null;
  readonly plugin: string | null;
  readonly flagGems: string | null;
  readonly torch: string | null;
}

export interface HardwareInfo {
  readonly host: string;
  /** Empty when nvidia-smi is missing or failed; see notes. */
  readonly gpus: readonly GpuInfo[];
  readonly software: SoftwareVersions;
  /** Why a part is missing (no nvidia-smi, probe timed out, ...), one line each. */
  readonly notes: readonly string[];
}
