// Typed errors carry the HTTP status and a message meant for the user. One middleware maps them
// (core/http.ts); anything else becomes a 500 with a generic message and a logged stack.
export class AppError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends AppError {
  constructor(message: string) {
    super(400, message);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'authentication required: send Authorization: Bearer <api secret> or a token') {
    super(401, message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message: string) {
    super(403, message);
  }
}

export class NotFoundError extends AppError {
  constructor(message: string) {
    super(404, message);
  }
}

export class ConflictError extends AppError {
  constructor(message: string) {
    super(409, message);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(message: string) {
    super(413, message);
  }
}

export class TooManyRequestsError extends AppError {
  constructor(message: string, retryAfterSeconds: number) {
    super(429, message, { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) });
  }
}

export class UpstreamError extends AppError {
  constructor(message: string) {
    super(502, message);
  }
}

/** A dependency (Redis, the engine) is not ready yet; the caller should retry shortly. */
export class NotReadyError extends AppError {
  constructor(message: string) {
    super(503, message, { 'Retry-After': '3' });
  }
}

/** The disk of the data directory is full (or Redis cannot save to it): nothing new can be stored. */
export class InsufficientStorageError extends AppError {
  constructor(message: string) {
    super(507, message, { 'Retry-After': '30' });
  }
}

/**
 * A full disk surfaces as ENOSPC from our own writes and as MISCONF from Redis, which refuses every
 * write once it cannot persist. Both become one clear answer instead of an "internal error".
 */
export function storageFailure(err: unknown): InsufficientStorageError | null {
  const e = err as { code?: unknown; message?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : '';
  if (e?.code === 'ENOSPC' || e?.code === 'EDQUOT') {
    return new InsufficientStorageError(`the disk of the data directory is full, nothing can be saved until space is freed (${message})`);
  }
  if (message.startsWith('MISCONF')) {
    return new InsufficientStorageError(
      `Redis cannot save to the data directory (${message}), so settings cannot change until disk space is freed`,
    );
  }
  return null;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
