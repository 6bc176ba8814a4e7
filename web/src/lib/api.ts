// The REST client. The session is the HttpOnly cc_session cookie set by login: the app never
// sees or stores the token. JSON bodies go with Content-Type: application/json; routes without a
// body get none. Errors become ApiError with the server's stable code.
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

export interface ApiHooks {
  // A 401 on an authenticated call: the session has ended (expired, revoked, account disabled).
  unauthorized(code: string): void;
  // A 403 saying the session must first change its password or enrol 2FA.
  restricted(code: string): void;
}

let hooks: ApiHooks | null = null;
export function setApiHooks(h: ApiHooks): void {
  hooks = h;
}

export interface CallOptions {
  // false: a 401 is the caller's business (login, the first /me), not a session that ended.
  session?: boolean;
}

export async function api<T = Record<string, never>>(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
  opts: CallOptions = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const init: RequestInit = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'network', 'network error');
  }
  let data: unknown = null;
  const text = await res.text().catch(() => '');
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (res.ok) return (data ?? {}) as T;
  const err = (data as { error?: { code?: string; message?: string; retry_after?: number } } | null)?.error;
  const e = new ApiError(res.status, err?.code || `http_${res.status}`, err?.message || res.statusText, err?.retry_after);
  if (opts.session !== false) {
    if (res.status === 401) hooks?.unauthorized(e.code);
    else if (res.status === 403 && (e.code === 'password_change_required' || e.code === 'totp_enrolment_required'))
      hooks?.restricted(e.code);
  }
  throw e;
}
