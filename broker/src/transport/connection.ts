// One remoting connection, either side: frames in, frames out, request/response matching by
// opaque, oneway and peer-initiated requests, size caps and backpressure.
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { ProtocolError, RemoteError, RequestError, RmqError } from '../common/errors.js';
import { ResponseCode } from '../protocol/codes.js';
import {
  createResponse,
  encodeCommandParts,
  FLAG_ONEWAY,
  FrameDecoder,
  isOneway,
  isResponse,
  type DecodedFrame,
  type FrameLimits,
  type RemotingCommand,
} from '../protocol/remoting.js';

/** Handles one request. Resolve to a response, or to null to send nothing (oneway handlers). */
export type RequestHandler = (request: RemotingCommand, conn: RemotingConnection) => Promise<RemotingCommand | null> | RemotingCommand | null;

export interface ConnectionOptions {
  limits?: Partial<FrameLimits>;
  /** Pause reading when this many requests from the peer are being processed. */
  maxInFlightRequests?: number;
  /** Pause reading while more than this many bytes wait to be written to the peer. */
  maxPendingWriteBytes?: number;
  /** Close the connection after this long without any inbound bytes (0 = never). */
  idleTimeoutMs?: number;
}

let nextOpaque = 1;
/** Process-wide request ids, like the Java client's counter. */
export function allocateOpaque(): number {
  const v = nextOpaque;
  nextOpaque = nextOpaque >= 0x7fffffff ? 1 : nextOpaque + 1;
  return v;
}

let nextConnectionId = 1;

interface PendingRequest {
  resolve: (response: RemotingCommand) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class RemotingConnection {
  readonly id = nextConnectionId++;
  readonly socket: Socket;
  /** "ip:port" of the peer. */
  readonly remoteAddress: string;
  readonly #decoder: FrameDecoder;
  readonly #handler: RequestHandler;
  readonly #log: Logger;
  readonly #pending = new Map<number, PendingRequest>();
  readonly #closeListeners: Array<(conn: RemotingConnection) => void> = [];
  readonly #maxInFlight: number;
  readonly #maxPendingWrite: number;
  #inFlight = 0;
  #pausedForRequests = false;
  #pausedForWrites = false;
  #corked = false;
  #closed = false;

  constructor(socket: Socket, handler: RequestHandler, log: Logger, options: ConnectionOptions = {}) {
    this.socket = socket;
    this.#handler = handler;
    this.#log = log;
    this.#decoder = new FrameDecoder(options.limits);
    this.#maxInFlight = options.maxInFlightRequests ?? 1024;
    this.#maxPendingWrite = options.maxPendingWriteBytes ?? 16 * 1024 * 1024;
    const host = socket.remoteAddress?.replace(/^::ffff:/, '') ?? 'unknown';
    this.remoteAddress = `${host}:${socket.remotePort ?? 0}`;
    socket.setNoDelay(true);
    if (options.idleTimeoutMs) {
      socket.setTimeout(options.idleTimeoutMs, () => {
        this.#log.info({ remote: this.remoteAddress }, 'closing idle connection');
        this.close();
      });
    }
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => {
      if (this.#pausedForWrites) {
        this.#pausedForWrites = false;
        this.#updatePause();
      }
    });
    socket.on('error', (err) => {
      this.#log.debug({ remote: this.remoteAddress, err: err.message }, 'connection error');
    });
    socket.on('close', () => this.#onClose());
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Requests from the peer still being processed (long polls included). */
  get inFlight(): number {
    return this.#inFlight;
  }

  onClose(listener: (conn: RemotingConnection) => void): void {
    if (this.#closed) queueMicrotask(() => listener(this));
    else this.#closeListeners.push(listener);
  }

  close(): void {
    if (this.#closed) return;
    this.socket.destroy();
  }

  /** Sends a request to the peer and resolves with its response. */
  invoke(request: RemotingCommand, timeoutMs: number): Promise<RemotingCommand> {
    if (this.#closed) return Promise.reject(new RmqError('RMQ_CONNECTION_CLOSED', `connection to ${this.remoteAddress} is closed`));
    const opaque = allocateOpaque();
    const cmd: RemotingCommand = { ...request, opaque, flag: request.flag & ~FLAG_ONEWAY };
    return new Promise<RemotingCommand>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(opaque);
        reject(new RmqError('RMQ_TIMEOUT', `request code ${request.code} to ${this.remoteAddress} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(opaque, { resolve, reject, timer });
      this.write(cmd);
    });
  }

  /** invoke() that throws RemoteError unless the response code is SUCCESS. */
  async invokeOk(request: RemotingCommand, timeoutMs: number): Promise<RemotingCommand> {
    const response = await this.invoke(request, timeoutMs);
    if (response.code !== ResponseCode.SUCCESS) {
      throw new RemoteError(response.code, `request code ${request.code} to ${this.remoteAddress} failed: code ${response.code} ${response.remark ?? ''}`.trim());
    }
    return response;
  }

  /** Sends a request the peer must not answer. */
  invokeOneway(request: RemotingCommand): void {
    if (this.#closed) return;
    this.write({ ...request, opaque: allocateOpaque(), flag: request.flag | FLAG_ONEWAY });
  }

  /**
   * Writes a command. Writes are corked until the check phase of this event-loop turn, so the
   * responses to everything that completed in one turn (socket reads, commit-log writes) leave in
   * one writev instead of one system call each.
   */
  write(cmd: RemotingCommand): void {
    if (this.#closed) return;
    const parts = encodeCommandParts(cmd);
    if (!this.#corked) {
      this.#corked = true;
      this.socket.cork();
      setImmediate(this.#uncork);
    }
    let ok = true;
    for (const p of parts) ok = this.socket.write(p);
    if (!ok && this.socket.writableLength > this.#maxPendingWrite && !this.#pausedForWrites) {
      // The peer is not reading its responses: stop reading its requests until it catches up.
      this.#pausedForWrites = true;
      this.#updatePause();
    }
  }

  readonly #uncork = (): void => {
    this.#corked = false;
    this.socket.uncork();
  };

  #onData(chunk: Buffer): void {
    try {
      this.#decoder.push(chunk, (frame) => this.#onFrame(frame));
    } catch (err) {
      if (err instanceof ProtocolError) {
        this.#log.warn({ remote: this.remoteAddress, code: err.code, err: err.message }, 'malformed frame, closing connection');
      } else {
        this.#log.error({ remote: this.remoteAddress, err }, 'unexpected error decoding frames, closing connection');
      }
      this.close();
    }
  }

  #onFrame(frame: DecodedFrame): void {
    const cmd = frame.command;
    if (isResponse(cmd)) {
      const pending = this.#pending.get(cmd.opaque);
      if (!pending) return; // late response after a timeout
      this.#pending.delete(cmd.opaque);
      clearTimeout(pending.timer);
      pending.resolve(cmd);
      return;
    }
    if (frame.oversizeBodyBytes !== undefined) {
      if (!isOneway(cmd)) {
        this.write(createResponse(cmd, ResponseCode.MESSAGE_ILLEGAL, `request body of ${frame.oversizeBodyBytes} bytes exceeds the limit`));
      }
      return;
    }
    this.#inFlight++;
    this.#updatePause();
    let result: Promise<RemotingCommand | null> | RemotingCommand | null;
    try {
      result = this.#handler(cmd, this);
    } catch (err) {
      result = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    if (result === null || !(result instanceof Promise)) {
      this.#finish(cmd, result);
      return;
    }
    result.then(
      (response) => this.#finish(cmd, response),
      (err: unknown) => this.#finish(cmd, this.#errorResponse(cmd, err)),
    );
  }

  #finish(request: RemotingCommand, response: RemotingCommand | null): void {
    this.#inFlight--;
    this.#updatePause();
    if (response && !isOneway(request)) {
      response.opaque = request.opaque;
      this.write(response);
    }
  }

  #errorResponse(request: RemotingCommand, err: unknown): RemotingCommand {
    if (err instanceof RequestError) return createResponse(request, err.responseCode, err.message);
    if (err instanceof ProtocolError) return createResponse(request, ResponseCode.SYSTEM_ERROR, err.message);
    this.#log.error({ err, code: request.code, remote: this.remoteAddress }, 'request failed');
    const message = err instanceof Error ? err.message : String(err);
    return createResponse(request, ResponseCode.SYSTEM_ERROR, message);
  }

  #updatePause(): void {
    if (this.#closed) return;
    const overRequests = this.#inFlight >= this.#maxInFlight;
    if (overRequests !== this.#pausedForRequests) this.#pausedForRequests = overRequests;
    if (this.#pausedForRequests || this.#pausedForWrites) {
      if (!this.socket.isPaused()) this.socket.pause();
    } else if (this.socket.isPaused()) {
      this.socket.resume();
    }
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(new RmqError('RMQ_CONNECTION_CLOSED', `connection to ${this.remoteAddress} closed`));
    }
    this.#pending.clear();
    for (const l of this.#closeListeners.splice(0)) l(this);
  }
}
