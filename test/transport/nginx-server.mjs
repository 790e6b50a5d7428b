// A real nginx (Debian nginx-light) serving a folder on 127.0.0.1 for the transport tests and the
// bench's network run: a temp prefix with its own config, pid, logs and temp paths (no root),
// `daemon off;` under our child process, an access log of every Range asked for. Without nginx the
// tests fail when CI is set. Plain JS (types in nginx-server.d.mts) so the bench can import it.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout } from 'node:timers';

/** The nginx binary the tests use. */
export const NGINX = process.env.OTA_NGINX ?? '/usr/sbin/nginx';

/** true when nginx can be started here. */
export function nginxAvailable() {
  return existsSync(NGINX);
}

/** A free TCP port on 127.0.0.1. */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

/** Starts nginx serving `root` from a config in `prefix` (both folders exist). */
export async function startNginx(root, prefix, extraServer = '') {
  const port = await freePort();
  mkdirSync(join(prefix, 'logs'), { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 64; }
http {
  log_format ranges '$status "$http_range" "$request" $body_bytes_sent';
  access_log ${prefix}/logs/access.log ranges;
  client_body_temp_path ${prefix}/tmp-body;
  proxy_temp_path ${prefix}/tmp-proxy;
  fastcgi_temp_path ${prefix}/tmp-fastcgi;
  uwsgi_temp_path ${prefix}/tmp-uwsgi;
  scgi_temp_path ${prefix}/tmp-scgi;
  types { application/octet-stream otapkg; }
  sendfile off;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location /redirect/ { rewrite ^/redirect/(.*)$ /$1 redirect; }
    ${extraServer}
  }
}
`,
  );
  const child = spawn(NGINX, ['-p', prefix, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited ${child.exitCode}: ${stderr}`);
    const up = await fetch(`http://127.0.0.1:${port}/`).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) throw new Error(`nginx did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    accessLog: () => {
      const path = join(prefix, 'logs', 'access.log');
      return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
    },
    stop: async () => {
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.on('exit', r));
      child.kill('SIGQUIT');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
