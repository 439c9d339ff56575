"""``flask --app wsgi agencies certificate …``: development certificates (never for production)."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlmodel import select

from gateway.models import Agency
from gateway.services import services
from gateway.services import session as db_session
from gateway.signing import config as signing_config
from gateway.signing import devca

certificate_cli = AppGroup("certificate", help="Agencies' signing certificates (development CA).")


@certificate_cli.command("issue")
@click.argument("agency_code")
@click.option("--if-missing", is_flag=True, help="Keep an existing certificate of this agency (make run).")
def issue_command(agency_code: str, if_missing: bool) -> None:
    """Issue AGENCY's certificate from the development CA (instance/signing-dev; NOT FOR PRODUCTION)."""
    settings = services().settings
    if settings.production:
        raise click.ClickException("the development CA is not for production: configure the agency's own "
                                   "certificate (PKCS#12 or PKCS#11 token) in signing.toml")
    agency = db_session().exec(select(Agency).where(Agency.code == agency_code)).first()
    if agency is None:
        raise click.ClickException(f"no agency {agency_code!r} in the directory (agencies import first)")
    if if_missing and (signing_config.dev_dir(settings) / f"{agency.code}.p12").is_file():
        click.echo(f"{agency.code} already has a development certificate")
        return
    issued = devca.issue(signing_config.dev_dir(settings), agency_code=agency.code, agency_name=agency.name)
    if issued.ca_created:
        click.echo(f"created the development CA {issued.ca_pem} (trusted by /verify outside production)")
    click.echo(f"issued {agency.name}: {issued.pkcs12} (serial {issued.certificate.serial_number:X}, "
               f"valid until {issued.certificate.not_valid_after_utc:%Y-%m-%d}); its answers are now signed")
    click.echo("NOT FOR PRODUCTION: development certificates are ignored when PAKN_ENV=production")


@certificate_cli.command("status")
def status_command() -> None:
    """Which agencies can sign, and why the others cannot."""
    settings = services().settings
    config = signing_config.load(settings)
    for agency in db_session().exec(select(Agency).order_by(Agency.code)).all():
        signer = config.for_agency(agency.code)
        if signer is None:
            click.echo(f"{agency.code}: no certificate (answers go out unsigned)")
        elif problems := signer.problems():
            click.echo(f"{agency.code}: cannot sign: {'; '.join(problems)}")
        else:
            click.echo(f"{agency.code}: {signer.kind}{' (development CA)' if signer.development else ''}")
