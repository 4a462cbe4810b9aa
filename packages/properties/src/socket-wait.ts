/** How long a starting systemd is waited for, to listen on its socket. */
export const SOCKET_WAIT_S = 60;

/** Shell text that waits until `path` (shell words) is a socket: exit 0, or 1 after 60 s. */
export function socketWait(path: string): string {
  const tries = SOCKET_WAIT_S * 10;
  return `i=0; while [ ! -S ${path} ]; do i=$((i+1)); [ $i -le ${tries} ] || exit 1; sleep 0.1; done`;
}
