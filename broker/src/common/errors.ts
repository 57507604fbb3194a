// Typed errors with stable codes. Protocol and client errors carry the RocketMQ response code
// they map to at the edge; operational errors carry a cause; programmer errors are assertions.
import { ResponseCode } from '../protocol/codes.js';

export type ErrorCode =
  | 'RMQ_PROTOCOL_FRAME_TOO_LARGE'
  | 'RMQ_PROTOCOL_HEADER_TOO_LARGE'
  | 'RMQ_PROTOCOL_BAD_LENGTH'
  | 'RMQ_PROTOCOL_BAD_SERIALIZE_TYPE'
  | 'RMQ_PROTOCOL_BAD_HEADER'
  | 'RMQ_PROTOCOL_BAD_MESSAGE'
  | 'RMQ_BAD_REQUEST'
  | 'RMQ_CONFIG_INVALID'
  | 'RMQ_STORE_CORRUPT'
  | 'RMQ_STORE_CLOSED'
  | 'RMQ_STORE_IO'
  | 'RMQ_REMOTE'
  | 'RMQ_TIMEOUT'
  | 'RMQ_CONNECTION_CLOSED'
  | 'RMQ_FILTER_EXPRESSION'
  | 'RMQ_FILTER_EVALUATION';

export class RmqError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Malformed bytes on the wire: the connection that sent them is closed. */
export class ProtocolError extends RmqError {}

/** A request we understood but must refuse; answered with `responseCode` and the message as remark. */
export class RequestError extends RmqError {
  readonly responseCode: number;
  constructor(responseCode: number, message: string, options?: ErrorOptions) {
    super('RMQ_BAD_REQUEST', message, options);
    this.responseCode = responseCode;
  }
  static invalid(message: string): RequestError {
    return new RequestError(ResponseCode.INVALID_PARAMETER, message);
  }
}

/** Invalid configuration: the message names the offending key. */
export class ConfigError extends RmqError {
  constructor(message: string, options?: ErrorOptions) {
    super('RMQ_CONFIG_INVALID', message, options);
  }
}

/** The store found bytes it cannot trust, or an I/O operation failed. */
export class StoreError extends RmqError {}

/** A remote peer answered with a non-success code, or did not answer in time. */
export class RemoteError extends RmqError {
  readonly responseCode: number;
  constructor(responseCode: number, message: string, options?: ErrorOptions) {
    super('RMQ_REMOTE', message, options);
    this.responseCode = responseCode;
  }
}

/**
 * A message filter expression (SQL92) that does not compile; `position` is the 0-based offset of
 * the fault in the expression. Answered SUBSCRIPTION_PARSE_FAILED (23) at the edge.
 */
export class FilterExpressionError extends RmqError {
  readonly position: number;
  constructor(message: string, position: number, options?: ErrorOptions) {
    super('RMQ_FILTER_EXPRESSION', message, options);
    this.position = position;
  }
}

/** A filter expression that cannot be evaluated for one message (the message does not match). */
export class FilterEvaluationError extends RmqError {
  constructor(message: string, options?: ErrorOptions) {
    super('RMQ_FILTER_EVALUATION', message, options);
  }
}
