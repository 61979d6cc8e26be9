/**
 * Adaptive group testing of failures. A configuration that crashes or runs out of memory says
 * only that one of its candidates is bad; the candidates of any successful run are cleared.
 * The suspects of a failed run (its candidates not yet cleared) are bisected: half of them run
 * alone; if that half fails the culprit is in it, else in the other half. One failing candidate
 * among n suspects is found in about log2(n) runs, then retired from every later design, so a
 * failure never sinks every group it is in. Pure state; the policy runs the tests it proposes.
 */
export class FailureIsolation {
  private readonly cleared = new Set<number>();
  private readonly retired = new Map<number, string>();
  /** Suspect sets, each known to hold at least one failing candidate, with how their run ended. */
  private readonly queue: { suspects: number[]; outcome: string }[] = [];
  private testsRun = 0;

  isRetired(candidate: number): boolean {
    return this.retired.has(candidate);
  }

  /** Why a candidate was retired, or null. */
  reasonOf(candidate: number): string | null {
    return this.retired.get(candidate) ?? null;
  }

  get retiredCount(): number {
    return this.retired.size;
  }

  /** Books a finished run of `candidates`: success clears them all, failure queues its suspects. */
  record(candidates: readonly number[], outcome: string): void {
    if (outcome === 'ok') {
      for (const c of candidates) this.cleared.add(c);
      return;
    }
    const suspects = this.suspectsOf(candidates);
    if (suspects.length === 1) this.retire(suspects[0] as number, outcome);
    else if (suspects.length > 1) this.queue.push({ suspects, outcome });
  }

  /** The next group to run alone, or null when no failure is waiting to be isolated. */
  nextTest(): number[] | null {
    for (;;) {
      const head = this.queue[0];
      if (head === undefined) return null;
      const suspects = this.suspectsOf(head.suspects);
      if (suspects.length <= 1) {
        this.queue.shift();
        // The culprit is the last suspect left (its companions were cleared), or it was retired already.
        if (suspects.length === 1) this.retire(suspects[0] as number, head.outcome);
        continue;
      }
      head.suspects = suspects;
      return suspects.slice(0, Math.ceil(suspects.length / 2));
    }
  }

  /** Books the outcome of a group proposed by nextTest(). */
  tested(group: readonly number[], outcome: string): void {
    this.testsRun += 1;
    const head = this.queue[0];
    if (head === undefined) return;
    if (outcome === 'ok') {
      for (const c of group) this.cleared.add(c);
      const rest = head.suspects.filter((c) => !group.includes(c));
      if (rest.length === 1) {
        this.queue.shift();
        this.retire(rest[0] as number, head.outcome);
      } else head.suspects = rest;
      return;
    }
    const suspects = this.suspectsOf(group);
    if (suspects.length === 1) {
      this.queue.shift();
      this.retire(suspects[0] as number, outcome);
    } else this.queue[0] = { suspects, outcome };
  }

  get groupTests(): number {
    return this.testsRun;
  }

  private suspectsOf(candidates: readonly number[]): number[] {
    return candidates.filter((c) => !this.cleared.has(c) && !this.retired.has(c));
  }

  private retire(candidate: number, outcome: string): void {
    if (this.retired.has(candidate)) return;
    this.retired.set(candidate, `run ended with ${outcome}; isolated by group testing`);
  }
}
