/**
 * Loopback ports for test servers. `freePorts` picks ports for servers that bind them
 * later: someone else can take one meanwhile, so callers retry their start on a bind
 * failure. Better, where a server accepts port 0: let it pick, then `listeningPorts`.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import net from 'node:net';

/** `count` distinct ports that were free a moment ago (all held open together, so none repeats). */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
    }
    return servers.map((server) => (server.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

/** Whether something accepts TCP connections on 127.0.0.1:port right now. */
export function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * The TCP ports process `pid` listens on (IPv4), read from /proc: for a server told to bind
 * port 0, which picks a port nobody else holds, so there is no race to lose.
 */
export async function listeningPorts(pid: number): Promise<number[]> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [] as string[])) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const match = /^socket:\[(\d+)\]$/.exec(target);
    if (match) inodes.add(match[1]!);
  }
  const table = await readFile(`/proc/${pid}/net/tcp`, 'utf8').catch(() => '');
  const ports: number[] = [];
  for (const line of table.split('\n').slice(1)) {
    // sl local_address rem_address st ... uid timeout inode
    const fields = line.trim().split(/\s+/);
    const [, local, , state] = fields;
    if (state === '0A' && local && inodes.has(fields[9] ?? '')) ports.push(parseInt(local.split(':')[1]!, 16));
  }
  return ports;
}
