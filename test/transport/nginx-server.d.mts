// Types of nginx-server.mjs (plain JS so the bench can import it too).

/** The nginx binary used. */
export const NGINX: string;

/** true when nginx can be started here. */
export function nginxAvailable(): boolean;

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number>;

/** A running nginx. */
export interface NginxServer {
  readonly port: number;
  /** http://127.0.0.1:port */
  readonly base: string;
  /** Lines of the access log: `<status> <range header> <request> <body bytes sent>`. */
  accessLog(): string[];
  stop(): Promise<void>;
}

/** Starts nginx serving `root` from a config in `prefix` (both folders exist). */
export function startNginx(root: string, prefix: string, extraServer?: string): Promise<NginxServer>;
