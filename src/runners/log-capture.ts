/**
 * Keeps what the parsers need from a console stream in bounded memory: logs reach many MB
 * (tqdm redraws, per-worker messages), but failures sit near the end and a result line is short.
 */
const LINE_BREAK = /\r\n|\n|\r/;
/** Result lines earlier than the tail are kept; only the last one counts, a few spare are enough. */
const KEPT_RESULT_LINES = 8;
/** An unterminated segment longer than this cannot be a result line worth keeping whole. */
const MAX_PARTIAL_CHARS = 64 * 1024;

export class LogCapture {
  private tail = '';
  private partial = '';
  private readonly resultLines: string[] = [];

  constructor(private readonly tailChars: number) {}

  push(text: string): void {
    this.tail += text;
    // Trim in amortised steps rather than on every chunk.
    if (this.tail.length > 2 * this.tailChars) this.tail = this.tail.slice(-this.tailChars);

    const segments = (this.partial + text).split(LINE_BREAK);
    this.partial = (segments.pop() ?? '').slice(-MAX_PARTIAL_CHARS);
    for (const segment of segments) {
      if (!/hroughput/.test(segment)) continue;
      this.resultLines.push(segment);
      if (this.resultLines.length > KEPT_RESULT_LINES) this.resultLines.shift();
    }
  }

  /**
   * Result lines seen anywhere, then the tail. Every kept line precedes or repeats something in
   * the tail, so "the last result wins" still holds on this text.
   */
  text(): string {
    let tail = this.tail;
    if (tail.length > this.tailChars) {
      tail = tail.slice(-this.tailChars);
      tail = tail.slice(tail.search(LINE_BREAK) + 1); // drop the cut-off first line
    }
    return this.resultLines.length === 0 ? tail : `${this.resultLines.join('\n')}\n${tail}`;
  }
}
