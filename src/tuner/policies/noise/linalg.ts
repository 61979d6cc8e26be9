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

/**
 * The screening model's linear algebra: Cholesky factor, solve and inverse of a symmetric
 * positive-definite matrix (row-major, n×n), on flat arrays without bounds checks, since it
 * handles systems of a few hundred unknowns at every refit.
 */
export function choleskyFactor(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j] as number;
    for (let k = 0; k < j; k++) {
      const v = l[j * n + k] as number;
      d -= v * v;
    }
    if (!(d > 0)) throw new Error('choleskyFactor: matrix is not positive definite');
    const ljj = Math.sqrt(d);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j] as number;
      for (let k = 0; k < j; k++) s -= (l[i * n + k] as number) * (l[j * n + k] as number);
      l[i * n + j] = s / ljj;
    }
  }
  return l;
}

/** x with L·Lᵀ·x = b. */
export function choleskySolve(l: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i] as number;
    for (let k = 0; k < i; k++) s -= (l[i * n + k] as number) * (x[k] as number);
    x[i] = s / (l[i * n + i] as number);
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i] as number;
    for (let k = i + 1; k < n; k++) s -= (l[k * n + i] as number) * (x[k] as number);
    x[i] = s / (l[i * n + i] as number);
  }
  return x;
}

/** (L·Lᵀ)⁻¹ = L⁻ᵀ·L⁻¹, symmetric. */
export function choleskyInverse(l: Float64Array, n: number): Float64Array {
  const m = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    m[j * n + j] = 1 / (l[j * n + j] as number);
    for (let i = j + 1; i < n; i++) {
      let s = 0;
      for (let k = j; k < i; k++) s -= (l[i * n + k] as number) * (m[k * n + j] as number);
      m[i * n + j] = s / (l[i * n + i] as number);
    }
  }
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = i; k < n; k++) s += (m[k * n + i] as number) * (m[k * n + j] as number);
      inv[i * n + j] = s;
      inv[j * n + i] = s;
    }
  }
  return inv;
}
