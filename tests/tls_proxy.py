"""A TLS-terminating TCP proxy for the security tests, and a throwaway CA to sign its certificate.

noida-db speaks Kafka and Elasticsearch in plaintext only; the proxy puts TLS in front of one
of its ports on 127.0.0.1, so the clients' TLS options (CA bundle, certificate and host name
checks) are exercised for real. Kafka has no STARTTLS and a broker tells its clients where to
reconnect (Metadata, FindCoordinator): with `kafka=True` the proxy rewrites noida-db's port in
those responses to its own, so every connection comes back through TLS. It also keeps the first
bytes of each request stream (`seen`; for Kafka, every request's API key and first bytes in
`kafka_requests`), to check what crossed the wire inside TLS.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import ssl
import struct
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# Kafka APIs whose responses name brokers: Metadata, FindCoordinator, DescribeCluster.
BROKER_ADDRESS_APIS = {3, 10, 60}


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(directory: Path, name: str = "callqa test CA") -> tuple[Path, object, object]:
    """A self-signed CA: (its certificate's PEM path, certificate, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    path = directory / f"{name.replace(' ', '-')}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, cert, key


def make_server_cert(directory: Path, ca_cert, ca_key, ip: str = "127.0.0.1") -> tuple[Path, Path]:
    """A server certificate for `ip` only (no DNS name: `localhost` must fail the host name
    check), signed by the CA: (certificate PEM path, key PEM path)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(ip))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False
        )  # fmt: skip
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )  # fmt: skip
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = directory / "server.pem", directory / "server-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return cert_path, key_path


class TlsProxy:
    """TLS on 127.0.0.1:`port` -> plaintext 127.0.0.1:`upstream_port`, in a thread of its own."""

    def __init__(self, upstream_port: int, certfile: Path, keyfile: Path, kafka: bool = False):
        self.upstream_port, self.kafka = upstream_port, kafka
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(certfile, keyfile)
        self.port = 0
        self.seen: list[bytes] = []  # the first bytes each client sent, decrypted
        self.kafka_requests: list[tuple[int, bytes]] = []  # (api key, start of the request)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.base_events.Server | None = None

    def __enter__(self) -> TlsProxy:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.context), self._loop
        ).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc) -> None:
        async def close():
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return
        if self.kafka:
            pending: dict[int, int] = {}
            jobs = [self._kafka_requests(reader, up_writer, pending),
                    self._kafka_responses(up_reader, writer, pending)]  # fmt: skip
        else:
            jobs = [self._copy(reader, up_writer, record=True), self._copy(up_reader, writer)]
        try:
            await asyncio.gather(*jobs)
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError, asyncio.CancelledError):
            pass
        finally:
            for w in (writer, up_writer):
                with contextlib.suppress(Exception):
                    w.close()

    async def _copy(self, reader, writer, record: bool = False) -> None:
        first = True
        while data := await reader.read(65536):
            if record and first:
                self.seen.append(data[:4096])
                first = False
            writer.write(data)
            await writer.drain()
        writer.close()

    async def _kafka_requests(self, reader, writer, pending: dict[int, int]) -> None:
        first = True
        while True:
            head = await reader.readexactly(4)
            body = await reader.readexactly(struct.unpack(">i", head)[0])
            if first:
                self.seen.append(body[:4096])
                first = False
            if len(body) >= 8:
                api_key, _version, correlation = struct.unpack(">hhi", body[:8])
                pending[correlation] = api_key
                self.kafka_requests.append((api_key, body[:512]))
            writer.write(head + body)
            await writer.drain()

    async def _kafka_responses(self, reader, writer, pending: dict[int, int]) -> None:
        # A broker entry is its host string followed by its int32 port, in every version.
        theirs = b"127.0.0.1" + struct.pack(">i", self.upstream_port)
        ours = b"127.0.0.1" + struct.pack(">i", self.port)
        while True:
            head = await reader.readexactly(4)
            body = await reader.readexactly(struct.unpack(">i", head)[0])
            if (
                len(body) >= 4
                and pending.pop(struct.unpack(">i", body[:4])[0], None) in BROKER_ADDRESS_APIS
            ):
                body = body.replace(theirs, ours)
            writer.write(head + body)
            await writer.drain()
