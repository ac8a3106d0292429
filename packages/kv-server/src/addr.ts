// Address checks shared by the CLI and the membership API.

/** host:port with a port from 1 to 65535 (IPv6 hosts in brackets). */
export function isPeerAddr(s: string): boolean {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/.exec(s);
  if (m === null) return false;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535;
}

/** "host:port" split for net.listen / http.listen (brackets removed from IPv6 hosts). */
export function splitHostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(s.slice(i + 1)) };
}
