/**
 * `--gpu-groups "0,1 2,3 4,5 6,7"` (job file `gpu_groups`, a string or a list of groups): one
 * trial slot per group, each a CUDA_VISIBLE_DEVICES value. Pure.
 */
import { AutotuneError } from '../errors.js';

/** A device as CUDA_VISIBLE_DEVICES names it: an index, a GPU-/MIG- UUID. */
const DEVICE = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;

const usage = (message: string): AutotuneError => new AutotuneError('E_USAGE', message);

/** Groups separated by spaces (or given as a list), devices within a group by commas. */
export function parseGpuGroups(value: string | readonly string[], flag: string): string[] {
  const words = typeof value === 'string' ? value.trim().split(/\s+/) : value.map((g) => g.trim());
  const groups = words.filter((w) => w !== '');
  if (groups.length === 0) throw usage(`\`${flag}\` names no GPU group; give one per slot, e.g. \`${flag} "0,1 2,3"\``);
  const owner = new Map<string, string>();
  return groups.map((group) => {
    const devices = group.split(',').map((d) => d.trim());
    const bad = devices.find((d) => !DEVICE.test(d));
    if (bad !== undefined) {
      throw usage(`\`${flag}\`: \`${group}\` is not a list of devices (indexes or UUIDs separated by commas, groups by spaces, e.g. "0,1 2,3")`);
    }
    for (const d of devices) {
      const other = owner.get(d);
      if (other !== undefined) throw usage(`\`${flag}\`: device ${d} is in two groups (\`${other}\` and \`${group}\`); slots must not share a GPU`);
      owner.set(d, group);
    }
    return devices.join(',');
  });
}
