"""The edge CA (files, SANs, CSR signing) and the settings' master-key rules."""

from __future__ import annotations

import base64
import ipaddress
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pydantic import SecretStr

from cloud.edgelink.ca import CA_CERT_FILE, CA_KEY_FILE, SERVER_KEY_FILE, CsrRejected, EdgeCA
from cloud.settings import MASTER_KEY_FILE, CloudSettings, SettingsError

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def csr(subject: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .sign(key, hashes.SHA256())
    )
    return request.public_bytes(serialization.Encoding.PEM)


def test_the_ca_is_made_once_with_a_private_key_file(tmp_path: Path) -> None:
    ca = EdgeCA.load_or_create(tmp_path, NOW)
    assert stat.S_IMODE((tmp_path / CA_KEY_FILE).stat().st_mode) == 0o600
    assert (tmp_path / CA_CERT_FILE).read_bytes() == ca.ca_pem
    assert EdgeCA.load_or_create(tmp_path, NOW).ca_pem == ca.ca_pem


def test_the_server_cert_names_the_cloud_and_is_reused(tmp_path: Path) -> None:
    ca = EdgeCA.load_or_create(tmp_path, NOW)
    key_pem, cert_pem = ca.server_certificate(tmp_path, NOW)
    cert = x509.load_pem_x509_certificate(cert_pem)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(sans.get_values_for_type(x509.DNSName)) == {"localhost", "gatehouse-cloud"}
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    cert.verify_directly_issued_by(ca.cert)
    assert stat.S_IMODE((tmp_path / SERVER_KEY_FILE).stat().st_mode) == 0o600
    assert ca.server_certificate(tmp_path, NOW) == (key_pem, cert_pem)


def test_an_edge_cert_takes_the_edge_id_not_the_csr_subject(tmp_path: Path) -> None:
    ca = EdgeCA.load_or_create(tmp_path, NOW)
    issued = ca.sign_csr(csr("i-am-the-admin"), "e-abcd1234", NOW)
    cert = x509.load_pem_x509_certificate(issued.pem)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "e-abcd1234"
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in usage
    assert issued.serial == format(cert.serial_number, "x")
    cert.verify_directly_issued_by(ca.cert)


def test_garbage_csrs_are_rejected(tmp_path: Path) -> None:
    ca = EdgeCA.load_or_create(tmp_path, NOW)
    with pytest.raises(CsrRejected):
        ca.sign_csr(
            b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", "e-1", NOW
        )


def test_outside_demo_mode_a_missing_master_key_refuses_to_start(tmp_path: Path) -> None:
    settings = CloudSettings(data_dir=tmp_path, demo=False)
    with pytest.raises(SettingsError):
        settings.resolve_master_key()


def test_demo_mode_makes_a_private_master_key_file_and_reuses_it(tmp_path: Path) -> None:
    settings = CloudSettings(data_dir=tmp_path / "d", demo=True)
    key = settings.resolve_master_key()
    path = tmp_path / "d" / MASTER_KEY_FILE
    assert len(key) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert settings.resolve_master_key() == key


def test_a_given_master_key_must_be_32_bytes_of_base64(tmp_path: Path) -> None:
    good = base64.b64encode(bytes(32)).decode()
    assert CloudSettings(master_key=SecretStr(good)).resolve_master_key() == bytes(32)
    for bad in ("not base64!", base64.b64encode(b"short").decode()):
        with pytest.raises(SettingsError):
            CloudSettings(master_key=SecretStr(bad)).resolve_master_key()


def test_settings_come_from_the_environment_with_a_sqlite_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEHOUSE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GATEHOUSE_GRPC_PORT", "0")
    monkeypatch.setenv("GATEHOUSE_DEMO", "true")
    settings = CloudSettings()
    assert settings.grpc_port == 0 and settings.demo and settings.http_port == 8080
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'cloud.db'}"
