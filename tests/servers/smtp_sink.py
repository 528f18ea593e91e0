#!/usr/bin/python3
"""An SMTP server for convene's tests: Debian's python3-aiosmtpd on 127.0.0.1.

It listens on a port the kernel picks and prints "listening PORT" on standard output
once it accepts connections. Every message it accepts is written to --dir as
NNNNNN.eml (the bytes received, as DATA carried them) with NNNNNN.json beside it
({"mail_from", "rcpt_tos", "connection"}); the .eml is renamed into place before the
server answers 250, so a test that has seen the 250 finds the file. Every connection
appends a line to --dir/connections.log.

Options make it behave as the tests need:
  --user U --password P   require AUTH (PLAIN or LOGIN) with these credentials
  --tls-dir D             create a self-signed certificate (D/cert.pem, D/key.pem) for
                          127.0.0.1 and localhost, and with
  --starttls              offer and require STARTTLS, or
  --smtps                 speak TLS from the first byte (implicit TLS)
  --reject REGEX          answer RCPT TO addresses matching REGEX with 550 5.1.1
  --defer REGEX           answer them with 451 4.3.0 (try again later)
  --hold N                answer the end of a message's data only once N messages wait
                          for that answer, then all N at once (a client that sends on N
                          connections at once gets every answer; one whose connections
                          take turns waits for an answer that never comes)
SIGTERM stops it.
"""
import argparse
import asyncio
import datetime
import ipaddress
import json
import os
import re
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def make_certificate(folder):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path = os.path.join(folder, "cert.pem")
    key_path = os.path.join(folder, "key.pem")
    with open(key_path, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


class Sink:
    def __init__(self, args):
        self.args = args
        self.count = 0
        self.connections = 0
        self.held = []  # futures of the messages waiting for their 250 (--hold)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.args.reject and re.search(self.args.reject, address):
            return "550 5.1.1 <%s>: no such user here" % address
        if self.args.defer and re.search(self.args.defer, address):
            return "451 4.3.0 <%s>: try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.args.hold:
            waiting = asyncio.get_running_loop().create_future()
            self.held.append(waiting)
            if len(self.held) >= self.args.hold:
                for f in self.held:
                    f.set_result(None)
                self.held = []
            await waiting
        self.count += 1
        base = os.path.join(self.args.dir, "%06d" % self.count)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "connection": server.connection_number,
        }
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".json.tmp", base + ".json")
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 OK queued as %d" % self.count


class CountingSMTP(SMTP):
    sink = None

    def connection_made(self, transport):
        self.sink.connections += 1
        self.connection_number = self.sink.connections
        with open(os.path.join(self.sink.args.dir, "connections.log"), "a") as f:
            f.write("%d\n" % self.connection_number)
        super().connection_made(transport)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--tls-dir")
    parser.add_argument("--starttls", action="store_true")
    parser.add_argument("--smtps", action="store_true")
    parser.add_argument("--reject")
    parser.add_argument("--defer")
    parser.add_argument("--hold", type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    sink = Sink(args)
    CountingSMTP.sink = sink
    context = make_certificate(args.tls_dir) if args.tls_dir else None

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == args.user.encode()
            and auth_data.password == args.password.encode()
        )
        # handled=False: aiosmtpd itself answers a failure with 535.
        return AuthResult(success=ok, handled=False)

    def factory():
        options = dict(decode_data=False, hostname="sink.test", ident="convene test sink")
        if args.user:
            options.update(authenticator=authenticate, auth_required=True, auth_require_tls=False)
        if args.starttls:
            options.update(tls_context=context, require_starttls=True)
        return CountingSMTP(sink, **options)

    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(
        loop.create_server(factory, host="127.0.0.1", port=0, ssl=context if args.smtps else None)
    )
    port = server.sockets[0].getsockname()[1]
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    loop.add_signal_handler(signal.SIGINT, loop.stop)
    print("listening %d" % port, flush=True)
    loop.run_forever()
    server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
