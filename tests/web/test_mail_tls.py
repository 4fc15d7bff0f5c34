"""Real email over STARTTLS and over implicit TLS, with the SMTP login taken
from the environment, to a loopback aiosmtpd server with its own certificate."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from portal.auth.doors import doors
from tests.conftest import request_link
from tests.support.smtp import Inbox, free_port, link_in

USER, PASSWORD = "portal-mailer", "correct horse battery staple"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, trusted through SSL_CERT_FILE."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class Logins:
    def __init__(self) -> None:
        self.tried: list[tuple[bytes, bytes]] = []

    def __call__(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        self.tried.append((auth_data.login, auth_data.password))
        ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)


def start_tls_server(certificate, implicit: bool):
    cert_path, key_path = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    inbox, logins = Inbox(), Logins()
    inbox.port = free_port()
    # aiosmtpd only counts STARTTLS as TLS for AUTH; on an implicit-TLS socket
    # the whole connection is already encrypted, so AUTH may be offered at once.
    tls = ({"ssl_context": context, "auth_require_tls": False} if implicit
           else {"tls_context": context, "require_starttls": True})
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port, authenticator=logins,
                            auth_required=True, **tls)
    controller.start()
    return controller, inbox, logins


# aiosmtpd warns about AUTH without STARTTLS; here the socket itself is TLS.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
@pytest.mark.parametrize(("security", "implicit"), [("starttls", False), ("ssl", True)])
def test_sign_in_link_goes_through_an_encrypted_authenticated_server(
        make_app, certificate, monkeypatch, security, implicit):
    controller, inbox, logins = start_tls_server(certificate, implicit)
    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
        monkeypatch.setenv("PORTAL_SMTP_USER", USER)
        monkeypatch.setenv("PORTAL_SMTP_PASSWORD", PASSWORD)
        app = make_app(replace={'backends = ["console", "file"]': (
            f'backends = ["smtp"]\nsmtp_host = "127.0.0.1"\nsmtp_port = {inbox.port}\n'
            f'smtp_security = "{security}"')})
        client = app.test_client()
        request_link(client, "demo@example.org", **{"Accept-Language": "eu"})
        message = inbox.wait_for("demo@example.org")[0]
        assert "/link/" in link_in(message)
        assert message["Content-Language"] == "eu"
        assert logins.tried == [(USER.encode(), PASSWORD.encode())]
    finally:
        controller.stop()


def test_wrong_smtp_password_loses_no_page_and_leaks_no_secret(make_app, certificate, monkeypatch,
                                                              caplog):
    controller, inbox, logins = start_tls_server(certificate, implicit=False)
    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
        monkeypatch.setenv("PORTAL_SMTP_USER", USER)
        monkeypatch.setenv("PORTAL_SMTP_PASSWORD", "wrong-password-123")
        app = make_app(replace={'backends = ["console", "file"]': (
            f'backends = ["smtp"]\nsmtp_host = "127.0.0.1"\nsmtp_port = {inbox.port}\n'
            'smtp_security = "starttls"')})
        client = app.test_client()
        request_link(client, "demo@example.org")  # the contact still gets the usual page
        doors(app).background.shutdown(wait=True)
        assert logins.tried and inbox.messages == []
        assert "Sign-in link not sent" in caplog.text
        assert "wrong-password-123" not in caplog.text
    finally:
        controller.stop()
