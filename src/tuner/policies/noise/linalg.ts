/**
 * The one piece of linear algebra the session model needs: solving a small symmetric
 * positive-definite system (normal equations of a weighted least-squares fit) by Cholesky.
 * Matrices are row-major Float64Arrays; sizes stay below ~30, so nothing cleverer pays off.
 */
export class Cholesky {
  private readonly l: Float64Array;

  /** Factors `a` (n×n). A non-positive pivot means a singular system: callers keep it regularised. */
  constructor(
    a: Float64Array,
    private readonly n: number,
  ) {
    const l = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let sum = a[i * n + j] ?? 0;
        for (let k = 0; k < j; k++) sum -= (l[i * n + k] ?? 0) * (l[j * n + k] ?? 0);
        if (i === j) {
          if (!(sum > 0)) throw new Error('Cholesky: matrix is not positive definite');
          l[i * n + i] = Math.sqrt(sum);
        } else {
          l[i * n + j] = sum / (l[j * n + j] ?? 1);
        }
      }
    }
    this.l = l;
  }

  solve(b: ArrayLike<number>): Float64Array {
    const { l, n } = this;
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let sum = b[i] ?? 0;
      for (let k = 0; k < i; k++) sum -= (l[i * n + k] ?? 0) * (x[k] ?? 0);
      x[i] = sum / (l[i * n + i] ?? 1);
    }
    for (let i = n - 1; i >= 0; i--) {
      let sum = x[i] ?? 0;
      for (let k = i + 1; k < n; k++) sum -= (l[k * n + i] ?? 0) * (x[k] ?? 0);
      x[i] = sum / (l[i * n + i] ?? 1);
    }
    return x;
  }

  /** v' A⁻¹ v, the variance factor of a linear combination of the solution. */
  quadratic(v: ArrayLike<number>): number {
    const { l, n } = this;
    // ‖L⁻¹ v‖², by forward substitution only.
    let total = 0;
    const z = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let sum = v[i] ?? 0;
      for (let k = 0; k < i; k++) sum -= (l[i * n + k] ?? 0) * (z[k] ?? 0);
      const zi = sum / (l[i * n + i] ?? 1);
      z[i] = zi;
      total += zi * zi;
    }
    return total;
  }
}
