/** Counts benchmark invocations against a session's limit (null = unlimited). */
export class InvocationBudget {
  private spent = 0;

  constructor(private limit: number | null) {}

  /** A policy may only learn its default limit once it knows what it will tune. */
  setLimit(limit: number | null): void {
    this.limit = limit;
  }

  get used(): number {
    return this.spent;
  }

  get left(): number {
    return this.limit === null ? Number.POSITIVE_INFINITY : Math.max(0, this.limit - this.spent);
  }

  exhausted(): boolean {
    return this.left <= 0;
  }

  spend(): void {
    this.spent += 1;
  }
}
