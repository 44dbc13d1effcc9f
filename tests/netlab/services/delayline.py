"""A slow path in user space, for kernels without sch_netem: a transparent TCP relay that
holds every chunk for DELAY seconds in each direction (iptables REDIRECT brings the
council's web traffic here; SO_ORIGINAL_DST says where it was going), and a UDP relay that
delays DNS queries and answers the same way.

Run as `python delayline.py LISTEN_ADDR TCP_PORT UDP_PORT DNS_UPSTREAM DELAY_SECONDS`.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import sys
from typing import cast

SO_ORIGINAL_DST = 80
IDLE_SECONDS = 30.0


def original_dst(sock: socket.socket) -> tuple[str, int]:
    raw = sock.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    port, packed = struct.unpack_from("!2xH4s", raw)
    return socket.inet_ntoa(packed), port


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                delay: float) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def receive() -> None:
        while True:
            try:
                data = await asyncio.wait_for(reader.read(65536), IDLE_SECONDS)
            except (TimeoutError, OSError):
                data = b""
            queue.put_nowait((loop.time() + delay, data))
            if not data:
                return

    async def send() -> None:
        while True:
            due, data = await queue.get()
            await asyncio.sleep(max(0.0, due - loop.time()))
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    try:
        await asyncio.gather(receive(), send())
    except OSError:
        pass


async def relay(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter,
                delay: float) -> None:
    host, port = original_dst(client_w.get_extra_info("socket"))
    try:
        await asyncio.sleep(delay)  # the SYN's trip across the slow link
        server_r, server_w = await asyncio.wait_for(asyncio.open_connection(host, port), 20)
    except (OSError, TimeoutError):
        # Tell the client the way the far end told us: an abortive close.
        client_w.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client_w.close()
        return
    await asyncio.gather(_pump(client_r, server_w, delay), _pump(server_r, client_w, delay))
    for w in (client_w, server_w):
        w.close()


class DNSRelay(asyncio.DatagramProtocol):
    def __init__(self, upstream: str, delay: float) -> None:
        self.upstream, self.delay = upstream, delay
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        asyncio.ensure_future(self._forward(data, addr))

    async def _forward(self, data: bytes, addr: tuple[str, int]) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(self.delay)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            await loop.sock_connect(sock, (self.upstream, 53))
            await loop.sock_sendall(sock, data)
            try:
                answer = await asyncio.wait_for(loop.sock_recv(sock, 4096), 5)
            except TimeoutError:
                return
        await asyncio.sleep(self.delay)
        if self.transport is not None:
            self.transport.sendto(answer, addr)


async def main(address: str, tcp_port: int, udp_port: int, upstream: str,
               delay: float) -> None:
    loop = asyncio.get_running_loop()
    server = await asyncio.start_server(lambda r, w: relay(r, w, delay), address, tcp_port)
    await loop.create_datagram_endpoint(lambda: DNSRelay(upstream, delay),
                                        local_addr=(address, udp_port))
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    addr, tcp, udp, dns_upstream, seconds = sys.argv[1:6]
    asyncio.run(main(addr, int(tcp), int(udp), dns_upstream, float(seconds)))
