// One request as the routes see it: method, path, query string, and a deadline signal that
// also fires when the client goes away.
import type { IncomingMessage, ServerResponse } from 'node:http';

export class ApiRequest {
  readonly method: string;
  /** The raw (still percent-encoded) path. */
  readonly path: string;
  readonly search: string;
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    timeoutMs: number,
  ) {
    this.method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    this.path = q < 0 ? url : url.slice(0, q);
    this.search = q < 0 ? '' : url.slice(q + 1);
    this.signal = this.controller.signal;
    this.timer = setTimeout(
      () => this.controller.abort(new Error(`request deadline of ${timeoutMs} ms`)),
      timeoutMs,
    );
    res.once('close', () => {
      clearTimeout(this.timer);
      if (!res.writableEnded) this.controller.abort(new Error('the client went away'));
    });
  }

  done(): void {
    clearTimeout(this.timer);
  }
}
