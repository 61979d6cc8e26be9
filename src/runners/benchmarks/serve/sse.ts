/**
 * Server-sent events as OpenAI-compatible servers stream them (`data: {...}\n\n`, ending with
 * `data: [DONE]`). Pure and incremental: chunks may split an event, a line, or a UTF-8 sequence
 * (the caller decodes with a StringDecoder). Comments (`: ping`) and fields other than `data`
 * are ignored; several `data:` lines of one event are joined with `\n`, as the spec says.
 */
export class SseParser {
  private buffer = '';
  private data: string[] = [];

  /** The `data` payloads of the events completed by this chunk. */
  push(text: string): string[] {
    this.buffer += text;
    const events: string[] = [];
    for (;;) {
      const m = /\r\n|\n|\r/.exec(this.buffer);
      if (m === null) break;
      // A lone `\r` at the end may be the first half of `\r\n`: wait for the next chunk.
      if (m[0] === '\r' && m.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      if (line === '') {
        if (this.data.length > 0) events.push(this.data.join('\n'));
        this.data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') this.data.push(value);
    }
    return events;
  }

  /** An event left open when the stream ended (no blank line after it), if any. */
  end(): string[] {
    const rest = this.push('\n\n');
    this.buffer = '';
    return rest;
  }
}
